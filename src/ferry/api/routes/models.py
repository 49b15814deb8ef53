"""Models (spec §6.1 #30–36). Paths take a model's id or its name."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from ferry.api import render
from ferry.api.deps import (
    AnyScope,
    ApiScope,
    ApiVersionDep,
    DbSession,
    Pagination,
    api_key_scope,
    body,
    read_json,
)
from ferry.api.envelope import ok
from ferry.api.params import csv_list
from ferry.api.schemas.models import ModelCreate, ModelIn, ModelUpdate
from ferry.db.models import DataModel
from ferry.errors import InvalidInput
from ferry.modelconfig import validate_config
from ferry.services import models
from ferry.services.views import model_view

router = APIRouter(tags=["models"])
SKIP = "skip_model_validation"


@router.get("/models")
def list_models(
    request: Request,
    session: DbSession,
    scope: AnyScope,
    version: ApiVersionDep,
    page: Pagination,
    model_name: Annotated[str | None, Query()] = None,
    product_name: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    stmt = models.list_stmt(
        session,
        scope=scope,
        model_names=csv_list(model_name, name="model_name"),
        product_names=csv_list(product_name, name="product_name"),
    )
    return render.listing(
        request,
        session,
        stmt,
        name="models",
        sort=DataModel.created_at,
        key=DataModel.id,
        params=page,
        version=version,
        render=model_view,
        complete=scope.is_recipient,
    )


@router.post("/models")
def create_model(
    session: DbSession, scope: ApiScope, payload: ModelCreate = body(ModelCreate)
) -> dict[str, Any]:
    data = payload.model.model_dump(mode="json", exclude_none=True, exclude={SKIP})
    skip = payload.skip_model_validation or payload.model.skip_model_validation
    created, note = models.create(session, scope=scope, data=data, skip_validation=skip)
    return ok({"model": model_view(created)}, f"model created; {note}")


@router.get("/models/{model_id}")
def get_model(model_id: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    return ok({"model": model_view(models.get(session, scope=scope, model=model_id))})


@router.patch("/models/{model_id}")
def update_model(
    model_id: str, session: DbSession, scope: ApiScope, payload: ModelUpdate = body(ModelUpdate)
) -> dict[str, Any]:
    data = payload.model.model_dump(mode="json", exclude_unset=True, exclude={SKIP})
    skip = payload.skip_model_validation or bool(getattr(payload.model, SKIP, False))
    updated, note = models.update(
        session, scope=scope, model=model_id, data=data, skip_validation=skip
    )
    return ok({"model": model_view(updated)}, f"model updated; {note}")


@router.delete("/models/{model_id}")
def delete_model(model_id: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    models.delete(session, scope=scope, model=model_id)
    return ok({}, "model deleted")


@router.post("/models/{model_name}/validate")
def validate_model(model_name: str, session: DbSession, scope: ApiScope) -> dict[str, Any]:
    result = models.validate_stored(session, scope=scope, model=model_name)
    return ok(result, result["message"])


@router.post(
    "/actions/validate-config",
    dependencies=[Depends(api_key_scope)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A model config file, with or without the model wrapper",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelIn"}}},
        }
    },
)
async def validate_model_config(request: Request) -> dict[str, Any]:
    """Check a model config file without saving it (a dry run of POST /models)."""
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise InvalidInput("request body must be a model config (a JSON object)")
    wrapped = isinstance(raw.get("model"), dict) and set(raw) <= {"model", SKIP}
    config = raw["model"] if wrapped else raw
    config = {k: v for k, v in config.items() if k != SKIP}
    checked = validate_config(config, ("model",) if wrapped else ())
    return ok(
        {"is_valid": True, "model": checked.model_dump(mode="json", exclude_none=True)},
        f"model config {checked.model_name!r} is valid",
    )


__all__ = ["ModelIn", "router"]
