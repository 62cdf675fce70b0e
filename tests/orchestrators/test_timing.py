"""The local timing profile is Azure's policy on the simulator's clock."""

from __future__ import annotations

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
