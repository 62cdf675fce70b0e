"""A run's trace, derived from its run document as the orchestration's reports reach it (through the
``RunRecorder`` the root wires): one trace per run, a span per phase, per step and per distribute target and
region, each made once, when it ends, with its recorded times; every log line of an activity carries the
run id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from activities import run_record
from functions.activities import call
from shared.azure.telemetry import OtelRunTracer
from shared.bootstrap import Kiln, Overrides, bootstrap, installed
from shared.bootstrap.telemetry import RUN_ID
from shared.models import durable as d
from shared.models.build import PhaseError, RunRef, RunStatusUpdate, StepState, TargetResult
from shared.models.durable import RegionState
from shared.models.trace import ROOT, span_id, trace_id, trace_id_hex
from shared.service import Caller
from shared.settings import Settings
from shared.store import TemplateRef
from tests.api import bodies
from tests.fakes import FakeAzure, InMemoryDocuments

REF = TemplateRef(bodies.SUB, bodies.RG, "traced")
V = "2025-10-01"
CLOCK = {"base": datetime.now(UTC)}


@pytest.fixture(autouse=True)
def _base() -> None:
    """Report times start 30 s before the test: its looks at regions happen at the wall clock's now."""
    CLOCK["base"] = datetime.now(UTC) - timedelta(seconds=30)


def at(seconds: float) -> str:
    return (CLOCK["base"] + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def kiln(exporter: InMemorySpanExporter) -> Iterator[Kiln]:
    tracer = OtelRunTracer(SimpleSpanProcessor(exporter))
    overrides = Overrides(azure=FakeAzure(), documents=InMemoryDocuments(), tracer=tracer)
    kiln = bootstrap(Settings(timing_profile="local"), overrides=overrides)
    kiln.service.templates.put(REF, bodies.ubuntu(), api_version=V, caller=Caller())
    yield kiln
    tracer.shutdown()


def _ref(run_id: str) -> RunRef:
    where = {"subscription_id": REF.subscription, "resource_group": REF.resource_group}
    return RunRef(**where, template_name=REF.name, run_id=run_id, location="eastus")


def _build(run_id: str) -> list[RunStatusUpdate | tuple[str, list[RegionState]]]:
    """The reports of a build with two customizers, a validator and two targets, in order."""
    run = _ref(run_id)

    def up(t: float, **fields: Any) -> RunStatusUpdate:
        return RunStatusUpdate(run=run, time=at(t), **fields)

    def step(phase: Any, index: int, name: str) -> StepState:
        return StepState(phase=phase, index=index, name=name)

    gallery = TargetResult(
        run_output_name="gallery",
        type="SharedImage",
        succeeded=True,
        regions={"eastus": "Completed", "westus": "Completed"},
    )
    image = TargetResult(run_output_name="image", type="ManagedImage", succeeded=True)
    return [
        up(1, run_state="Running", run_sub_state="Queued", phase="resolve"),
        up(2, phase="preflight"),
        up(3, run_sub_state="Building", phase="staging"),
        up(4, phase="deploy"),
        up(5, phase="artifacts"),
        up(6, run_sub_state="Customizing", phase="customize", step=step("customize", 0, "install")),
        up(7, step=step("customize", 1, "configure")),
        up(8, run_sub_state="Validating", phase="validate", step=step("validate", 0, "check")),
        up(9, run_sub_state="Distributing", phase="generalize", step=step("generalize", 0, "deprovision")),
        up(10, phase="distribute"),
        (
            "gallery",
            [
                RegionState(region="eastus", state="Completed"),
                RegionState(region="westus", state="Replicating"),
            ],
        ),
        # the look above happens now (the wall clock): between distribute's start and outputs' start
        up(100, phase="outputs", targets=[gallery, image]),
        up(101, phase="cleanup"),
        up(102, run_state="Succeeded", message="Run succeeded.", finished=True, phase="cleanup"),
    ]


def _report(kiln: Kiln, items: list[RunStatusUpdate | tuple[str, list[RegionState]]], run_id: str) -> None:
    for item in items:
        if isinstance(item, RunStatusUpdate):
            kiln.build.runs.apply(item)
        else:
            kiln.build.runs.progress(_ref(run_id), item[0], item[1])


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


def test_a_build_is_one_trace_of_its_phases_steps_targets_and_regions(
    kiln: Kiln, exporter: InMemorySpanExporter
) -> None:
    run_id = kiln.service.runs.begin(REF).run_id

    _report(kiln, _build(run_id), run_id)

    spans = exporter.get_finished_spans()
    named = _by_name(spans)
    assert len(named) == len(spans) == 1 + 11 + 4 + 2 + 2
    assert {s.context.trace_id for s in spans if s.context} == {trace_id(run_id)}
    assert trace_id_hex(run_id) == f"{trace_id(run_id):032x}"
    root = named["run traced"]
    assert root.parent is None and root.kind is SpanKind.CONSUMER
    assert root.context is not None and root.context.span_id == span_id(run_id, ROOT)
    assert root.status.status_code is StatusCode.OK

    def parent_of(name: str) -> str:
        parent = named[name].parent
        assert parent is not None
        return next(n for n, s in named.items() if s.context and s.context.span_id == parent.span_id)

    phases = [n for n in named if n.startswith("phase ")]
    assert {parent_of(n) for n in phases} == {"run traced"}
    assert parent_of("customize 0 install") == parent_of("customize 1 configure") == "phase customize"
    assert parent_of("validate 0 check") == "phase validate"
    assert parent_of("generalize 0 deprovision") == "phase generalize"
    assert parent_of("distribute gallery") == parent_of("distribute image") == "phase distribute"
    assert parent_of("replicate eastus") == parent_of("replicate westus") == "distribute gallery"

    customize = named["phase customize"]
    assert (customize.start_time, customize.end_time) == (_nanos(at(6)), _nanos(at(8)))
    first = named["customize 0 install"]
    assert (first.start_time, first.end_time) == (_nanos(at(6)), _nanos(at(7)))
    assert named["generalize 0 deprovision"].end_time == _nanos(at(10))
    # eastus ended when a look saw it Completed; westus when the target's result said so
    eastus, westus = named["replicate eastus"], named["replicate westus"]
    assert eastus.start_time == westus.start_time == _nanos(at(10))
    assert eastus.end_time is not None and _nanos(at(10)) < eastus.end_time < _nanos(at(100))
    assert westus.end_time == _nanos(at(100))
    assert named["distribute gallery"].end_time == westus.end_time  # a target ends with its last region
    assert named["distribute image"].end_time == _nanos(at(100))
    for span in spans:
        attrs = span.attributes or {}
        assert attrs["kiln.run_id"] == run_id
        assert str(attrs["kiln.template"]).endswith("/imageTemplates/traced")
        assert attrs["kiln.runState"] in ("Running", "Succeeded")
    assert (named["replicate westus"].attributes or {})["kiln.region"] == "westus"
    assert (named["customize 1 configure"].attributes or {})["kiln.step.name"] == "configure"


def test_a_redelivered_report_makes_no_span_twice(kiln: Kiln, exporter: InMemorySpanExporter) -> None:
    run_id = kiln.service.runs.begin(REF).run_id
    build = _build(run_id)

    _report(kiln, build, run_id)
    count = len(exporter.get_finished_spans())
    _report(kiln, build, run_id)  # activities run at least once

    assert len(exporter.get_finished_spans()) == count


def test_a_failed_run_ends_its_open_phase_and_step_as_failed(
    kiln: Kiln, exporter: InMemorySpanExporter
) -> None:
    run_id = kiln.service.runs.begin(REF).run_id
    run = _ref(run_id)
    error = PhaseError(code="CustomizerFailed", message="exit 3", phase="customize")

    kiln.build.runs.apply(RunStatusUpdate(run=run, time=at(1), run_state="Running", phase="resolve"))
    kiln.build.runs.apply(
        RunStatusUpdate(
            run=run, time=at(2), phase="customize", step=StepState(phase="customize", index=0, name="x")
        )
    )
    kiln.build.runs.apply(
        RunStatusUpdate(run=run, time=at(3), run_state="Failed", message=error.message, finished=True)
    )

    named = _by_name(exporter.get_finished_spans())
    assert set(named) == {"run traced", "phase resolve", "phase customize", "customize 0 x"}
    for name in ("run traced", "phase customize", "customize 0 x"):
        assert named[name].status.status_code is StatusCode.ERROR, name
    assert named["run traced"].status.description == "exit 3"
    assert named["phase resolve"].status.status_code is StatusCode.OK


def test_a_run_settled_by_the_api_ends_its_trace(kiln: Kiln, exporter: InMemorySpanExporter) -> None:
    run_id = kiln.service.runs.begin(REF).run_id

    kiln.service.runs.settle(REF, run_id, state="Failed", message="The orchestration is gone.")

    (root,) = exporter.get_finished_spans()
    assert root.name == "run traced" and (root.attributes or {})["kiln.runState"] == "Failed"


class Broken:
    def export(self, spans: Any) -> None:
        raise RuntimeError("the exporter is down")


def test_a_broken_exporter_never_fails_the_runs_bookkeeping(caplog: pytest.LogCaptureFixture) -> None:
    kiln = bootstrap(
        Settings(), overrides=Overrides(azure=FakeAzure(), documents=InMemoryDocuments(), tracer=Broken())
    )
    kiln.service.templates.put(REF, bodies.ubuntu(), api_version=V, caller=Caller())
    run_id = kiln.service.runs.begin(REF).run_id

    recorded = kiln.build.runs.apply(
        RunStatusUpdate(run=_ref(run_id), time=at(1), run_state="Succeeded", finished=True)
    )

    assert recorded.run_state == "Succeeded" and recorded.finished
    assert "its spans could not be exported" in caplog.text


def test_every_log_line_of_an_activity_carries_its_run_id(
    kiln: Kiln, caplog: pytest.LogCaptureFixture
) -> None:
    run_id = kiln.service.runs.begin(REF).run_id
    update = RunStatusUpdate(run=_ref(run_id), time=at(1), run_state="Running", phase="resolve")

    def noisy(inp: RunStatusUpdate, *, ports: Any) -> Any:
        logging.getLogger("kiln.activities.test").warning("working on it")
        return run_record.update_status(inp, ports=ports)

    caplog.set_level(logging.INFO)
    with installed(kiln):
        asyncio.run(call(d.UPDATE_RUN_STATUS, noisy, update.model_dump(mode="json"), ports=kiln.build))
    logging.getLogger("kiln.activities.test").warning("outside any run")

    inside = [r for r in caplog.records if r.getMessage() == "working on it"]
    outside = [r for r in caplog.records if r.getMessage() == "outside any run"]
    assert inside and all(getattr(r, RUN_ID) == run_id for r in inside)
    assert outside and not hasattr(outside[0], RUN_ID)


def _nanos(value: str) -> int:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1_000_000_000)
