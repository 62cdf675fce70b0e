"""HTTP functions of runs: POST run / cancel, DELETE of a template (cancels its run), kiln's run resources.

run, cancel and DELETE hold the Durable client, so they are async; the store is synchronous, so its calls go
to a worker thread (``asyncio.to_thread``) instead of blocking the event loop.
"""

from __future__ import annotations

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions import arm as h
from shared.bootstrap import root
from shared.models.durable import CANCEL_EVENT
from shared.service import Page, checks
from shared.service.run_log import parse_offset
from shared.service.run_start import RUNNING, runtime_status, start_run
from shared.store import TemplateRef

bp = df.Blueprint()
RUN_ID_HEADER = "x-kiln-run-id"  # AIB answers a run with no body; kiln names the run it started here
_log = logging.getLogger("kiln.api.runs")


@bp.function_name("image_template_run")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE + "/run", methods=["POST"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
@h.api_async
async def run_template(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    version = h.api_version(req)
    ref = h.template_ref(req)
    start = await start_run(root().service.runs, client, ref, trigger="Manual")
    headers = {**h.async_headers(req, start.operation, version), RUN_ID_HEADER: start.run_id}
    return h.arm_json(202, None, headers)


@bp.function_name("image_template_cancel")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE + "/cancel", methods=["POST"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
@h.api_async
async def cancel_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    version = h.api_version(req)
    ref = h.template_ref(req)
    run_id, op = await asyncio.to_thread(root().service.runs.begin_cancel, ref)
    await _raise_cancel(client, ref, run_id)
    op = await asyncio.to_thread(root().service.operation, ref.subscription, op["id"])
    return h.arm_json(202, None, h.async_headers(req, op, version))


@bp.function_name("image_template_delete")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE, methods=["DELETE"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@bp.durable_client_input(client_name="client")  # type: ignore[untyped-decorator]
@h.api_async
async def delete_template(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    version = h.api_version(req)
    ref = h.template_ref(req)
    deleted = await asyncio.to_thread(root().service.deletion.delete, ref)
    if deleted.operation is None:
        return h.arm_json(204)
    if deleted.active_run:
        await _raise_cancel(client, ref, deleted.active_run)
    return h.arm_json(202, None, h.async_headers(req, deleted.operation, version))


@bp.function_name("image_template_runs")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE + "/runs", methods=["GET"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@h.api
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    version = h.api_version(req)
    items, token = root().service.runs.list(h.template_ref(req), token=h.skip_token(req))
    return h.page_response(req, Page(items, token), version)


@bp.function_name("image_template_run_document")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE + "/runs/{runId}", methods=["GET"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@h.api
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    h.api_version(req)
    run_id = checks.resource_name(req.route_params["runId"], "runId")
    return h.arm_json(200, root().service.runs.get(h.template_ref(req), run_id))


@bp.function_name("image_template_run_log")  # type: ignore[untyped-decorator]
@bp.route(route=h.TEMPLATE_ROUTE + "/runs/{runId}/log", methods=["GET"], auth_level=h.FUNCTION)  # type: ignore[untyped-decorator]
@h.api_async
async def get_run_log(req: func.HttpRequest) -> func.HttpResponse:
    """The log; ``follow`` waits on the event loop, holding no worker thread (shared/service/run_log.py)."""
    h.api_version(req)
    ref = h.template_ref(req)
    run_id = checks.resource_name(req.route_params["runId"], "runId")
    offset = parse_offset(req.params.get("offset"))
    follow = str(req.params.get("follow", "")).lower() in ("true", "1", "yes")
    log = root().service.run_log
    if follow:
        chunk = await log.follow(ref, run_id, offset=offset)
    else:
        chunk = await asyncio.to_thread(log.read, ref, run_id, offset=offset)
    headers = {
        "x-kiln-log-offset": str(chunk.next_offset),
        "x-kiln-run-finished": "true" if chunk.finished else "false",
    }
    return func.HttpResponse(
        chunk.data, status_code=200, headers=headers, mimetype="text/plain", charset="utf-8"
    )


async def _raise_cancel(client: df.DurableOrchestrationClient, ref: TemplateRef, run_id: str) -> None:
    """Raise ``cancel`` on the run; a run whose orchestration is gone is settled as Canceled."""
    try:
        await client.raise_event(run_id, CANCEL_EVENT, None)
        return
    except Exception as exc:  # 404 / 410: the orchestration never started or already ended
        _log.info("cancel of %s: %s", run_id, exc)
    if await runtime_status(client, run_id) not in RUNNING:
        await asyncio.to_thread(
            root().service.runs.settle,
            ref,
            run_id,
            state="Canceled",
            message="The run was canceled; its orchestration had already ended.",
        )
