"""HTTP functions of patch cycles (kiln's extension, docs/cycles.md): the cycles of a subscription, newest
first, one cycle, and the templates whose latest image was built from an outdated source."""

from __future__ import annotations

import azure.functions as func

from functions import arm as h
from shared.bootstrap import root
from shared.service import checks

bp = func.Blueprint()  # type: ignore[no-untyped-call]
_ROUTE = "subscriptions/{subscriptionId}/" + h.PROVIDER_ROUTE


@bp.function_name("patch_cycles_list")
@bp.route(route=_ROUTE + "/patchCycles", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def list_cycles(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    page = root().service.cycles.page(h.subscription(req), token=h.skip_token(req))
    return h.page_response(req, page, version)


@bp.function_name("patch_cycle_document")
@bp.route(route=_ROUTE + "/patchCycles/{cycleId}", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def get_cycle(req: func.HttpRequest) -> func.HttpResponse:
    h.api_version(req)
    cycle_id = checks.cycle_id(req.route_params["cycleId"])
    return h.arm_json(200, root().service.cycles.get(h.subscription(req), cycle_id))


@bp.function_name("outdated_image_templates")
@bp.route(route=_ROUTE + "/outdatedImageTemplates", methods=["GET"], auth_level=h.FUNCTION)
@h.api
def outdated(req: func.HttpRequest) -> func.HttpResponse:
    h.api_version(req)
    return h.arm_json(200, {"value": root().service.cycles.outdated(h.subscription(req))})
