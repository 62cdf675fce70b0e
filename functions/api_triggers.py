"""HTTP functions of a template's triggers: list, GET, PUT, DELETE."""

from __future__ import annotations

import azure.functions as func

from functions import arm as h
from shared.bootstrap import root
from shared.service import checks

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("image_template_triggers")
@bp.route(route=h.TEMPLATE_ROUTE + "/triggers", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def list_triggers(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    page = root().service.triggers.list(h.template_ref(req), token=h.skip_token(req))
    return h.page_response(req, page, version)


@bp.function_name("image_template_trigger")
@bp.route(
    route=h.TEMPLATE_ROUTE + "/triggers/{triggerName}",
    methods=["GET", "PUT", "DELETE"],
    auth_level=h.FUNCTION,
)
@h.api
def trigger(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    ref = h.template_ref(req)
    name = checks.resource_name(req.route_params["triggerName"], "triggerName")
    triggers = root().service.triggers
    method = req.method.upper()
    if method == "GET":
        return h.arm_json(200, triggers.get(ref, name))
    if method == "PUT":
        outcome = triggers.put(ref, name, h.json_body(req), caller=h.caller(req))
        if not outcome.created or outcome.operation is None:
            return h.arm_json(200, outcome.resource)
        headers = h.async_headers(req, outcome.operation, version)
        return h.arm_json(201, outcome.resource, {"Azure-AsyncOperation": headers["Azure-AsyncOperation"]})
    operation = triggers.delete(ref, name)
    if operation is None:
        return h.arm_json(204)
    return h.arm_json(202, None, h.async_headers(req, operation, version))
