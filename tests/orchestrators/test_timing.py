"""The local timing profile is Azure's policy on the simulator's clock."""

from __future__ import annotations

import json
from pathlib import Path

from shared.bootstrap import timing_policy
from shared.models.build import TimingPolicy
from shared.settings import Settings


def test_scaling_keeps_the_number_of_polls_a_build_makes() -> None:
    azure = TimingPolicy()
    local = azure.scaled(0.01)
    assert local.wait_poll_seconds == azure.wait_poll_seconds * 0.01
    assert local.max_wait_poll_seconds == azure.max_wait_poll_seconds * 0.01
    assert local.wait_budget_seconds == azure.wait_budget_seconds * 0.01
    assert local.wait_backoff == azure.wait_backoff
    assert local.region_timeout_minutes == azure.region_timeout_minutes * 0.01
    assert local.timeout_scale == local.hint_scale == 0.01
    assert local.retry_max_attempts == azure.retry_max_attempts


def test_a_zero_scale_still_polls_and_times_out_sensibly() -> None:
    instant = TimingPolicy().scaled(0.0)
    assert instant.wait_poll_seconds > 0 and instant.retry_first_interval_ms > 0
    assert instant.timeout_scale > 0 and instant.deploy_timeout_minutes >= 1


def test_the_local_profile_follows_the_time_scale_setting_and_azure_keeps_the_defaults() -> None:
    local = timing_policy(Settings(timing_profile="local", time_scale=0.02))
    assert local.wait_poll_seconds == TimingPolicy().wait_poll_seconds * 0.02
    assert local.timeout_scale == 0.02
    assert timing_policy(Settings(timing_profile="azure", time_scale=0.02)) == TimingPolicy()


def test_a_waiting_activity_ends_well_inside_the_function_timeout_and_the_host_runs_many_at_once() -> None:
    """A waiting activity answers by its budget; the Functions host kills one past ``functionTimeout``."""
    host = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    timeout = hours * 3600 + minutes * 60 + seconds
    policy = TimingPolicy()
    assert policy.wait_budget_seconds + policy.max_wait_poll_seconds < timeout / 2
    durable = host["extensions"]["durableTask"]
    # Waiting activities hold an activity slot while they sleep: a worker must hold many of them.
    assert durable["maxConcurrentActivityFunctions"] >= 10 * durable["maxConcurrentOrchestratorFunctions"]
    assert durable.get("extendedSessionsEnabled") is False


def test_the_synchronous_lros_poll_on_the_simulators_clock_in_the_local_profile() -> None:
    from shared.azure.clients import arm_target

    local = Settings(timing_profile="local", time_scale=0.1, azure_mode="sim", sim_base_url="https://sim")
    assert arm_target(local).client_kwargs["polling_interval"] == 5.0 * 0.1
    instant = Settings(timing_profile="local", time_scale=0.0, azure_mode="sim", sim_base_url="https://sim")
    assert arm_target(instant).client_kwargs["polling_interval"] > 0
    assert arm_target(Settings(timing_profile="azure")).client_kwargs["polling_interval"] == 5.0


def test_real_vms_split_the_clock_first_looks_on_the_poll_scale_timeouts_on_the_time_scale() -> None:
    split = timing_policy(Settings(timing_profile="local", time_scale=0.1, poll_scale=0.01))
    plain = timing_policy(Settings(timing_profile="local", time_scale=0.1))
    assert split.wait_poll_seconds == TimingPolicy().wait_poll_seconds * 0.01
    assert split.max_wait_poll_seconds == 1.0 < plain.max_wait_poll_seconds
    assert split.step_wait_poll_seconds == plain.step_wait_poll_seconds
    assert split.deploy_timeout_minutes == plain.deploy_timeout_minutes
    assert split.timeout_scale == split.hint_scale == 0.1
    same = timing_policy(Settings(timing_profile="local", time_scale=0.01, poll_scale=0.01))
    assert same == timing_policy(Settings(timing_profile="local", time_scale=0.01))  # the simulation's
    from shared.azure.clients import arm_target

    sim = {"azure_mode": "sim", "sim_base_url": "https://sim"}
    real_vms = Settings(timing_profile="local", time_scale=0.1, poll_scale=0.01, **sim)
    assert arm_target(real_vms).client_kwargs["polling_interval"] == 0.05
