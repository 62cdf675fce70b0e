"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.azuresim import AzureSim, start_azuresim
from tests.support.azurite import Azurite, start_azurite
from tests.support.tempdirs import use_root

_BASELINE: list[leaks.Baseline] = []
_BASETEMP: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """The session's own temp dir: every process the tests start inherits it as TMPDIR."""
    private = Path(tempfile.mkdtemp(prefix="kiln-tests-"))
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = str(private)
    _BASELINE.append(leaks.Baseline(private))


@pytest.fixture(scope="session", autouse=True)
def _helper_folders(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every folder a helper makes goes under pytest's base temporary directory (removed at the end)."""
    _BASETEMP.append(str(tmp_path_factory.getbasetemp()))
    use_root(tmp_path_factory.getbasetemp() / "helpers")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left a process or a temporary file behind (docs/testing.md)."""
    if not _BASELINE:
        return
    baseline = _BASELINE[0]
    markers = (*_BASETEMP, str(baseline.temp_dir))
    processes = leaks.leftover_processes(baseline, markers)
    processes += [p for p in leaks.qemu_processes(markers) if p not in processes]
    files = leaks.leftover_files(baseline)
    shutil.rmtree(baseline.temp_dir, ignore_errors=True)
    if not processes and not files:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n".join(["tests left things behind:", *processes, *files]), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One in-memory Azurite blob service for the test session."""
    server = start_azurite()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def azuresim(azurite: Azurite) -> Iterator[AzureSim]:
    """One azuresim for the test session, its storage accounts served by the session's Azurite.

    Shared: a test that adds fault rules or latency removes them again. Tests that need a sim of their own
    (state files, restarts, a latency model) use ``with start_azuresim(...) as sim:``.
    """
    with start_azuresim(storage_connection_string=azurite.connection_string) as sim:
        yield sim
