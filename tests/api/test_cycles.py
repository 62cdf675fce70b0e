"""Schedule triggers and patch cycles, in-process: the functions' code over the in-memory store, Azure as the
stateful fakes, the Durable client as ``FakeDurable``. The cycle's steps are called as ``patch_cycle`` calls
them (the orchestration itself runs under devhost in ``tests/e2e/test_cycles.py``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.bootstrap import root
from shared.models.cycles import AdmitInput, CheckInput, CycleFailure, CycleRef, InFlight
from shared.models.schedule import parse_cron
from shared.service.cycles import PatchCycles
from shared.service.cycles import slots as slot_store
from shared.store import TemplateRef, keys
from tests.api import bodies
from tests.api.direct import DirectApi
from tests.api.fake_durable import FakeDurable
from tests.fakes import SUBSCRIPTION, FakeAzure

pytestmark = pytest.mark.timeout(60)
RG = "rg-images"
LATEST = "24.04.202411030"


def _path(name: str) -> str:
    return bodies.template_path(name, rg=RG, sub=SUBSCRIPTION)


def _template(api: DirectApi, name: str, *, sku: str = "server") -> TemplateRef:
    body = bodies.ubuntu()
    body["properties"]["source"]["sku"] = sku
    assert api.put(_path(name), body).status == 201
    return TemplateRef(SUBSCRIPTION, RG, name)


def _schedule(api: DirectApi, ref: TemplateRef, **props: Any) -> dict[str, Any]:
    body = {"properties": {"kind": "Schedule", "schedule": "0 2 * * 6", "timeZone": "Europe/Berlin", **props}}
    reply = api.put(_path(ref.name) + "/triggers/patch", body)
    assert reply.status == 201, reply.json
    return reply.json  # type: ignore[no-any-return]


def _set_last_window(ref: TemplateRef, when: datetime) -> None:
    def put(body: dict[str, Any]) -> dict[str, Any]:
        body["kiln"]["lastWindow"] = when.isoformat().replace("+00:00", "Z")
        return body

    root().service.store.update(keys.child(keys.TRIGGERS, ref, "patch"), put)


def _cycles() -> PatchCycles:
    return root().service.cycles


def _drive(
    cycle_id: str, durable: FakeDurable, *, finish: str = "Succeeded", version: str = LATEST
) -> dict[str, Any]:
    """The cycle's steps in the orchestration's order, every build ending ``finish`` as soon as it starts."""
    cycles, ref = _cycles(), CycleRef(subscription_id=SUBSCRIPTION, cycle_id=cycle_id)
    members = cycles.begin(ref).members
    index = 0
    while index < members:
        admitted = asyncio.run(cycles.admit(AdmitInput(cycle=ref, next_index=index, want=5), durable))
        index = admitted.next_index
        for build in admitted.started:
            durable.finish(root().service.runs, build.run_id, finish, exact_version=version)
        cycles.check(CheckInput(cycle=ref, in_flight=admitted.started))
    cycles.finish(ref)
    return cycles.get(SUBSCRIPTION, cycle_id)


def _tick(durable: FakeDurable, now: datetime) -> Any:
    return asyncio.run(_cycles().tick(durable, now=now))


def _manual_success(ref: TemplateRef, durable: FakeDurable, version: str = LATEST) -> str:
    start = root().service.runs.begin(ref, trigger="Manual")
    durable.instances[start.run_id] = {"name": "build_image", "input": start.input, "status": "Running"}
    durable.finish(root().service.runs, start.run_id, exact_version=version)
    return start.run_id


def test_a_schedule_trigger_is_validated_naming_the_field_and_shown_with_its_defaults(api: DirectApi) -> None:
    ref = _template(api, "sched")
    bad = api.put(
        _path("sched") + "/triggers/patch",
        {"properties": {"kind": "Schedule", "schedule": "0 2 * * 6", "timeZone": "Mars/Olympus"}},
    )
    assert bad.status == 400
    assert [d["target"] for d in bad.json["error"]["details"]] == ["properties.timeZone"]
    no_cron = api.put(
        _path("sched") + "/triggers/patch", {"properties": {"kind": "Schedule", "schedule": "61 * * * *"}}
    )
    assert no_cron.status == 400 and no_cron.json["error"]["details"][0]["target"] == "properties.schedule"

    shown = _schedule(api, ref, mode="whenChanged", cycleName="linux")

    props = shown["properties"]
    assert props["kind"] == "Schedule" and props["mode"] == "whenChanged" and props["cycleName"] == "linux"
    assert props["timeZone"] == "Europe/Berlin" and props["status"]["code"] == "Healthy"
    assert api.get(_path("sched") + "/triggers/patch").json == shown
    # one Schedule trigger per template, beside a SourceImage one
    again = api.put(
        _path("sched") + "/triggers/other", {"properties": {"kind": "Schedule", "schedule": "0 3 * * *"}}
    )
    assert again.status == 409
    assert api.put(_path("sched") + "/triggers/src", {"properties": {"kind": "SourceImage"}}).status == 201


def test_a_due_window_starts_one_cycle_even_when_the_timer_fires_twice_at_once(api: DirectApi) -> None:
    ref = _template(api, "twice")
    created = datetime.now(UTC)
    _schedule(api, ref)
    due = parse_cron("0 2 * * 6", "Europe/Berlin").next_after(created)
    durable = FakeDurable()

    async def both() -> list[Any]:
        cycles = _cycles()
        return list(
            await asyncio.gather(
                cycles.tick(durable, now=due + timedelta(seconds=20)),
                cycles.tick(durable, now=due + timedelta(seconds=21)),
            )
        )

    reports = asyncio.run(both())

    cycles_started = [i for i, v in durable.instances.items() if v["name"] == "patch_cycle"]
    assert len(cycles_started) == 1
    assert sorted(len(r.started) for r in reports) == [0, 1]
    listed = _cycles().page(SUBSCRIPTION, token=None).items
    assert len(listed) == 1 and listed[0]["properties"]["dueTime"] == due.isoformat().replace("+00:00", "Z")
    assert listed[0]["properties"]["late"] is False and listed[0]["properties"]["missedWindows"] == 0
    assert _tick(durable, due + timedelta(minutes=5)).started == []  # the window is behind it now


def test_windows_missed_while_down_run_once_late_and_say_so(api: DirectApi) -> None:
    ref = _template(api, "missed")
    _schedule(api, ref, schedule="0 * * * *", timeZone="UTC")
    start = datetime(2026, 11, 28, 0, 0, 30, tzinfo=UTC)
    _set_last_window(ref, start)
    durable = FakeDurable()

    report = _tick(durable, datetime(2026, 11, 28, 5, 10, tzinfo=UTC))

    assert len(report.started) == 1 and report.started[0].endswith("20261128T050000Z")
    cycle = _cycles().get(SUBSCRIPTION, report.started[0])["properties"]
    assert cycle["late"] is True and cycle["lateBySeconds"] == 600 and cycle["missedWindows"] == 4


def test_a_schedule_in_a_time_zone_comes_due_at_local_time_across_both_dst_changes(api: DirectApi) -> None:
    ref = _template(api, "dst")
    _schedule(api, ref, schedule="30 2 * * *", timeZone="America/New_York")
    durable = FakeDurable()
    _set_last_window(ref, datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    # 2026-03-08 has no 02:30 in New York: due at 03:30 EDT, 07:30 UTC, once
    assert _tick(durable, datetime(2026, 3, 8, 7, 29, tzinfo=UTC)).started == []
    spring = _tick(durable, datetime(2026, 3, 8, 7, 31, tzinfo=UTC)).started
    assert [s.rsplit("-", 1)[1] for s in spring] == ["20260308T073000Z"]
    # The next day 02:30 EDT is 06:30 UTC.
    assert [s.rsplit("-", 1)[1] for s in _tick(durable, datetime(2026, 3, 9, 6, 31, tzinfo=UTC)).started] == [
        "20260309T063000Z"
    ]
    # In November 02:30 EST is 07:30 UTC again.
    _set_last_window(ref, datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    autumn = _tick(durable, datetime(2026, 11, 1, 8, 0, tzinfo=UTC)).started
    assert [s.rsplit("-", 1)[1] for s in autumn] == ["20261101T073000Z"]


def test_a_when_changed_cycle_over_unchanged_templates_starts_no_build(api: DirectApi) -> None:
    refs = [_template(api, f"same{i}") for i in range(3)]
    durable = FakeDurable()
    for ref in refs:
        _schedule(api, ref, mode="whenChanged", cycleName="same")
        _manual_success(ref, durable)
        _set_last_window(ref, datetime(2026, 11, 27, tzinfo=UTC))

    report = _tick(durable, datetime(2026, 11, 28, 1, 30, tzinfo=UTC))
    cycle = _drive(report.started[0], durable)

    assert durable.started("Schedule") == []
    props = cycle["properties"]
    assert props["counts"]["skippedUnchanged"] == 3 and props["counts"]["started"] == 0
    assert props["state"] == "Succeeded"
    assert all("No input changed since run" in s["reason"] for s in props["skippedUnchanged"])


def test_a_new_marketplace_version_rebuilds_exactly_the_templates_built_from_it(
    api: DirectApi, fake_azure: FakeAzure
) -> None:
    fake_azure.marketplace.add("Canonical", "ubuntu-24_04-lts", "minimal", ["24.04.1"], "V2")
    server = [_template(api, f"srv{i}") for i in range(2)]
    minimal = [_template(api, f"min{i}", sku="minimal") for i in range(2)]
    durable = FakeDurable()
    for ref in server + minimal:
        _schedule(api, ref, mode="whenChanged", cycleName="linux", schedule="0 2 * * *", timeZone="UTC")
        _manual_success(ref, durable, LATEST if ref in server else "24.04.1")
        _set_last_window(ref, datetime(2026, 11, 27, 3, tzinfo=UTC))
    fake_azure.marketplace.publish(
        publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="24.04.202412010"
    )

    report = _tick(durable, datetime(2026, 11, 28, 2, 1, tzinfo=UTC))
    cycle = _drive(report.started[0], durable, version="24.04.202412010")["properties"]

    assert sorted(t["template"].rsplit("/", 1)[1] for t in cycle["succeeded"]) == ["srv0", "srv1"]
    assert sorted(t["template"].rsplit("/", 1)[1] for t in cycle["skippedUnchanged"]) == ["min0", "min1"]
    outdated = api.get(
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.VirtualMachineImages/outdatedImageTemplates?api-version=2025-10-01"
    )
    assert outdated.status == 200 and outdated.json["value"] == []  # nothing published in-process


def test_three_failed_cycle_builds_disable_the_schedule_and_a_manual_success_re_arms_it(
    api: DirectApi,
) -> None:
    ref = _template(api, "flaky")
    _schedule(api, ref, schedule="0 * * * *", timeZone="UTC")
    durable = FakeDurable()
    failed = []
    for hour in range(3):
        _set_last_window(ref, datetime(2026, 11, 28, hour, 30, tzinfo=UTC))
        report = _tick(durable, datetime(2026, 11, 28, hour + 1, 0, 5, tzinfo=UTC))
        cycle = _drive(report.started[0], durable, finish="Failed")
        failed += [f["runId"] for f in cycle["properties"]["failed"]]

    status = api.get(_path("flaky") + "/triggers/patch").json["properties"]["status"]
    assert status["code"] == "Disabled"
    assert "the last 3 builds" in status["message"] and all(f"'{r}'" in status["message"] for r in failed)
    _set_last_window(ref, datetime(2026, 11, 28, 3, 30, tzinfo=UTC))
    assert (
        _tick(durable, datetime(2026, 11, 28, 4, 0, 5, tzinfo=UTC)).started == []
    )  # a disabled one is skipped

    _manual_success(ref, durable)

    assert api.get(_path("flaky") + "/triggers/patch").json["properties"]["status"]["code"] == "Healthy"


def test_a_manual_run_if_changed_answers_200_with_the_skip_when_nothing_changed(api: DirectApi) -> None:
    ref = _template(api, "manual")
    durable = FakeDurable()
    assert _cycles().probe.unchanged(ref) is None  # never built: a run with ifChanged builds
    last = _manual_success(ref, durable)

    skipped = api.request(
        "POST", _path("manual") + "/run", params={"api-version": "2025-10-01", "ifChanged": "true"}
    )

    assert skipped.status == 200
    assert skipped.json["status"] == "Skipped" and skipped.json["lastRunId"] == last
    assert "No input changed" in skipped.json["reason"]
    fake_azure = root().azure
    fake_azure.marketplace.publish(
        publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="24.04.202501010"
    )  # type: ignore[attr-defined]
    assert _cycles().probe.unchanged(ref) is None  # a new source version: it builds


def test_the_cycle_never_takes_more_build_slots_than_the_cap_across_cycles(api: DirectApi) -> None:
    cycles = _cycles()
    cap = root().settings.cycle_max_builds
    refs = [_template(api, f"cap{i}") for i in range(cap + 3)]
    durable = FakeDurable()
    for ref in refs:
        _schedule(api, ref, schedule="0 2 * * *", timeZone="UTC", cycleName="cap")
        _set_last_window(ref, datetime(2026, 11, 27, 3, tzinfo=UTC))
    cid = _tick(durable, datetime(2026, 11, 28, 2, 1, tzinfo=UTC)).started[0]
    cref = CycleRef(subscription_id=SUBSCRIPTION, cycle_id=cid)
    cycles.begin(cref)

    admitted = asyncio.run(cycles.admit(AdmitInput(cycle=cref, next_index=0, want=cap + 3), durable))

    assert len(admitted.started) == cap and admitted.blocked and admitted.next_index == cap
    # Durable runs an activity at least once: asked again, the cycle repeats what it recorded
    repeated = asyncio.run(cycles.admit(AdmitInput(cycle=cref, next_index=0, want=cap), durable))
    assert repeated.started == admitted.started and len(durable.started("Schedule")) == cap
    durable.finish(root().service.runs, admitted.started[0].run_id)  # its end gives its slot back
    more = asyncio.run(cycles.admit(AdmitInput(cycle=cref, next_index=cap, want=3), durable))
    assert len(more.started) == 1 and more.blocked
    assert cycles.check(
        CheckInput(cycle=cref, in_flight=[InFlight(index=0, run_id=admitted.started[0].run_id)])
    ).ended


def _running_cycle(api: DirectApi, name: str, cycle_name: str) -> tuple[TemplateRef, FakeDurable, CycleRef]:
    """A template on a schedule whose cycle came due and began (its orchestration's first step)."""
    ref = _template(api, name)
    _schedule(api, ref, schedule="0 2 * * *", timeZone="UTC", cycleName=cycle_name)
    _set_last_window(ref, datetime(2026, 11, 27, 3, tzinfo=UTC))
    durable = FakeDurable()
    cid = _tick(durable, datetime(2026, 11, 28, 2, 1, tzinfo=UTC)).started[0]
    cref = CycleRef(subscription_id=SUBSCRIPTION, cycle_id=cid)
    _cycles().begin(cref)
    return ref, durable, cref


def test_a_run_reserved_for_the_cycle_whose_start_died_is_started_when_the_admit_is_asked_again(
    api: DirectApi,
) -> None:
    """The admit activity reserved a member's run, then its host died before the orchestration was started
    (devhost killed mid-cycle): Durable asks the activity again, and the cycle starts that reserved run — it
    neither waits on a run nothing runs nor reserves a second one."""
    cycles, runs = _cycles(), root().service.runs
    ref, durable, cref = _running_cycle(api, "orphan", "orphans")
    cid = cref.cycle_id
    reserved = runs.begin(ref, trigger="Schedule", cycle=cid)  # the first attempt got this far, no further
    assert durable.started("Schedule") == []

    admitted = asyncio.run(cycles.admit(AdmitInput(cycle=cref, next_index=0, want=5), durable))

    assert admitted.started == [InFlight(index=0, run_id=reserved.run_id)]
    assert durable.started("Schedule") == [reserved.run_id]
    assert durable.instances[reserved.run_id]["input"] == reserved.input  # the input begin gave
    # Asked once more (at least once), it starts nothing again.
    again = asyncio.run(cycles.admit(AdmitInput(cycle=cref, next_index=0, want=5), durable))
    assert again.started == admitted.started and len(durable.instances) == 2  # the cycle's + the build
    durable.finish(runs, reserved.run_id)
    assert cycles.check(CheckInput(cycle=cref, in_flight=admitted.started)).ended == admitted.started
    assert [r["name"] for r in runs.list(ref, token=None)[0]] == [reserved.run_id]


def test_a_run_reserved_for_the_cycle_whose_starter_died_before_writing_its_document_is_recorded_and_started(
    api: DirectApi,
) -> None:
    """The admit activity's host died between reserving the run on the template and writing the run document
    (devhost killed mid-cycle): the template names a run in flight that has no document. Asked again, the
    admit writes the document from the reservation and starts that run; it neither skips the member as
    "in flight" (the template would never be built) nor reserves a second run."""
    cycles, runs, store = _cycles(), root().service.runs, root().service.store
    ref, durable, cref = _running_cycle(api, "halfway", "halfway")
    cid = cref.cycle_id
    # The first attempt took the member's build slot, reserved the run, and never wrote its document.
    now = datetime.now(UTC)
    assert slot_store.acquire(store, f"{cid}#0", ref.path, limit=20, finished=lambda *_: False, now=now)
    reserved = runs.begin(ref, trigger="Schedule", cycle=cid)
    store.delete(keys.child(keys.RUNS, ref, reserved.run_id))

    admitted = asyncio.run(cycles.admit(AdmitInput(cycle=cref, next_index=0, want=5), durable))

    assert admitted.started == [InFlight(index=0, run_id=reserved.run_id)]
    assert durable.started("Schedule") == [reserved.run_id]
    assert durable.instances[reserved.run_id]["input"] == reserved.input
    run = runs.get(ref, reserved.run_id)["properties"]
    assert run["trigger"] == "Schedule" and run["cycle"] == cid and run["runNumber"] == 1
    slots = store.get(keys.cycle_slots())
    assert slots is not None
    assert [h["runId"] for h in slots.body["holders"].values()] == [reserved.run_id]  # the slot names it
    durable.finish(runs, reserved.run_id)
    assert cycles.check(CheckInput(cycle=cref, in_flight=admitted.started)).ended == admitted.started
    assert [r["name"] for r in runs.list(ref, token=None)[0]] == [reserved.run_id]
    assert cycles.get(SUBSCRIPTION, cid)["properties"]["counts"]["succeeded"] == 1


def test_a_source_image_trigger_skips_a_build_whose_inputs_equal_the_last_successful_runs(
    api: DirectApi,
) -> None:
    ref = _template(api, "srcsame")
    assert api.put(_path("srcsame") + "/triggers/src", {"properties": {"kind": "SourceImage"}}).status == 201
    durable = FakeDurable()
    _manual_success(ref, durable)  # built from the latest version
    older = root().service.runs.begin(ref, trigger="Manual")  # a later run of an older version failed
    durable.instances[older.run_id] = {"name": "build_image", "input": older.input, "status": "Running"}
    durable.finish(root().service.runs, older.run_id, "Failed", exact_version="24.04.202409120")

    report = asyncio.run(root().service.source_triggers.poll(durable))

    decision = report.decisions[ref.path]
    assert decision.outcome == "unchanged" and "No input changed since run" in decision.reason
    assert durable.started("SourceImage") == []


def test_the_cycle_routes_answer_404_for_an_unknown_cycle_and_400_for_a_malformed_id(api: DirectApi) -> None:
    base = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.VirtualMachineImages/patchCycles"

    assert api.get(base).json == {"value": []}
    assert api.get(base + "/linux-20261128T010000Z").status == 404
    bad = api.get(base + "/linux")
    assert bad.status == 400 and bad.json["error"]["target"] == "cycleId"


def test_a_schedule_deleted_and_created_again_comes_due_at_its_new_time(api: DirectApi) -> None:
    ref = _template(api, "again")
    _schedule(api, ref, schedule="0 3 * * *", timeZone="UTC")
    durable = FakeDurable()
    assert _tick(durable, datetime.now(UTC)).started == []  # remembered: due tomorrow at 03:00
    assert api.delete(_path("again") + "/triggers/patch").status == 202
    _schedule(api, ref, schedule="* * * * *", timeZone="UTC")

    started = _tick(durable, datetime.now(UTC) + timedelta(minutes=2)).started

    assert len(started) == 1


def test_a_cycle_whose_orchestration_failed_says_failed_and_why_and_gives_back_the_slots_it_held(
    api: DirectApi,
) -> None:
    """A step out of retries fails ``patch_cycle``, which asks ``cycle_fail`` to end the document: Failed,
    with the reason, and a slot a member took without naming a run given back."""

    cycles, store = _cycles(), root().service.store
    ref, _, cref = _running_cycle(api, "doomed", "doomed")
    now = datetime.now(UTC)
    assert slot_store.acquire(
        store, f"{cref.cycle_id}#0", ref.path, limit=20, finished=lambda *_: False, now=now
    )

    summary = cycles.fail(
        CycleFailure(cycle=cref, message="The patch cycle failed: the store is unreachable")
    )

    assert summary.state == "Failed"
    props = cycles.get(SUBSCRIPTION, cref.cycle_id)["properties"]
    assert props["state"] == "Failed" and props["endTime"]
    assert props["message"] == "The patch cycle failed: the store is unreachable"
    assert slot_store.in_use(store) == 0
    cycles.finish(cref)  # a late finish changes nothing
    assert cycles.get(SUBSCRIPTION, cref.cycle_id)["properties"]["state"] == "Failed"
