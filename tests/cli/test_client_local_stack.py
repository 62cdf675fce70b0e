"""The local stack (Azurite + azuresim + devhost serving kiln) starts, serves the CLI, builds, and stops."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cli import main as kiln
from cli.local_seed import IDENTITIES, SUBSCRIPTION
from cli.local_stack import LocalStack, stop_recorded
from tests.support.devhost import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _quiet(*args: object) -> None:
    return


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = LocalStack(tmp_path_factory.mktemp("local"), latency_scale=0.01).start(log=_quiet)
    running.seed()
    try:
        yield running
    finally:
        running.stop()


def _flags(stack: LocalStack) -> list[str]:
    conn = stack.connection()
    flags = ["--url", conn.url, f"--function-key={conn.function_key}", "--ca-file", str(conn.ca_file)]
    return [*flags, "--subscription", conn.subscription, "--resource-group", str(conn.resource_group)]


def _exited(processes: list[subprocess.Popen[str]], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.poll() is not None for p in processes):
            return True
        time.sleep(0.1)
    return False


def test_start_serves_kiln_over_https_and_writes_a_profile_the_cli_reads(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [p.name for p in stack.procs] == ["azurite", "azuresim", "devhost"]
    assert all(p.alive() for p in stack.procs)
    profile = stack.state / "kiln.env"
    text = profile.read_text()
    assert profile.stat().st_mode & 0o777 == 0o600  # it holds the function key
    assert f"export KILN_SUBSCRIPTION={SUBSCRIPTION}" in text
    assert "export KILN_URL=https://127.0.0.1:" in text
    monkeypatch.setenv("KILN_PROFILE", str(profile))
    assert kiln.main(["template", "list"]) == 0
    assert capsys.readouterr().out == "no image templates in rg-image-templates\n"
    pids = json.loads((stack.state / "pids.json").read_text())
    assert pids == {p.name: p.process.pid for p in stack.procs}


def test_the_function_app_runs_in_sim_mode_against_the_seeded_azuresim(stack: LocalStack) -> None:
    settings = stack.kiln_settings()
    assert settings["KILN_AZURE_MODE"] == "sim"
    assert settings["KILN_TIMING_PROFILE"] == "local"
    arm = stack.sim_arm()
    for identity in IDENTITIES:
        path = arm.path("rg-image-builder", f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}")
        got = requests.get(
            f"{arm.base_url}{path}?api-version=2023-01-31",
            headers={"Authorization": "Bearer t"},
            verify=arm.ca_file,
            timeout=10,
        )
        assert got.status_code == 200, got.text


def test_an_example_builds_end_to_end_with_live_progress_and_run_outputs(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = _flags(stack)
    example = REPO / "examples" / "ubuntu-2404-gallery-3-regions.json"
    assert kiln.main(["template", "create", str(example), "--name", "ubuntu", *flags]) == 0
    code = kiln.main(["run", "ubuntu", "--follow", "--interval", "0.3", *flags])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "ubuntu run " in out and ": Succeeded" in out
    assert "run outputs:" in out
    assert "ubuntu-2404-gallery:" in out
    assert "/galleries/gal_platform_images/images/ubuntu-2404-gen2/versions/" in out
    assert kiln.main(["logs", "ubuntu", *flags]) == 0
    log = capsys.readouterr().out
    assert "customize step 0 'upgrade-packages' (Shell)" in log
    assert "customize step 1 'install-tools' (Shell)" in log
    assert kiln.main(["runs", "ubuntu", "--output", "json", *flags]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["properties"]["runState"] for r in runs] == ["Succeeded"]


def test_a_run_in_flight_is_canceled_and_listed_as_canceled(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = _flags(stack)
    example = REPO / "examples" / "windows-2022-updates.json"
    assert kiln.main(["template", "create", str(example), "--name", "win", *flags]) == 0
    assert kiln.main(["run", "win", *flags]) == 0
    assert kiln.main(["cancel", "win", "--wait", *flags]) == 0
    out = capsys.readouterr().out
    assert "cancel of win accepted" in out and "cancel finished: Succeeded" in out
    assert kiln.main(["runs", "win", *flags]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split()[:3] == ["RUN", "STATE", "SUBSTATE"]
    assert rows[1].split()[1] == "Canceled"


def test_stop_ends_every_process_and_removes_the_profile(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, latency_scale=0.01).start(log=_quiet)
    processes = [p.process for p in stack.procs]
    stack.stop()
    assert _exited(processes)
    assert all(p.returncode is not None for p in processes)
    assert not (tmp_path / "kiln.env").exists() and not (tmp_path / "pids.json").exists()


def test_down_stops_what_up_left_running(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, latency_scale=0.01).start(log=_quiet)
    processes = [p.process for p in stack.procs]
    assert stop_recorded(tmp_path) == ["devhost", "azuresim", "azurite"]
    assert _exited(processes)
    assert not (tmp_path / "pids.json").exists()
    assert stop_recorded(tmp_path) == []
