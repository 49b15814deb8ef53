"""What the magic-link page does for a link: its form, its first answers, and testing and
saving the destination the recipient enters.

The link's token is the only credential. The destination is created as the link's recipient
(a recipient-scoped actor in the audit log), in the link's environment, with the link's
vendor, products and ``set_destination_enabled``; the same transaction marks the link used,
by a conditional update, so that of two saves racing for one link only one can win.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from ferry import forms
from ferry.connectors import registry
from ferry.connectors.config import VendorConfig
from ferry.db.base import utcnow
from ferry.db.engine import affected
from ferry.db.models import Destination, Environment, MagicLink, Organization, Recipient
from ferry.errors import NotFound
from ferry.scope import Scope
from ferry.services import connections, destinations, magic_links, ssh_keys
from ferry.services.connections import CheckResult
from ferry.web.answers import js_string
from ferry.web.destination_form import Checked, DestinationForm

# The link decides whether the destination starts enabled (set_destination_enabled).
PAGE_HIDDEN = frozenset({"is_enabled"})
# What to call the place data lands in, where "warehouse" would be wrong.
NOUNS = {
    "abs": "storage account",
    "gcs": "bucket",
    "s3": "bucket",
    "s3_compatible": "bucket",
    "sftp": "server",
    "google_sheets": "spreadsheet",
}
# Prefilled link fields named otherwise in the form.
PREFILL_FIELDS = {"bucket_access_id": "access_id"}
LINK_GONE = "This link has already been used or has expired"


@dataclass(frozen=True)
class LinkPage:
    """A usable link and everything its page shows."""

    token: str
    link: MagicLink
    scope: Scope
    form: DestinationForm
    provider: str
    vendor_name: str
    noun: str
    models: list[str]

    @property
    def heading(self) -> str:
        return f"Connect your {self.vendor_name} {self.noun}"


def open_link(session: Session, *, token: str) -> LinkPage:
    """The page of a usable link.

    Raises:
        NotFound: the link was used, has expired or never existed.
    """
    link = magic_links.by_token(session, token=token)
    environment = session.get_one(Environment, link.environment_id)
    organization = session.get_one(Organization, environment.organization_id)
    scope = Scope(
        organization_id=organization.id,
        environment_id=environment.id,
        environment=environment.kind,
        actor_type="recipient",
        actor_id=str(link.recipient_id),
        recipient_id=link.recipient_id,
    )
    form = DestinationForm.build(
        link.vendor,
        forced={"recipient_id": str(link.recipient_id), "is_enabled": link.set_destination_enabled},
        hidden=PAGE_HIDDEN,
    )
    key_fields = {f.name for f in form.fields if f.name in forms.SDK_KEY_FIELDS}
    if key_fields:
        key = _public_key(session, link)
        form = replace(form, forced={**form.forced, **dict.fromkeys(key_fields, key)})
    recipient = session.get_one(Recipient, link.recipient_id)
    return LinkPage(
        token=token,
        link=link,
        scope=scope,
        form=form,
        provider=organization.name,
        vendor_name=registry.destination_class(link.vendor).display_name,
        noun=NOUNS.get(link.vendor, "warehouse"),
        models=magic_links.available_models(session, scope=scope, link=link, recipient=recipient),
    )


def _public_key(session: Session, link: MagicLink) -> str:
    """The key pair the recipient's server is to trust (SSH tunnel, SFTP): the one the
    provider put on the link, else one made now and kept on the link, so every visit shows
    the same key."""
    given = link.prefill.get("ssh_public_key")
    if given:
        return str(given)
    key = ssh_keys.generate(session)
    link.prefill = {**link.prefill, "ssh_public_key": key.public_key}
    session.flush()
    return key.public_key


def first_answers(page: LinkPage) -> dict[str, Any]:
    """The answers the page opens with: each choice at its first option, switches off,
    required numbers at their usual value, and what the provider prefilled on the link."""
    form, link = page.form, page.link
    names = {f.name for f in form.fields}
    answers: dict[str, Any] = {}
    for f in form.fields:
        if f.is_switch:
            answers.setdefault(f.name, False)
        elif f.options:
            answers.setdefault(f.name, f.options[0].value)
        elif f.kind == "number" and f.required and f.placeholder.isdigit():
            answers.setdefault(f.name, f.placeholder)  # the usual port, say
    answers["name"] = link.name
    for key, value in link.prefill.items():
        target = PREFILL_FIELDS.get(key, key)
        if target in names and value is not None:
            answers[target] = js_string(value)
    return answers | form.forced


def test(session: Session, page: LinkPage, config: VendorConfig) -> CheckResult:
    return connections.check_destination(
        session, scope=page.scope, vendor=page.link.vendor, config=config
    )


def save(session: Session, page: LinkPage, checked: Checked) -> Destination:
    """Create the recipient's destination and use up the link, both or neither.

    Raises:
        NotFound: the link was used (or expired) in the meantime.
        FerryError: the destination was refused (another recipient's target, say).
    """
    if not checked.ok or checked.config is None:
        raise ValueError("save() needs answers that passed check()")
    link = page.link
    data: dict[str, Any] = {
        "vendor": link.vendor,
        "name": checked.name,
        "recipient_id": str(link.recipient_id),
        "frequency_minutes": checked.frequency_minutes,
        "is_enabled": link.set_destination_enabled,
    }
    if link.products:
        data["products"] = list(link.products)
    now = utcnow()
    with session.begin_nested():
        destination = destinations.create(
            session, scope=page.scope, data=data, config=checked.config
        )
        claimed = affected(
            session,
            update(MagicLink)
            .where(
                MagicLink.id == link.id,
                MagicLink.has_been_used.is_(False),
                MagicLink.expires_at > now,
            )
            .values(has_been_used=True, used_at=now, destination_id=destination.id),
        )
        if claimed != 1:
            raise NotFound(LINK_GONE)
    session.expire(link)
    return destination
