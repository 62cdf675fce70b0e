"""The end-of-session check (tests/support/leaks.py) sees a process and a temp folder a test left behind."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import leaks


def test_a_child_still_running_is_a_leftover_until_it_is_stopped(tmp_path: Path) -> None:
    baseline = leaks.Baseline(tmp_path)
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert any(f"pid {child.pid}:" in line for line in leaks.leftover_processes(baseline, ()))
    finally:
        child.kill()
        child.wait()
    assert not any(f"pid {child.pid}:" in line for line in leaks.leftover_processes(baseline, ()))


def test_a_process_that_escaped_to_init_is_found_by_the_folder_it_names(tmp_path: Path) -> None:
    baseline = leaks.Baseline(tmp_path)
    marker = str(tmp_path / "vm-disk.qcow2")
    # The shell exits at once; its child (re-parented to init) keeps the marker in its command line.
    sleeper = f"{sys.executable} -c 'import time; time.sleep(30)' {marker}"
    subprocess.run(["sh", "-c", f"{sleeper} >/dev/null 2>&1 &"], check=True)
    found: list[str] = []
    for _ in range(50):  # the background child may not have started yet
        found = [line for line in leaks.leftover_processes(baseline, (marker,)) if marker in line]
        if found:
            break
        time.sleep(0.05)
    assert found
    pid = int(found[0].split(":")[0].removeprefix("pid "))
    subprocess.run(["kill", str(pid)], check=True)


def test_anything_left_in_the_sessions_temp_dir_is_a_leftover_but_pytests_own_folders(tmp_path: Path) -> None:
    baseline = leaks.Baseline(tmp_path)
    (tmp_path / f"pytest-of-{getpass.getuser()}").mkdir()
    assert leaks.leftover_files(baseline) == []
    left = Path(tempfile.mkdtemp(prefix="devhost-state-", dir=tmp_path))

    assert leaks.leftover_files(baseline) == [str(left)]


def test_the_session_runs_in_a_temp_dir_of_its_own() -> None:
    assert Path(tempfile.gettempdir()).name.startswith("kiln-tests-")
    assert os.environ["TMPDIR"] == tempfile.gettempdir()
