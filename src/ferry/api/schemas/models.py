"""Model requests: the model config of spec §8 plus the request-only validation switch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from pydantic import create_model

from ferry.api.schemas.common import Input
from ferry.modelconfig import ModelConfig


class ModelIn(ModelConfig):
    skip_model_validation: bool = False


def _partial(model: type[ModelConfig]) -> type[Input]:
    """The same fields, all optional: what a PATCH may send."""
    fields: dict[str, Any] = {
        name: (Optional[field.annotation], None)  # noqa: UP045 - a runtime type expression
        for name, field in model.model_fields.items()
    }
    patch: type[Input] = create_model("ModelPatchFields", __base__=Input, **fields)
    return patch


if TYPE_CHECKING:
    ModelPatchFields = Input
else:
    ModelPatchFields = _partial(ModelIn)


class ModelCreate(Input):
    model: ModelIn
    # Also accepted next to the model, where some clients put it.
    skip_model_validation: bool = False


class ModelUpdate(Input):
    model: ModelPatchFields
    skip_model_validation: bool = False
