"""HTTP functions around the templates: provider operations, async-operation status, runOutputs, OpenAPI."""

from __future__ import annotations

import azure.functions as func

from functions import arm as h
from shared.bootstrap import root
from shared.errors import KilnError
from shared.service import checks
from shared.service.operations import IN_PROGRESS, SUCCEEDED, render_operation
from shared.service.provider import provider_operations

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_LOCATION_ROUTE = "subscriptions/{subscriptionId}/" + h.PROVIDER_ROUTE + "/locations/{location}"


@bp.function_name("provider_operations")
@bp.route(route=h.PROVIDER_ROUTE + "/operations", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def list_provider_operations(req: func.HttpRequest) -> func.HttpResponse:
    h.api_version(req)
    return h.arm_json(200, {"value": provider_operations()})


@bp.function_name("async_operation_status")
@bp.route(route=_LOCATION_ROUTE + "/operations/{operationId}", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def operation_status(req: func.HttpRequest) -> func.HttpResponse:
    h.api_version(req)
    op = root().service.operation(h.subscription(req), req.route_params["operationId"])
    return h.arm_json(200, render_operation(op))


@bp.function_name("async_operation_result")
@bp.route(route=_LOCATION_ROUTE + "/operationResults/{operationId}", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def operation_result(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    op = root().service.operation(h.subscription(req), req.route_params["operationId"])
    if op["status"] == IN_PROGRESS:
        return h.arm_json(202, None, h.async_headers(req, op, version))
    if op["status"] == SUCCEEDED:
        return h.arm_json(204)
    error = op.get("error") or {"code": "OperationFailed", "message": "The operation failed."}
    raise KilnError(code=error["code"], message=error["message"], status=int(op.get("errorStatus", 409)))


@bp.function_name("image_template_run_outputs")
@bp.route(route=h.TEMPLATE_ROUTE + "/runOutputs", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def list_run_outputs(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    page = root().service.run_outputs.list(h.template_ref(req), token=h.skip_token(req))
    return h.page_response(req, page, version)


@bp.function_name("image_template_run_output")
@bp.route(route=h.TEMPLATE_ROUTE + "/runOutputs/{runOutputName}", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def run_output(req: func.HttpRequest) -> func.HttpResponse:
    h.api_version(req)
    name = checks.resource_name(req.route_params["runOutputName"], "runOutputName")
    return h.arm_json(200, root().service.run_outputs.get(h.template_ref(req), name))
