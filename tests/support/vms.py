"""Real build VMs for the ``vm`` tests: the Debian 12 base image (built once per machine, cached outside the
repository) and an azuresim with the QEMU compute backend whose VM folder the tests can inspect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from azuresim.qemu import images, machine
from tests.support import leaks
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.tempdirs import new_dir


def base_image() -> images.LocalImage:
    """The Debian 12 base, built on first use; the test is skipped on a machine without QEMU, unless
    ``KILN_REQUIRE_VMS=1`` (set by ``scripts/check.sh``, whose setup installs QEMU): then it fails."""
    if not machine.installed() or images.missing_tools():
        why = "QEMU or the base image tools are not installed (scripts/setup.sh installs them)"
        if os.environ.get("KILN_REQUIRE_VMS") == "1":
            pytest.fail(f"KILN_REQUIRE_VMS=1 but {why}: missing {images.missing_tools() or ['qemu']}")
        pytest.skip(why)
    return images.ensure_base()


@contextmanager
def qemu_sim(storage_connection_string: str) -> Iterator[tuple[AzureSim, Path]]:
    """azuresim with ``--compute qemu``; on the way out, the check that it left no QEMU process or disk."""
    base_image()
    vm_dir = new_dir("vms-")
    sim = start_azuresim(
        storage_connection_string=storage_connection_string,
        extra_args=["--compute", "qemu", "--vm-dir", str(vm_dir), "--image-cache", str(images.cache_dir())],
        timeout=60,
    )
    try:
        yield sim, vm_dir
    finally:
        sim.stop()
    # Without a state file its resources end with it, and so do their processes and files.
    assert leaks.qemu_processes((str(vm_dir),)) == []
    assert leaks.vm_files(vm_dir) == []


def assert_nothing_left(vm_dir: Path) -> None:
    """No QEMU process of this azuresim and no disk, image, export or VM folder under its VM folder."""
    assert leaks.qemu_processes((str(vm_dir),)) == []
    assert leaks.vm_files(vm_dir) == []
