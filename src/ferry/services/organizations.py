"""Organizations, environments and API keys."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ferry import crypto
from ferry.db.base import utcnow
from ferry.db.models import ApiKey, Environment, EnvironmentKind, Organization
from ferry.errors import InvalidInput, Unauthorized
from ferry.scope import Scope
from ferry.services import products

# Recording every use of a key would turn each read into a write; once a minute is enough.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def ensure_organization(session: Session, *, name: str) -> Organization:
    """The organization called ``name`` with both its environments, created when missing."""
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidInput("org: must be 1 to 255 characters")
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    for kind in EnvironmentKind:
        env = session.scalar(
            select(Environment).where(
                Environment.organization_id == org.id, Environment.kind == kind.value
            )
        )
        if env is None:
            env = Environment(
                organization_id=org.id, kind=kind.value, allowed_origins=[], settings={}
            )
            session.add(env)
            session.flush()
            products.ensure_default(session, environment_id=env.id)
    return org


def create_api_key(
    session: Session, *, org_name: str, environment: str, name: str | None = None
) -> str:
    """A new key for the organization's environment; only its hash is kept."""
    if environment not in {k.value for k in EnvironmentKind}:
        raise InvalidInput("env: must be 'staging' or 'prod'")
    org = ensure_organization(session, name=org_name)
    env = session.scalar(
        select(Environment).where(
            Environment.organization_id == org.id, Environment.kind == environment
        )
    )
    if env is None:  # ensure_organization creates both environments
        raise RuntimeError(f"organization {org_name!r} has no {environment} environment")
    key = crypto.new_api_key(environment)
    session.add(
        ApiKey(environment_id=env.id, key_hash=crypto.hash_token(key), hint=key[-4:], name=name)
    )
    session.flush()
    return key


def authenticate(session: Session, *, api_key: str) -> Scope:
    """The scope an API key opens, or Unauthorized."""
    prefix_ok = api_key.startswith(("sk_staging_", "sk_prod_")) and len(api_key) <= 128
    row = None
    if prefix_ok:
        row = session.execute(
            select(ApiKey, Environment)
            .join(Environment, Environment.id == ApiKey.environment_id)
            .where(ApiKey.key_hash == crypto.hash_token(api_key), ApiKey.revoked_at.is_(None))
        ).first()
    if row is None:
        raise Unauthorized("invalid API key")
    key, env = row
    # The prefix names the environment; a key whose prefix disagrees is not trusted.
    if not api_key.startswith(f"sk_{env.kind}_"):
        raise Unauthorized("invalid API key")
    return _opened(key, env)


def revoke_api_key(session: Session, *, api_key: str) -> bool:
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == crypto.hash_token(api_key)))
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    return True


def environment_view(env: Environment) -> dict[str, object]:
    return {
        "id": str(env.id),
        "organization_id": str(env.organization_id),
        "environment": env.kind,
        "allowed_origins": list(env.allowed_origins or []),
        "default_frequency_minutes": int(env.settings.get("default_frequency_minutes", 1440)),
    }


def update_environment(
    session: Session,
    *,
    scope: Scope,
    allowed_origins: list[str] | None,
    default_frequency_minutes: int | None,
) -> Environment:
    env = session.get_one(Environment, scope.environment_id)
    if allowed_origins is not None:
        env.allowed_origins = list(dict.fromkeys(o.rstrip("/") for o in allowed_origins))
    if default_frequency_minutes is not None:
        env.settings = {**env.settings, "default_frequency_minutes": default_frequency_minutes}
    session.flush()
    return env


def scope_for_key_id(session: Session, *, key_id: uuid.UUID) -> Scope | None:
    """The scope an API key opens, by the key's id (an Admin UI session keeps the id, never
    the key); None once the key is revoked or deleted."""
    row = session.execute(
        select(ApiKey, Environment)
        .join(Environment, Environment.id == ApiKey.environment_id)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    key, env = row
    return _opened(key, env)


def _opened(key: ApiKey, env: Environment) -> Scope:
    """The scope of a key found valid, noting (coarsely) when it was last used."""
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        key.last_used_at = now
    return Scope(
        organization_id=env.organization_id,
        environment_id=env.id,
        environment=env.kind,
        actor_type="api_key",
        actor_id=str(key.id),
    )
