"""A new user's first hour: the commands of README.md in a fresh shell, and each trap found there, closed.

A fresh shell here is ``env -i`` with only HOME, PATH (the system's), LANG and the suite's TMPDIR: no
``.venv`` active, no ``KILN_*`` variable.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cli import config, project_env
from cli import main as kiln
from cli.local_demo import DEMO_MARK, prepare_state
from cli.local_procs import StackError
from cli.local_stack import DEFAULT_DEMO_STATE, DEFAULT_STATE, default_state, recorded_running
from tests.cli import fake_runs_api as fake
from tests.cli import runs_docs
from tests.support.devhost import REPO

EXAMPLE = REPO / "examples" / "ubuntu-2404-gallery-3-regions.json"


def fresh_shell(script: str, *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``script`` in bash as a new terminal would run it, from the repository's root."""
    env = {
        "HOME": os.environ.get("HOME", "/root"),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ["TMPDIR"],
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- the entry points ------------------------------------------------------------------------------------
def test_kiln_is_on_path_after_the_one_line_readme_gives() -> None:
    done = fresh_shell(". .venv/bin/activate && kiln --help && kiln validate " + str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "usage: kiln" in done.stdout and "valid" in done.stdout


def test_python_m_cli_without_the_venv_runs_under_the_projects_venv() -> None:
    done = fresh_shell(f"/usr/bin/python3 -m cli validate {EXAMPLE}")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "valid" in done.stdout


def test_local_stack_commands_without_the_venv_say_what_to_run_instead_of_a_traceback(tmp_path: Path) -> None:
    done = fresh_shell(f"/usr/bin/python3 -m cli.local_stack env --state-dir {tmp_path}")
    assert done.returncode == 1
    assert done.stderr == "the local stack is not running (python -m cli.local_stack up)\n"


def test_without_a_venv_the_command_says_to_run_setup(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(project_env, "NEEDED", ("kiln_no_such_module",))
    monkeypatch.setattr(project_env, "VENV_PYTHON", REPO / "no-venv" / "bin" / "python")
    with pytest.raises(SystemExit) as exit_:
        project_env.ensure_project_python("cli", [])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "missing kiln_no_such_module" in err
    assert "run scripts/setup.sh (it creates .venv), then `. .venv/bin/activate`" in err


def test_in_the_venv_nothing_is_started_again() -> None:
    assert project_env.missing_modules() == []
    project_env.ensure_project_python("cli", [])  # returns: this process is the project's Python


# -- the demo keeps a user's stack ----------------------------------------------------------------------
def test_the_demo_and_up_have_their_own_state_folders() -> None:
    assert default_state("demo") == DEFAULT_DEMO_STATE == REPO / ".state" / "demo"
    assert default_state("up") == default_state("down") == default_state("env") == DEFAULT_STATE


def test_the_demo_never_empties_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "local"
    (mine / "azurite").mkdir(parents=True)
    (mine / "azuresim.json").write_text("{}")
    with pytest.raises(StackError, match="holds a local stack the demo did not make"):
        prepare_state(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["azuresim.json", "azurite"]


def test_the_demo_starts_again_from_an_empty_folder_of_its_own(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    prepare_state(demo)
    assert (demo / DEMO_MARK).is_file()
    (demo / "azuresim.json").write_text("{}")
    prepare_state(demo)
    assert [p.name for p in demo.iterdir()] == [DEMO_MARK]


def test_a_record_of_processes_that_are_all_gone_does_not_block_up(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "pids.json").write_text(json.dumps({"azurite": gone.pid}))
    (tmp_path / "kiln.env").write_text("export KILN_URL=https://127.0.0.1:1\n")
    assert not recorded_running(tmp_path)
    assert not (tmp_path / "pids.json").exists() and not (tmp_path / "kiln.env").exists()
    (tmp_path / "pids.json").write_text(json.dumps({"azurite": gone.pid, "me": os.getpid()}))
    assert recorded_running(tmp_path)


# -- stale settings --------------------------------------------------------------------------------------
def test_an_environment_variable_that_disagrees_with_the_profile_is_warned_about(tmp_path: Path) -> None:
    profile = tmp_path / "kiln.env"
    profile.write_text(
        "export KILN_URL=https://127.0.0.1:7001\nexport KILN_FUNCTION_KEY=k\nexport KILN_SUBSCRIPTION=s\n"
    )
    warnings: list[str] = []
    env = {"KILN_PROFILE": str(profile), "KILN_URL": "https://127.0.0.1:6999"}
    conn = config.resolve(argparse.Namespace(), env, warn=warnings.append)
    assert conn.url == "https://127.0.0.1:6999"
    assert warnings == [
        f"warning: $KILN_URL from the environment differ(s) from {profile}; the environment wins. If that is "
        f"an old export, `unset KILN_URL` (or `. {profile}`)."
    ]
    same = {"KILN_PROFILE": str(profile), "KILN_URL": "https://127.0.0.1:7001"}
    config.resolve(argparse.Namespace(), same, warn=warnings.append)
    config.resolve(argparse.Namespace(url="https://x"), env, warn=warnings.append)  # a flag is meant
    assert len(warnings) == 1


# -- runs and logs ---------------------------------------------------------------------------------------
def _flags(url: str) -> list[str]:
    return ["--url", url, "--function-key", fake.KEY, "--subscription", fake.SUB, "--resource-group", "rg"]


def test_runs_shows_a_substate_only_while_the_run_is_in_flight(capsys: pytest.CaptureFixture[str]) -> None:
    done = runs_docs.succeeded()
    done["properties"]["runSubState"] = "Distributing"  # as AIB (and kiln's API) keeps it
    script = fake.Script(docs=[runs_docs.distributing()], logs=[""], earlier=[done])
    script.started = True
    with fake.serve(script) as url:
        assert kiln.main(["runs", "ubuntu", *_flags(url)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0][:3] == ["RUN", "STATE", "SUBSTATE"]
    assert rows[1][1:3] == ["Running", "Distributing"]
    assert rows[2][1:3] == ["Succeeded", "-"]


def test_logs_of_a_run_that_wrote_none_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    failed = runs_docs.failed()
    script = fake.Script(docs=[failed], logs=[""])
    script.started = True
    with fake.serve(script) as url:
        assert kiln.main(["logs", "ubuntu", *_flags(url)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"run {runs_docs.RUN_ID} of ubuntu has no customization.log (it ended Failed: ")
    assert err.endswith("the log is written once the build VM runs customizers\n")


def test_logs_of_a_run_in_flight_without_a_log_yet_says_to_follow(capsys: pytest.CaptureFixture[str]) -> None:
    script = fake.Script(docs=[runs_docs.queued(), runs_docs.queued()], logs=[""])
    script.started = True
    with fake.serve(script) as url:
        assert kiln.main(["logs", "ubuntu", *_flags(url)]) == 0
    err = capsys.readouterr().err
    assert err == (
        f"run {runs_docs.RUN_ID} of ubuntu has written no log yet (Running / Queued); "
        "`kiln logs ubuntu --follow` waits for it\n"
    )


# -- --param ---------------------------------------------------------------------------------------------
def test_a_misspelt_param_is_an_error_naming_it_and_the_files_placeholders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.json"
    body = json.loads(EXAMPLE.read_text())
    body["location"] = "<region>"
    body["properties"]["vmProfile"]["vmSize"] = "[parameters('vmSize')]"
    template.write_text(json.dumps(body))
    assert kiln.main(["validate", str(template), "--param", "regoin=eastus"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"kiln validate: --param regoin: no [parameters('…')], [variables('…')] or <…> placeholder of that "
        f"name in {template} (its placeholders: region, vmsize)\n"
    )
    assert kiln.main(["validate", str(template), "--param", "REGION=eastus", "--param", "vmSize=x"]) == 0
    unreachable = ["--url", "http://127.0.0.1:9", "--function-key", "k", "--subscription", "s", "-g", "g"]
    assert kiln.main(["template", "create", str(template), "--param", "regoin=eastus", *unreachable]) == 2
    assert capsys.readouterr().err.startswith("error: --param regoin: no [parameters(")  # before any request


# -- setup -----------------------------------------------------------------------------------------------
def test_setup_is_silent_when_everything_is_installed() -> None:
    done = fresh_shell("scripts/setup.sh")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_setup_shows_an_installers_output_only_when_it_fails(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    failing = tmp_path / "python3"
    failing.write_text("#!/bin/sh\necho 'Error: no room left on the device' >&2\nexit 3\n")
    failing.chmod(0o755)
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "setup.sh")],
        env={**os.environ, "PYTHON": str(failing)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == f"[setup] failed: {failing} -m venv .venv\nError: no room left on the device\n"


# -- the local stack in a fresh shell --------------------------------------------------------------------
def _profile(state: Path) -> dict[str, str]:
    return config.read_profile(state / "kiln.env")


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_up_keeps_its_ports_and_truncates_its_logs_across_restarts_in_a_fresh_shell(tmp_path: Path) -> None:
    state = tmp_path / "local"
    up = f"/usr/bin/python3 -m cli.local_stack up --state-dir {state}"
    down = f"/usr/bin/python3 -m cli.local_stack down --state-dir {state}"
    first = fresh_shell(up)
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Traceback" not in first.stderr
        url = _profile(state)["KILN_URL"]
        assert f"  web page  {url}/web/?code=" in first.stdout
        ports = json.loads((state / "ports.json").read_text())
        assert set(ports) == {"azurite", "azuresim", "devhost"}
    finally:
        assert fresh_shell(down).returncode == 0
    logs = sorted(p.name for p in state.glob("*.log")) + sorted(p.name for p in state.glob("*.out"))
    assert logs == [f"{n}.{ext}" for ext in ("log", "out") for n in ("azuresim", "azurite", "devhost")]
    for name in logs:
        with (state / name).open("a") as f:
            f.write("Traceback (most recent call last): an old one\n")
    second = fresh_shell(up)
    try:
        assert second.returncode == 0, second.stdout + second.stderr
        assert _profile(state)["KILN_URL"] == url  # the exports printed the first time are still right
        assert json.loads((state / "ports.json").read_text()) == ports
        for name in logs:
            assert "an old one" not in (state / name).read_text(), name
        listed = fresh_shell(f". .venv/bin/activate && kiln template list --profile {state / 'kiln.env'}")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout == "no image templates in rg-image-templates\n"
    finally:
        assert fresh_shell(down).returncode == 0
