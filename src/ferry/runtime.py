"""One process's handles on the metadata database: settings, engine, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ferry.db.engine import make_engine, make_sessionmaker
from ferry.jobs import SENDER, JobSender
from ferry.settings import Settings, get_settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings)
        return cls(settings, engine, make_sessionmaker(engine, settings))

    def send_jobs_with(self, sender: JobSender) -> None:
        """Committed sessions of this runtime hand their queued jobs to ``sender``."""
        self.sessions.kw.setdefault("info", {})[SENDER] = sender


_installed: list[Runtime] = []


def install(runtime: Runtime) -> None:
    """Make ``runtime`` the one ``current()`` returns (the embedded worker shares the API's)."""
    _installed[:] = [runtime]


def current() -> Runtime:
    if not _installed:
        _installed.append(_from_environment())
    return _installed[0]


@lru_cache(maxsize=1)
def _from_environment() -> Runtime:
    return Runtime.build(get_settings())
