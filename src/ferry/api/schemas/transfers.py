"""Transfer requests."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from ferry.api.schemas.common import Input, ModelNameList
from ferry.fields import UtcDatetime

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=255)]
TagValue = Annotated[str, StringConstraints(max_length=1024)]


class TransferRequest(Input):
    full_refresh: bool = False
    is_debug_mode: bool = False
    models: ModelNameList | None = None
    start_transfer_window_at: UtcDatetime | None = None
    end_transfer_window_at: UtcDatetime | None = None
    tags: Annotated[dict[TagKey, TagValue], Field(max_length=50)] | None = None
