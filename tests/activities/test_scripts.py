"""shared/scripts.py: what a step runs, and the values the build reads back from it."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest

from activities.support import scripts
from shared.models.fields import duration_seconds


def _payload(script: str, opener: str, closer: str) -> bytes:
    body = re.search(re.escape(opener) + r"\n(.*?)\n" + re.escape(closer), script, re.S)
    assert body is not None
    return base64.b64decode(body.group(1))


def test_restart_timeouts_are_read_as_go_durations() -> None:
    assert duration_seconds("5m") == 300
    assert duration_seconds("1h30m") == 5400
    assert duration_seconds("90s") == 90
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("5 minutes")


def test_the_last_windows_update_line_wins() -> None:
    output = (
        "KILN-WU installed=1 remaining=4 reboot=true\nnoise\nKILN-WU installed=4 remaining=0 reboot=false\n"
    )

    assert scripts.parse_update_line(output) == (4, 0, False)
    assert scripts.parse_update_line("no result") is None


def test_powershell_scripts_travel_base64_and_exit_with_the_scripts_code() -> None:
    content = scripts.inline_powershell(["Write-Host 'it''s'", "choco install git"])

    script = scripts.powershell_script("customize step 1", content)

    assert _payload(script, "$b = @'", "'@") == content
    assert content.endswith(b"exit $LASTEXITCODE\n")
    assert "run as: LocalSystem" in script
    assert script.rstrip().endswith("exit $LASTEXITCODE")


def test_powershell_as_the_admin_user_runs_in_a_scheduled_task_at_the_asked_run_level() -> None:
    content = scripts.inline_powershell(["Write-Output hi"])

    default = scripts.powershell_as_user("s", content, user="kilnadmin", elevated=False)
    elevated = scripts.powershell_as_user("s", content, user="kilnadmin", elevated=True)

    for script in (default, elevated):
        assert script.startswith("param([string]$KilnPassword)\n")  # the first statement: a parameter
        assert _payload(script, "$b = @'", "'@") == content
        assert "Register-ScheduledTask @registered -User $user -Password $KilnPassword" in script
        assert "$user = 'kilnadmin'" in script
        assert "Unregister-ScheduledTask" in script.split("} finally {")[-1]
    assert "RunLevel = 'Limited'" in default and "not elevated" in default
    assert "RunLevel = 'Highest'" in elevated and "(run as: kilnadmin, elevated)" in elevated


def test_windows_deprovision_prefers_the_users_script_then_waits_for_oobe_seal() -> None:
    script = scripts.deprovision_script(windows=True)

    assert script.index(r"C:\DeprovisioningScript.ps1") < script.index(
        "Sysprep.exe /oobe /generalize /quiet /quit"
    )
    assert "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" in script


def test_windows_file_steps_write_the_exact_bytes_to_the_destination() -> None:
    script = scripts.file_script("f", b"\x00\x01binary", r"C:\it's\f.bin", windows=True)

    assert _payload(script, "$b = @'", "'@") == b"\x00\x01binary"
    assert r"WriteAllBytes('C:\it''s\f.bin'" in script


def _bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.timeout(60)
def test_a_rendered_shell_step_stops_at_the_first_failing_inline_line_and_keeps_its_exit_code() -> None:
    done = _bash(
        scripts.shell_script("t", scripts.inline_shell(["echo one", "sh -c 'exit 7'", "echo never"]))
    )

    assert (done.returncode, done.stdout) == (7, "one\n")


@pytest.mark.timeout(60)
def test_a_staged_script_without_shebang_runs_under_bash() -> None:
    done = _bash(scripts.shell_script("t", b"arr=(a b); echo ${#arr[@]}\n"))

    assert (done.returncode, done.stdout) == (0, "2\n")


@pytest.mark.timeout(60)
def test_a_rendered_linux_file_step_writes_the_exact_bytes(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"

    done = _bash(scripts.file_script("t", bytes(range(256)), str(target), windows=False))

    assert done.returncode == 0 and target.read_bytes() == bytes(range(256))
