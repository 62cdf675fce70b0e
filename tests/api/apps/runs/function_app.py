"""kiln's API and run activities with a stand-in ``build_image`` orchestrator, for the live run tests.

The stand-in reports through the real ``update_run_status`` and ``record_outputs`` activities the way the
real orchestrator does (``orchestrators/flow.py``), so the tests exercise run, cancel, delete and their async
operations end to end through devhost's Durable client and engine, without building anything. Template tags
steer it: ``stubSeconds`` (how long the "build" takes), ``stubOutcome`` (``fail``), ``stubStaging`` (the
staging resource group it reports).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from functions import activities, api_openapi, api_provider, api_runs, api_templates, api_triggers

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (api_templates.bp, api_triggers.bp, api_provider.bp, api_openapi.bp, api_runs.bp):
    app.register_functions(blueprint)
app.register_functions(activities.bp)


@app.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def build_image(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    build = context.get_input()
    run, template = build["run"], build["template"]
    tags = template.get("tags") or {}

    def status(**fields: Any) -> Any:
        stamp = context.current_utc_datetime.isoformat().replace("+00:00", "Z")
        return context.call_activity("update_run_status", {"run": run, "time": stamp, **fields})

    yield status(run_state="Running", run_sub_state="Queued", phase="resolve", message="Run started.")
    if tags.get("stubStaging"):
        yield status(
            run_sub_state="Building", phase="staging", exact_staging_resource_group=tags["stubStaging"]
        )
    cancel = context.wait_for_external_event("cancel")
    hold = context.create_timer(
        context.current_utc_datetime + timedelta(seconds=float(tags.get("stubSeconds", "0.5")))
    )
    winner = yield context.task_any([cancel, hold])
    if winner is cancel:
        hold.cancel()
        yield status(run_state="Canceling", message="Cancel requested: cleaning up.")
        yield status(run_state="Canceled", finished=True, message="The run was canceled.")
        return "Canceled"
    if tags.get("stubOutcome") == "fail":
        yield status(run_state="Failed", finished=True, message="Run failed during customize: exit code 1")
        return "Failed"
    yield status(run_sub_state="Distributing", phase="distribute")
    targets = [
        {
            "run_output_name": d["runOutputName"],
            "type": d["type"],
            "succeeded": True,
            "artifact_id": f"/stub/{d['runOutputName']}",
        }
        for d in template["properties"]["distribute"]
    ]
    yield context.call_activity("record_outputs", {"run": run, "targets": targets})
    yield status(run_state="Succeeded", finished=True, message="Run succeeded.", targets=targets)
    return "Succeeded"
