"""Webhooks on the wire (spec §9.11, A.7): the deployment's signing key, the three signature
headers, and each vendor's request.

Every delivery, whatever its vendor, carries

- ``X-Prequel-Webhook-Timestamp``: the send time, RFC 3339 (``2024-07-01T00:05:12Z``);
- ``X-Prequel-Webhook-Signature``: hex of RSA PKCS#1 v1.5 over SHA-256 of
  ``timestamp + "." + raw_body``;
- ``X-Prequel-Webhook-Digest``: hex SHA-256 of the raw body.

The raw body is the request body as sent; a ``generic_get`` delivery has none, and signs its
query string instead (everything after ``?``, exactly as sent).

One key pair serves the whole deployment. Unless ``FERRY_WEBHOOK_SIGNING_KEY`` pins one, it is
generated on first use and kept in ``webhook_signing_key`` with its private half sealed by
``FERRY_SECRET_KEY``. ``rotate`` makes a new one, which signs from then on; the public keys it
replaced stay published for ``RETIRED_KEYS_LISTED_FOR`` (longer than a delivery's retries
last), so a receiver that cached the key, or checks a delivery late, can still verify it.

Requests per vendor (the event is ``{"type", "version", "created_at", "data"}``):

- ``generic_post``: POST the event as JSON.
- ``generic_get``: GET with ``type``, ``version``, ``created_at`` and ``data`` (compact JSON)
  added to the URL's query.
- ``slack``: POST an incoming-webhook message, ``{"text", "blocks"}``.
- ``datadog``: POST a Datadog Events v1 event (``title``, ``text``, ``tags``,
  ``date_happened``, ``alert_type``) with the integration key in ``DD-API-KEY``.
- ``pagerduty``: POST a PagerDuty Events API v2 event with the integration key as
  ``routing_key``: ``transfer.error`` triggers an incident keyed by the destination and the
  destination's next ``transfer.success`` resolves it; other events trigger ``info`` alerts.

A transfer's log is cut to its last ``LOG_CHARS`` characters wherever a vendor's limits call
for it (``generic_get`` URLs, Datadog's text, PagerDuty's details).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ferry import crypto
from ferry.db.base import utcnow
from ferry.db.models import WebhookSigningKey
from ferry.errors import ConfigurationError
from ferry.services.secrets import settings_of

KEY_BITS = 3072
RETIRED_KEYS_LISTED_FOR = timedelta(days=7)
TIMESTAMP_HEADER = "X-Prequel-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Prequel-Webhook-Signature"
DIGEST_HEADER = "X-Prequel-Webhook-Digest"
JSON_TYPE = "application/json"
LOG_CHARS = 3000


@dataclass(frozen=True, slots=True)
class PublicKey:
    key_id: str
    public_key: str  # PEM SubjectPublicKeyInfo
    created_at: datetime | None  # None for a key pinned by the settings


@dataclass(frozen=True, slots=True)
class SigningKey:
    public: PublicKey
    private: rsa.RSAPrivateKey

    def headers(self, signed: bytes, *, at: datetime | None = None) -> dict[str, str]:
        """The three signature headers for ``signed`` (the raw body), stamped ``at`` (now)."""
        timestamp = rfc3339(at or utcnow())
        signature = self.private.sign(
            timestamp.encode() + b"." + signed, padding.PKCS1v15(), hashes.SHA256()
        )
        return {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature.hex(),
            DIGEST_HEADER: hashlib.sha256(signed).hexdigest(),
        }


def rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def key_id_of(public: rsa.RSAPublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:32]


def _public_pem(public: rsa.RSAPublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@lru_cache(maxsize=8)
def _load_private(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "FERRY_WEBHOOK_SIGNING_KEY must be an unencrypted RSA private key in PEM"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ConfigurationError(
            "FERRY_WEBHOOK_SIGNING_KEY must be an RSA private key of at least 2048 bits"
        )
    return key


def _signing_key(pem: str, created_at: datetime | None) -> SigningKey:
    private = _load_private(pem)
    public = private.public_key()
    return SigningKey(PublicKey(key_id_of(public), _public_pem(public), created_at), private)


def _pinned(session: Session) -> SigningKey | None:
    pinned = settings_of(session).webhook_signing_key
    return None if pinned is None else _signing_key(pinned.get_secret_value(), None)


def _stored(session: Session) -> list[WebhookSigningKey]:
    """Every stored key, the current (newest) first."""
    return list(
        session.scalars(select(WebhookSigningKey).order_by(WebhookSigningKey.generation.desc()))
    )


def _opened(session: Session, row: WebhookSigningKey) -> SigningKey:
    opened = crypto.sealer(settings_of(session)).open(row.sealed_private_key)
    return _signing_key(str(opened["private_key"]), row.created_at)


def _generate(session: Session, generation: int) -> WebhookSigningKey | None:
    """A new key pair of that generation; None when another process stored one first."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    row = WebhookSigningKey(
        key_id=key_id_of(private.public_key()),
        generation=generation,
        public_key=_public_pem(private.public_key()),
        sealed_private_key=crypto.sealer(settings_of(session)).seal({"private_key": pem}),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def current(session: Session) -> SigningKey:
    """The key that signs deliveries now, generated (and stored) on first use."""
    pinned = _pinned(session)
    if pinned is not None:
        return pinned
    stored = _stored(session)
    if stored:
        return _opened(session, stored[0])
    made = _generate(session, 1)
    if made is None:  # lost the race: the winner's key is the one
        return _opened(session, _stored(session)[0])
    return _opened(session, made)


def rotate(session: Session) -> SigningKey:
    """Make a new key the current one; the previous public keys stay published a while."""
    newest = session.scalar(select(func.max(WebhookSigningKey.generation))) or 0
    made = _generate(session, newest + 1)
    return _opened(session, made) if made is not None else current(session)


def published(session: Session, *, now: datetime | None = None) -> list[PublicKey]:
    """The public keys receivers may verify with: the current one first, then keys it
    replaced less than ``RETIRED_KEYS_LISTED_FOR`` ago."""
    pinned = _pinned(session)
    if pinned is not None:
        return [pinned.public]
    current(session)
    moment = now or utcnow()
    keys: list[PublicKey] = []
    replaced_at: datetime | None = None
    for row in _stored(session):
        if replaced_at is None or moment - replaced_at < RETIRED_KEYS_LISTED_FOR:
            keys.append(PublicKey(row.key_id, row.public_key, row.created_at))
        replaced_at = row.created_at
    return keys


@dataclass(frozen=True, slots=True)
class Context:
    """What vendor messages say besides the event, looked up when a delivery is sent."""

    environment: str  # the environment's kind: staging or prod
    host: str | None = None  # the deployment's domain (from FERRY_PUBLIC_URL)
    destination_name: str | None = None  # transfer events
    id_in_provider_system: str | None = None  # transfer events


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One request to send: ``signed`` is what the signature covers (the raw body, or the
    query string of a body-less GET)."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes
    signed: bytes


def request_for(
    vendor: str, url: str, event: dict[str, Any], context: Context, api_key: str | None
) -> Outgoing:
    """The unsigned request delivering ``event`` to a webhook of ``vendor``."""
    return _VENDORS[vendor](url, event, context, api_key)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _post(url: str, body: Any, **headers: str) -> Outgoing:
    content = _json(body)
    return Outgoing("POST", url, {"Content-Type": JSON_TYPE, **headers}, content, content)


def _is_transfer(event: dict[str, Any]) -> bool:
    return str(event["type"]).startswith("transfer.")


def _short_log(data: dict[str, Any]) -> dict[str, Any]:
    log = data.get("log")
    if isinstance(log, str) and len(log) > LOG_CHARS:
        return data | {"log": "…" + log[-(LOG_CHARS - 1) :]}
    return data


def _resource_name(data: dict[str, Any]) -> str:
    for field in ("name", "model_name", "product_name", "id_in_provider_system", "id"):
        if data.get(field):
            return str(data[field])
    return "unknown"


def _first_error(transfer: dict[str, Any]) -> dict[str, Any] | None:
    """The transfer's error, or its first failed model's."""
    errors = [transfer.get("error")] + [
        m.get("error") for m in transfer.get("model_metrics") or [] if isinstance(m, dict)
    ]
    return next((e for e in errors if isinstance(e, dict)), None)


def _summary(event: dict[str, Any], context: Context) -> str:
    data: dict[str, Any] = event["data"] or {}
    kind = event["type"]
    if not _is_transfer(event):
        return f"{kind}: {_resource_name(data)} ({data.get('id')})"
    line = (
        f"{kind}: transfer {data.get('id')} to destination "
        f"{context.destination_name or data.get('destination_id')}"
        + (f" (recipient {context.id_in_provider_system})" if context.id_in_provider_system else "")
        + f" ended {data.get('status')}, {data.get('rows_transferred', 0)} row(s) transferred"
    )
    error = _first_error(data)
    if error is not None and error.get("message"):
        line += f": {error['message']}"
    return line


def _generic_post(url: str, event: dict[str, Any], _: Context, __: str | None) -> Outgoing:
    return _post(url, event)


def _generic_get(url: str, event: dict[str, Any], _: Context, __: str | None) -> Outgoing:
    added = urlencode(
        [
            ("type", event["type"]),
            ("version", event["version"]),
            ("created_at", event["created_at"]),
            ("data", _json(_short_log(event["data"] or {})).decode()),
        ]
    )
    import httpx  # Here: workers that only run transfers never load the HTTP client.

    target = httpx.URL(url)
    existing = target.query.decode()
    query = f"{existing}&{added}" if existing else added
    final = target.copy_with(query=query.encode())
    return Outgoing("GET", str(final), {}, b"", final.query)


SLACK_ICONS = {
    "transfer.success": ":white_check_mark:",
    "transfer.error": ":x:",
    "transfer.cancelled": ":no_entry_sign:",
}


def _slack(url: str, event: dict[str, Any], context: Context, _: str | None) -> Outgoing:
    text = _summary(event, context)
    icon = SLACK_ICONS.get(event["type"], ":information_source:")
    footer = f"{context.environment} · {event['created_at']}"
    return _post(
        url,
        {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {text}"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]},
            ],
        },
    )


DATADOG_ALERTS = {"transfer.success": "info", "transfer.error": "error"}


def _datadog(url: str, event: dict[str, Any], context: Context, api_key: str | None) -> Outgoing:
    data: dict[str, Any] = event["data"] or {}
    kind = event["type"]
    tags = [
        "service:prequel",
        f"event_type:{kind}",
        f"env:{'production' if context.environment == 'prod' else context.environment}",
    ]
    if context.host:
        tags.append(f"host:{context.host}")
    if _is_transfer(event):
        title = f"{kind} for {data.get('id')}"
        text = _short_log(data).get("log") or kind
        tags += [
            f"transfer_id:{data.get('id')}",
            f"destination_id:{data.get('destination_id')}",
            f"destination_name:{context.destination_name or 'unknown'}",
            f"id_in_provider_system:{context.id_in_provider_system or 'unknown'}",
            f"transfer_status:{data.get('status')}",
            f"rows_transferred:{data.get('rows_transferred', 0)}",
        ]
        error = _first_error(data)
        if error is not None and error.get("blame"):
            tags.append(f"transfer_blamed_party:{error['blame']}")
    else:
        title = f"{kind} for {_resource_name(data)}"
        text = kind.replace(".", " ")
        tags.append(f"resource_name:{_resource_name(data)}")
    happened = datetime.fromisoformat(str(event["created_at"]).replace("Z", "+00:00"))
    body = {
        "title": title,
        "text": text,
        "tags": tags,
        "date_happened": int(happened.timestamp()),
        "alert_type": DATADOG_ALERTS.get(kind, "user_update"),
    }
    return _post(url, body, **{"DD-API-KEY": api_key or ""})


def _pagerduty(url: str, event: dict[str, Any], context: Context, api_key: str | None) -> Outgoing:
    data: dict[str, Any] = event["data"] or {}
    kind = event["type"]
    body: dict[str, Any] = {"routing_key": api_key or ""}
    if kind in ("transfer.error", "transfer.success"):
        # One incident per destination: opened by an error, closed by the next success.
        body["dedup_key"] = f"ferry-destination-{data.get('destination_id')}"
    if kind == "transfer.success":
        return _post(url, body | {"event_action": "resolve"})
    body["event_action"] = "trigger"
    body["payload"] = {
        "summary": _summary(event, context)[:1024],
        "source": context.host or "ferry",
        "severity": "error" if kind == "transfer.error" else "info",
        "timestamp": event["created_at"],
        "class": kind,
        "custom_details": event | {"data": _short_log(data)},
    }
    if context.destination_name:
        body["payload"]["component"] = context.destination_name
    if context.id_in_provider_system:
        body["payload"]["group"] = context.id_in_provider_system
    return _post(url, body)


_VENDORS: dict[str, Callable[[str, dict[str, Any], Context, str | None], Outgoing]] = {
    "generic_post": _generic_post,
    "generic_get": _generic_get,
    "slack": _slack,
    "datadog": _datadog,
    "pagerduty": _pagerduty,
}
