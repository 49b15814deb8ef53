"""The errors Ferry raises on purpose. The API and the workers both know how to report them."""

from __future__ import annotations

from typing import Any, ClassVar


class FerryError(Exception):
    """An error raised on purpose, with a message fit for the user."""

    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(FerryError):
    """The request is well-formed but a value is wrong; the message names the field."""

    http_status = 400


class Unauthorized(FerryError):
    http_status = 401


class Forbidden(FerryError):
    http_status = 403


class NotFound(FerryError):
    http_status = 404

    @classmethod
    def of(cls, kind: str, ident: object) -> NotFound:
        return cls(f"{kind} {ident} not found")


class Conflict(FerryError):
    http_status = 409


class Gone(FerryError):
    http_status = 410


class PayloadTooLarge(FerryError):
    http_status = 413


class Transient(FerryError):
    """A failure worth retrying: network blip, deadlock, destination busy."""

    retryable = True


class ConfigurationError(FerryError):
    """Ferry itself is misconfigured (a missing secret key, an unreachable database)."""


class ConnectorError(FerryError):
    """A source or destination refused or failed; carries the spec's structured error (§4.3)."""

    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "PRQL-UNKNOWN",
        title: str = "Connection failed",
        blame: str = "unknown",
        trace: str = "",
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.title = title
        self.blame = blame
        self.trace = trace
        self._retryable = retryable

    @property
    def is_retryable(self) -> bool:
        return self._retryable

    def as_dict(self) -> dict[str, Any]:
        return {
            "error_code": self.error_code,
            "title": self.title,
            "blame": self.blame,
            "documentation_url": None,
            "message": self.message,
            "trace": self.trace,
        }
