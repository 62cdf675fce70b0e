"""GET /openapi.json: the API description, readable without a key."""

from __future__ import annotations

import azure.functions as func

from functions import arm as h

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("openapi_document")
@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@h.api
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    from functions.openapi import openapi_document

    return h.arm_json(200, openapi_document())
