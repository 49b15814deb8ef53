"""Engines and sessions for the metadata database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ferry.settings import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets the embedded worker write while the
    # API reads; busy_timeout makes writers queue instead of failing at once.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        engine = create_engine(
            settings.database_url, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(settings.database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_sessionmaker(engine: Engine, settings: Settings) -> sessionmaker[Session]:
    # Services find the settings (for the secret key, say) on their session.
    return sessionmaker(
        bind=engine, expire_on_commit=False, autoflush=True, info={"settings": settings}
    )


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def affected(session: Session, statement: Executable, params: dict[str, Any] | None = None) -> int:
    """Run a bulk UPDATE/DELETE (a prebuilt one with its ``params``) and return how many rows
    it changed (the conditional updates that claims and schedules rely on)."""
    result = session.execute(statement, params, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)
