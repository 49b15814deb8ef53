"""What Prequel's React SDK calls to build its "add a destination" form (spec §6.1 #57, #59).

Neither route needs credentials: the SDK calls them before it has a scoped token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ferry import forms
from ferry.api.deps import DbSession
from ferry.api.envelope import ok
from ferry.services import ssh_keys

router = APIRouter(tags=["public"])


@router.get("/public/forms/destination-vendors")
def destination_form(
    vendor: Annotated[
        str | None,
        Query(description="One vendor's form; without it, every vendor's under the vendor pick"),
    ] = None,
    _org_id: Annotated[
        str | None,
        Query(alias="org_id", description="Sent by the SDK; the form is the same for every org"),
    ] = None,
) -> dict[str, Any]:
    """The form tree: ``{sections, form}`` (spec §7.4).

    The SDK fetches it once, without ``vendor`` unless told otherwise, and shows a vendor's
    fields once that vendor is picked, so the unfiltered form holds every vendor's fields.
    """
    return ok(forms.destination_form(vendor or None), "destination form")


@router.post("/actions/generate-ssh-key")
def generate_ssh_key(session: DbSession) -> dict[str, Any]:
    """A new key pair; the private half stays here, sealed, for the destination that names it."""
    key = ssh_keys.generate(session)
    return ok(
        {"public_key": key.public_key, "public_key_pkcs8": key.public_key_pkcs8},
        "ssh key generated",
    )
