"""Building blocks of the request schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ferry.fields import Name


class Input(BaseModel):
    """A request object: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


ModelName = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]
NameList = Annotated[list[Name], Field(max_length=1000)]
ModelNameList = Annotated[list[ModelName], Field(max_length=10_000)]
