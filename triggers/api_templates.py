"""HTTP functions of imageTemplates: lists (subscription, resource group), GET, PUT, PATCH.

DELETE is in ``triggers/api_runs.py``: it needs the Durable client to cancel a run in flight.
"""

from __future__ import annotations

import azure.functions as func

from shared.service import get_service
from triggers import _http as h

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("image_templates_by_subscription")
@bp.route(
    route="subscriptions/{subscriptionId}/" + h.PROVIDER_ROUTE + "/imageTemplates",
    methods=["GET"],
    auth_level=h.FUNCTION,
)
@h.api
def list_by_subscription(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    page = get_service().templates.list(
        h.subscription(req), None, api_version=version, token=h.skip_token(req)
    )
    return h.page_response(req, page, version)


@bp.function_name("image_templates_by_resource_group")
@bp.route(route=h.TEMPLATES_ROUTE, methods=["GET"], auth_level=h.FUNCTION)
@h.api
def list_by_resource_group(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    sub, rg = h.subscription(req), h.resource_group(req)
    page = get_service().templates.list(sub, rg, api_version=version, token=h.skip_token(req))
    return h.page_response(req, page, version)


@bp.function_name("image_template")
@bp.route(route=h.TEMPLATE_ROUTE, methods=["GET", "PUT", "PATCH"], auth_level=h.FUNCTION)
@h.api
def image_template(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    ref = h.template_ref(req)
    service = get_service()
    method = req.method.upper()
    if method == "GET":
        return h.arm_json(200, service.templates.get(ref, api_version=version))
    if method == "PUT":
        outcome = service.templates.put(ref, h.json_body(req), api_version=version, caller=h.caller(req))
        if not outcome.created or outcome.operation is None:
            return h.arm_json(200, outcome.resource)
        headers = h.async_headers(req, outcome.operation, version)
        return h.arm_json(201, outcome.resource, {"Azure-AsyncOperation": headers["Azure-AsyncOperation"]})
    return h.arm_json(
        200, service.templates.patch(ref, h.json_body(req), api_version=version, caller=h.caller(req))
    )
