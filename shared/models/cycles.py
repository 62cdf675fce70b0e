"""The Durable boundary of patch cycles (docs/cycles.md): the ``patch_cycle`` orchestration and its
activities, by name, with their input and output models, as ``shared.models.durable`` has them for a build.

A cycle's truth is its document in the store; what travels here is the cursor over its members and the runs
it has in flight, so ``continue_as_new`` carries the whole state in a few hundred bytes per build in flight.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.models.build import Msg
from shared.models.durable import Activity, Orchestration


class CyclePolicy(Msg):
    """How a cycle paces itself; part of the input so replays stay deterministic."""

    max_builds: int = 20  # across every cycle in flight (the store-backed slots, not this orchestration)
    start_spacing_seconds: float = 5.0  # mean gap between two batches of starts, jittered ±50 %
    start_batch: int = 5  # most starts one admission makes (a quarter of the cap)
    poll_seconds: float = 30.0
    completions_per_generation: int = 50  # continue_as_new after this many finished builds
    rounds_per_generation: int = 200  # … or after this many polls, whichever comes first


class CycleRef(Msg):
    subscription_id: str
    cycle_id: str


class InFlight(Msg):
    """A build the cycle started and has not seen end."""

    index: int  # the member's position in the cycle document
    run_id: str


class CycleInput(Msg):
    """The input of ``patch_cycle``, and what it continues as new with."""

    cycle: CycleRef
    policy: CyclePolicy = Field(default_factory=CyclePolicy)
    members: int = -1  # unknown until ``cycle_begin`` has run
    next_index: int = 0  # the first member not yet admitted
    in_flight: list[InFlight] = Field(default_factory=list)
    generation: int = 0
    completed: int = 0  # builds seen ending, over every generation


class CycleBegun(Msg):
    members: int


class AdmitInput(Msg):
    cycle: CycleRef
    next_index: int
    want: int  # starts wanted now


class Admitted(Msg):
    started: list[InFlight] = Field(default_factory=list)
    next_index: int
    blocked: bool = False  # every build slot is taken (by this cycle or others): wait, then ask again


class CheckInput(Msg):
    cycle: CycleRef
    in_flight: list[InFlight]


class Checked(Msg):
    ended: list[InFlight] = Field(default_factory=list)


class CycleSummary(Msg):
    """How a cycle ended (its output and its document's counts)."""

    state: str
    counts: dict[str, int] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


class CycleFailure(Msg):
    """The cycle orchestration itself failed (an activity out of retries): why, for its document."""

    cycle: CycleRef
    message: str


CYCLE_BEGIN = Activity("cycle_begin", CycleRef, CycleBegun)
CYCLE_ADMIT = Activity("cycle_admit", AdmitInput, Admitted)
CYCLE_CHECK = Activity("cycle_check", CheckInput, Checked)
CYCLE_FINISH = Activity("cycle_finish", CycleRef, CycleSummary)
CYCLE_FAIL = Activity("cycle_fail", CycleFailure, CycleSummary)
CYCLE_ACTIVITIES: tuple[Activity[Any, Any], ...] = (
    CYCLE_BEGIN,
    CYCLE_ADMIT,
    CYCLE_CHECK,
    CYCLE_FINISH,
    CYCLE_FAIL,
)

PATCH_CYCLE = Orchestration("patch_cycle", CycleInput, CycleSummary)


def cycle_instance_id(subscription: str, cycle_id: str) -> str:
    """The Durable instance id of a cycle: one per due window, so a timer firing twice starts it once."""
    return f"patch-cycle-{subscription}-{cycle_id}".lower()
