"""Golden tests: the text of every kind of Run Command a build sends is pinned in tests/golden/runcommands/.

One file per customizer mode (Shell, PowerShell as the admin user not elevated, elevated, as LocalSystem,
File, WindowsRestart's mark / proof / check, WindowsUpdate, deprovision), inline and staged. After an intended
change, regenerate and review the diff: ``KILN_REGENERATE_GOLDEN=1 pytest tests/golden -q``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from activities.support import scripts
from shared import naming

GOLDEN = Path(__file__).parent / "runcommands"
STAGED = scripts.Fetch(
    url="https://kilnstaging0123456789.blob.core.windows.net/artifacts/run-1/customize/0?sv=2024-08-04&sp=r&sig=SIG",
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
)
INLINE_SH = scripts.inline_shell(["apt-get update", "echo 'done'"])
INLINE_PS = scripts.inline_powershell(["Install-WindowsFeature Web-Server", "Write-Output 'done'"])
ADMIN = naming.ADMIN_USERNAME
LABEL = "customize step 0 'setup' attempt 0"

CASES: dict[str, Callable[[], str]] = {
    "shell_inline.sh": lambda: scripts.shell_script(LABEL, INLINE_SH),
    "shell_staged.sh": lambda: scripts.shell_script(LABEL, STAGED),
    "file_linux_staged.sh": lambda: scripts.file_script(LABEL, STAGED, "/tmp/app.tar.gz", windows=False),
    "file_windows_staged.ps1": lambda: scripts.file_script(LABEL, STAGED, r"C:\app\app.zip", windows=True),
    "powershell_default_inline.ps1": lambda: scripts.powershell_as_user(
        LABEL, INLINE_PS, user=ADMIN, elevated=False
    ),
    "powershell_elevated_staged.ps1": lambda: scripts.powershell_as_user(
        LABEL, STAGED, user=ADMIN, elevated=True
    ),
    "powershell_system_inline.ps1": lambda: scripts.powershell_script(LABEL, INLINE_PS),
    "windows_restart_mark.ps1": lambda: scripts.restart_mark_script(LABEL, None, windows=True),
    "windows_restart_mark_custom.ps1": lambda: scripts.restart_mark_script(
        LABEL, 'shutdown /r /f /t 5 /c "kiln restart"', windows=True
    ),
    "windows_restart_proof.ps1": lambda: scripts.restart_proof_script(LABEL, windows=True),
    "linux_restart_mark.sh": lambda: scripts.restart_mark_script(LABEL, None, windows=False),
    "linux_restart_proof.sh": lambda: scripts.restart_proof_script(LABEL, windows=False),
    "windows_restart_check.ps1": lambda: scripts.restart_check_script(LABEL, "Get-Service W3SVC"),
    "windows_update.ps1": lambda: scripts.windows_update_script(
        LABEL, "IsInstalled=0", ["exclude:$_.Title -like '*Preview*'", "include:$true"], 20
    ),
    "deprovision_linux.sh": lambda: scripts.deprovision_script(windows=False),
    "deprovision_windows.ps1": lambda: scripts.deprovision_script(windows=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_command_body_matches_golden(name: str) -> None:
    body = CASES[name]()
    path = GOLDEN / name
    if os.environ.get("KILN_REGENERATE_GOLDEN"):
        path.write_text(body)
    assert path.exists(), f"no golden file {path}; regenerate with KILN_REGENERATE_GOLDEN=1"
    assert body == path.read_text(), f"{name} changed; regenerate with KILN_REGENERATE_GOLDEN=1 and review"


def test_every_golden_file_has_its_case() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(CASES)


def test_no_body_carries_a_password_and_only_the_as_user_ones_take_it_as_a_parameter() -> None:
    for name, make in CASES.items():
        body = make()
        takes = body.startswith(f"param([string]${scripts.PASSWORD_PARAMETER})")
        assert takes == name.startswith(("powershell_default", "powershell_elevated")), name
        assert "kilnadmin:" not in body or takes, name
