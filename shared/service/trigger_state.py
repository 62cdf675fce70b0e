"""A SourceImage trigger's memory, kept on its trigger document under ``kiln`` (never shown to callers).

``kiln``: ``{"handled": [versions a run was started for, newest last], "pending": {version, since, reason}
| null, "failures": consecutive failed triggered builds, "counted": [run ids already counted],
"lastDecision": {time, version, outcome, reason, runId?}}``. Every change is ETag-guarded, so two
deliveries of one event (or an event and the poll) start at most one run for a version.

Health (aib-contract §8, [TRG]): after ``FAILURES_TO_DISABLE`` (setting ``KILN_TRIGGER_FAILURES_TO_DISABLE``)
consecutive failed builds the trigger started, automatic triggering is deactivated (status ``Disabled``); a
successful manual build re-activates it. Schedule triggers (docs/cycles.md) keep the same count of the builds
their cycles started, on the same document fields, and are re-armed by the same manual success.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from shared.service.resources import now
from shared.service.source_watch import Watched, same_version
from shared.store import DocumentMissing, JsonStore, TemplateRef, keys

HEALTHY = {"code": "Healthy", "message": "Trigger is active."}
DISABLED = "Disabled"
FAILURES_TO_DISABLE = 3
_KEEP = 50
_FAILED = frozenset({"Failed", "PartiallySucceeded"})


@dataclass(frozen=True)
class Decision:
    """What a trigger does about one version: ``start``, ``pending``, ``skip`` or ``unchanged`` (with the
    reason; ``unchanged``: handled, since a build would change nothing)."""

    outcome: str
    version: str | None
    reason: str
    run_id: str | None = None


def _state(body: dict[str, Any]) -> dict[str, Any]:
    kiln: dict[str, Any] = body.setdefault("kiln", {})
    kiln.setdefault("handled", [])
    kiln.setdefault("counted", [])
    kiln.setdefault("failures", 0)
    kiln.setdefault("pending", None)
    return kiln


def claim(
    store: JsonStore, item: Watched, version: str, *, active_run: str | None, built: str | None
) -> Decision:
    """Decide, under the trigger document's ETag, whether ``version`` starts a run now.

    ``active_run`` is the template's run in flight; ``built`` the version its latest run built from.
    """
    decided: list[Decision] = []

    def decide(body: dict[str, Any]) -> dict[str, Any]:
        kiln = _state(body)
        decided.clear()
        if (body["properties"].get("status") or {}).get("code") == DISABLED:
            decided.append(Decision("skip", version, "The trigger is deactivated."))
        elif any(same_version(version, v) for v in kiln["handled"]):
            decided.append(Decision("skip", version, "A run was already started for this version."))
        elif same_version(version, built):
            kiln["handled"] = [*kiln["handled"], version][-_KEEP:]
            kiln["pending"] = None
            decided.append(Decision("skip", version, "The template's latest run already built this version."))
        elif active_run:
            reason = f"Run '{active_run}' is in flight; this version is built once it ends."
            kiln["pending"] = {"version": version, "since": now(), "reason": reason}
            decided.append(Decision("pending", version, reason))
        else:
            kiln["handled"] = [*kiln["handled"], version][-_KEEP:]
            kiln["pending"] = None
            decided.append(Decision("start", version, "A new source image version."))
        kiln["lastDecision"] = _note(decided[0])
        return body

    _update(store, item.ref, item.trigger, decide)
    return decided[0] if decided else Decision("skip", version, "The trigger no longer exists.")


def record(store: JsonStore, item: Watched, decision: Decision) -> None:
    """Record what became of a claimed start (the run id, or a start that could not happen)."""

    def note(body: dict[str, Any]) -> dict[str, Any]:
        kiln = _state(body)
        if decision.outcome not in ("start", "unchanged"):
            # Not started after all: forget the claim so the next event or poll tries again.
            kiln["handled"] = [v for v in kiln["handled"] if not same_version(v, decision.version)]
            if decision.outcome == "pending":
                kiln["pending"] = {"version": decision.version, "since": now(), "reason": decision.reason}
        kiln["lastDecision"] = _note(decision)
        return body

    _update(store, item.ref, item.trigger, note)


def note_skip(store: JsonStore, item: Watched, decision: Decision) -> None:
    """Record why an event did not start a run (an older version, one still provisioning…)."""
    _update(
        store,
        item.ref,
        item.trigger,
        lambda body: {**body, "kiln": {**_state(body), "lastDecision": _note(decision)}},
    )


def on_run_end(
    store: JsonStore, ref: TemplateRef, run: dict[str, Any], *, threshold: int = FAILURES_TO_DISABLE
) -> None:
    """Count a finished run against the template's trigger: deactivate or re-activate it.

    A failed (or partially succeeded) run the trigger started adds one failure; a run the trigger started
    that succeeds resets the count; a successful manual run resets it and re-activates the trigger.
    """
    template = store.get(keys.template(ref))
    if template is None:
        return
    props = run["properties"]
    names = [*template.body["kiln"].get("triggers", []), *template.body["kiln"].get("schedules", [])]
    for name in names:

        def count(body: dict[str, Any]) -> dict[str, Any]:
            kiln = _state(body)
            if run["name"] in kiln["counted"]:
                return body
            kiln["counted"] = [*kiln["counted"], run["name"]][-_KEEP:]
            _apply_outcome(body, kiln, props, threshold)
            return body

        _update(store, ref, name, count)


def _apply_outcome(body: dict[str, Any], kiln: dict[str, Any], props: dict[str, Any], threshold: int) -> None:
    trigger, state = props.get("trigger"), props.get("runState")
    status = body["properties"].get("status") or {}
    mine = trigger == body["properties"].get("kind", "SourceImage")  # the builds this trigger started
    if mine and state in _FAILED:
        kiln["failures"] = int(kiln["failures"]) + 1
        kiln["failedRuns"] = [*kiln.get("failedRuns", []), props.get("runId")][-threshold:]
        if kiln["failures"] >= threshold and status.get("code") != DISABLED:
            runs = ", ".join(f"'{r}'" for r in kiln["failedRuns"])
            body["properties"]["status"] = {
                "code": DISABLED,
                "message": (
                    f"Automatic triggering is deactivated: the last {kiln['failures']} builds this trigger "
                    f"started failed (runs {runs}; latest: run '{props.get('runId')}': "
                    f"{props.get('message')}). Fix the template or its source, then run the template "
                    "manually (POST …/run); a successful manual build re-activates the trigger."
                ),
                "time": now(),
            }
    elif mine and state == "Succeeded":
        kiln["failures"] = 0
        kiln["failedRuns"] = []
    elif trigger == "Manual" and state == "Succeeded":
        kiln["failures"] = 0
        kiln["failedRuns"] = []
        if status.get("code") == DISABLED:
            body["properties"]["status"] = {**HEALTHY, "time": now()}


def _note(decision: Decision) -> dict[str, Any]:
    out = {"time": now(), "version": decision.version, "outcome": decision.outcome, "reason": decision.reason}
    if decision.run_id:
        out["runId"] = decision.run_id
    return out


def _update(store: JsonStore, ref: TemplateRef, trigger: str, mutate: Any) -> None:
    with contextlib.suppress(DocumentMissing):
        store.update(keys.child(keys.TRIGGERS, ref, trigger), mutate)
