"""``kiln run --follow``, ``kiln logs`` and ``kiln outputs`` over HTTP against a scripted run."""

from __future__ import annotations

import io

import pytest

from cli import main as kiln
from cli.client import KilnClient
from cli.config import Connection
from cli.runs import follow_to_end
from tests.cli import fake_runs_api as fake
from tests.cli import runs_docs

pytestmark = pytest.mark.timeout(60)

ARTIFACT = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/x/images/y/versions/1.0.0"
OUTPUT = {
    "name": "ubuntu-2404-gallery",
    "properties": {"artifactId": ARTIFACT, "provisioningState": "Succeeded"},
}


def _script(*, fail: bool = False) -> fake.Script:
    docs = [runs_docs.queued(), runs_docs.customizing()]
    docs += [runs_docs.failed()] if fail else [runs_docs.distributing(), runs_docs.succeeded()]
    first = "[customize 0] apt-get update\n"
    logs = ["", first, first + "[customize 1] E: Unable to locate package jqq\nexit 100\n"]  # it grows
    return fake.Script(docs=docs, logs=logs, outputs=[OUTPUT])


def _flags(url: str, key: str = fake.KEY) -> list[str]:
    return ["--url", url, "--function-key", key, "--subscription", fake.SUB, "--resource-group", "rg"]


def _client(url: str) -> KilnClient:
    return KilnClient(Connection(url=url, function_key=fake.KEY, subscription=fake.SUB, resource_group="rg"))


def test_following_a_successful_run_ends_with_its_outputs_and_exit_code_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KILN_PROFILE", raising=False)
    script = _script()
    with fake.serve(script) as url:
        code = kiln.main(["run", "ubuntu", "--follow", "--interval", "0.01", *_flags(url)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"started run {runs_docs.RUN_ID} of ubuntu" in out
    # Not a terminal: one appended line per change, then the final block and the outputs.
    assert "Running / Customizing | phase customize Running | step customize[1] install-tools: Running" in out
    assert (
        "ubuntu-2404-gallery Running (eastus Succeeded, westeurope Replicating, southeastasia Queued)" in out
    )
    assert f"ubuntu run {runs_docs.RUN_ID}: Succeeded   elapsed 5:07" in out
    assert "run outputs:" in out
    assert f"artifactId:  {ARTIFACT}" in out
    assert f"POST {fake.BASE}/run" in script.requests


def test_following_a_failed_run_prints_its_message_and_last_log_lines_and_exits_1() -> None:
    out, err = io.StringIO(), io.StringIO()
    with fake.serve(_script(fail=True)) as url:
        code = follow_to_end(_client(url), "ubuntu", runs_docs.RUN_ID, out=out, err=err, interval=0.01)
    assert code == 1
    errors = err.getvalue().splitlines()
    assert errors[0] == (
        f"run {runs_docs.RUN_ID} ended Failed: customize[1] install-tools failed with exit code 100"
    )
    assert errors[1:] == [
        "last log lines:",
        "  [customize 0] apt-get update",
        "  [customize 1] E: Unable to locate package jqq",
        "  exit 100",
    ]
    assert "run outputs:" not in out.getvalue()


def test_a_failure_whose_message_carries_the_log_lines_prints_each_line_once() -> None:
    script = _script(fail=True)
    failed = script.docs[-1]
    failed["properties"]["message"] = (
        "Run failed during customize: customize failed at Shell customizer 1 'install-tools': exit code 100\n"
        "Last log lines:\nE: Unable to locate package jqq\nexit 100"
    )
    header = "==> [2026-11-26T10:01:58Z] customize step 1 'install-tools' attempt 1: Succeeded, exit code 100"
    script.logs = ["", f"{header}\n    E: Unable to locate package jqq\n    exit 100\n"]
    out, err = io.StringIO(), io.StringIO()
    with fake.serve(script) as url:
        code = follow_to_end(_client(url), "ubuntu", runs_docs.RUN_ID, out=out, err=err, interval=0.01)

    assert code == 1
    printed = out.getvalue() + err.getvalue()
    assert printed.count("Unable to locate package jqq") == 1, printed
    # Twice: in the final block, and in the one line saying how the run ended.
    assert printed.count("'install-tools': exit code 100") == 2
    assert err.getvalue().splitlines() == [
        f"run {runs_docs.RUN_ID} ended Failed: Run failed during customize: customize failed at Shell "
        "customizer 1 'install-tools': exit code 100",
        "last log lines:",
        f"  {header}",
    ]


def test_logs_follow_prints_the_whole_log_once_and_stops_when_the_run_is_finished(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = _script()
    script.started = True
    script.position = len(script.docs) - 1
    with fake.serve(script) as url:
        code = kiln.main(["logs", "ubuntu", "--follow", *_flags(url)])
    assert code == 0
    assert capsys.readouterr().out == script.logs[-1]


def test_outputs_lists_each_run_output_with_its_artifact(capsys: pytest.CaptureFixture[str]) -> None:
    with fake.serve(_script()) as url:
        assert kiln.main(["outputs", "ubuntu", *_flags(url)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ubuntu-2404-gallery:",
        f"  artifactId:  {ARTIFACT}",
    ]


def test_a_wrong_function_key_is_reported_as_the_hosts_arm_error_with_exit_code_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with fake.serve(_script()) as url:
        code = kiln.main(["runs", "ubuntu", *_flags(url, key="wrong")])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err[0] == "error: Unauthorized: A valid function key is required."
    assert err[1].startswith(f"  HTTP 401 (GET {url}{fake.BASE}/runs)")


def test_a_busy_host_answering_503_for_a_moment_does_not_end_the_follow() -> None:
    script = _script()
    script.busy = 3
    out, err = io.StringIO(), io.StringIO()
    with fake.serve(script) as url:
        code = follow_to_end(_client(url), "ubuntu", runs_docs.RUN_ID, out=out, err=err, interval=0.01)
    assert code == 0, err.getvalue()
    assert script.busy == 0
    assert "run outputs:" in out.getvalue()


def test_run_follows_the_run_it_started_not_an_earlier_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KILN_PROFILE", raising=False)
    script = _script()
    earlier = runs_docs.failed()
    earlier["name"] = "t0123456789abcde-run-00000"
    script.earlier = [earlier]
    with fake.serve(script) as url:
        code = kiln.main(["run", "ubuntu", "--follow", "--interval", "0.01", *_flags(url)])
    assert code == 0
    assert f"started run {runs_docs.RUN_ID} of ubuntu" in capsys.readouterr().out
