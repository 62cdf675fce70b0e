"""HTTP functions of imageTemplates: lists (subscription, resource group), GET, PUT, PATCH.

DELETE is in ``triggers/api_runs.py``: it needs the Durable client to cancel a run in flight. GET, PUT and
PATCH hold the Durable client too: a PUT that creates a template with ``autoRun`` Enabled starts its first
run (``shared/service/autorun.py``), so the function is async and the store's calls go to a worker thread.
"""

from __future__ import annotations

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions import arm as h
from shared.bootstrap import root
from shared.service import autorun

bp = df.Blueprint()


@bp.function_name("image_templates_by_subscription")  # type: ignore[untyped-decorator]
@bp.route(  # type: ignore[untyped-decorator]
    route="subscriptions/{subscriptionId}/" + h.PROVIDER_ROUTE + "/imageTemplates",
    methods=["GET"],
    auth_level=h.FUNCTION,
)
@h.api
def list_by_subscription(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    page = root().service.templates.list(
        h.subscription(req), None, api_version=version, token=h.skip_token(req)
    )
    return h.page_response(req, page, version)


@bp.function_name("image_templates_by_resource_group")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATES_ROUTE, methods=["GET"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@h.api
def list_by_resource_group(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    sub, rg = h.subscription(req), h.resource_group(req)
    page = root().service.templates.list(sub, rg, api_version=version, token=h.skip_token(req))
    return h.page_response(req, page, version)


@bp.function_name("image_template")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE, methods=["GET", "PUT", "PATCH"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
@h.api_async
async def image_template(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    version = h.api_version(req)
    ref = h.template_ref(req)
    service = root().service
    method = req.method.upper()
    if method == "GET":
        return h.arm_json(200, await asyncio.to_thread(service.templates.get, ref, api_version=version))
    if method == "PUT":
        body = h.json_body(req)
        put = service.templates.put
        outcome = await asyncio.to_thread(put, ref, body, api_version=version, caller=h.caller(req))
        if not outcome.created or outcome.operation is None:
            return h.arm_json(200, outcome.resource)
        resource = outcome.resource
        if autorun.wants_auto_run(resource):
            await autorun.start_auto_run(service.store, service.runs, client, ref)
            resource = await asyncio.to_thread(service.templates.get, ref, api_version=version)
        headers = h.async_headers(req, outcome.operation, version)
        return h.arm_json(201, resource, {"Azure-AsyncOperation": headers["Azure-AsyncOperation"]})
    patch = service.templates.patch
    body = h.json_body(req)
    return h.arm_json(
        200, await asyncio.to_thread(patch, ref, body, api_version=version, caller=h.caller(req))
    )
