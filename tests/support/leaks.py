"""What a test session must not leave behind: processes it started, and files in the temp dir.

``tests/conftest.py`` gives the session a temp dir of its own (``TMPDIR`` for every process it starts, and
``tempfile``'s default here), so what another checkout's tests do on this machine cannot be mistaken for
ours. At the end ``leftover_processes`` finds a child still running, or a process started since that names
the session's folders (as a QEMU process of a killed azuresim would after it escaped to init), and
``leftover_files`` whatever is in the session's temp dir besides pytest's own folders, which pytest removes.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class Baseline:
    temp_dir: Path
    started: float = field(default_factory=time.time)


def leftover_processes(baseline: Baseline, markers: tuple[str, ...]) -> list[str]:
    """Processes of this session still alive: our children, and any started since that names a marker."""
    me = psutil.Process()
    found = {p.pid: p for p in me.children(recursive=True)}
    for proc in psutil.process_iter(["pid", "create_time", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            # create_time counts from the boot time in whole seconds: allow for that much.
            recent = (proc.info["create_time"] or 0) >= baseline.started - 2
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if recent and proc.pid != me.pid and any(m and m in cmdline for m in markers):
            found[proc.pid] = proc
    described = []
    for pid, proc in sorted(found.items()):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            described.append(f"pid {pid}: {' '.join(proc.cmdline())[:160]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return described


def qemu_processes(markers: tuple[str, ...]) -> list[str]:
    """QEMU processes whose command line names one of ``markers`` (a VM folder, a session's folders),
    however old and whoever their parent: a QEMU process that outlived its VM resource or its azuresim."""
    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "qemu-system" not in cmdline or proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if any(m and m in cmdline for m in markers):
            found.append(f"pid {proc.pid}: {cmdline[:160]}")
    return found


def vm_files(vm_dir: Path) -> list[str]:
    """Disks, images, exports and VM folders azuresim's QEMU backend still keeps under ``vm_dir``."""
    if not vm_dir.is_dir():
        return []
    return sorted(str(p) for sub in vm_dir.iterdir() if sub.is_dir() for p in sub.iterdir())


def leftover_files(baseline: Baseline) -> list[str]:
    """What is in the session's temp dir besides pytest's base temporary folders."""
    pytest_own = {f"pytest-of-{getpass.getuser()}"}
    if not baseline.temp_dir.is_dir():
        return []
    return sorted(str(p) for p in baseline.temp_dir.iterdir() if p.name not in pytest_own)
