"""The local demo: offline substitutions of internet downloads, and the whole main job on one example."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import local_stack
from cli.local_artifacts import ArtifactServer, localize
from tests.support.devhost import REPO

RHEL = REPO / "examples" / "rhel-planinfo-vhd.json"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ArtifactServer]:
    running = ArtifactServer(tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.timeout(30)
def test_downloads_are_served_locally_over_https_with_their_checksum_recomputed(
    server: ArtifactServer,
) -> None:
    original = json.loads(RHEL.read_text())
    body, notes = localize(original, server, "rhel")
    step = body["properties"]["customize"][0]
    assert step["sourceUri"].startswith(server.url + "/rhel-")
    context = ssl.create_default_context(cafile=str(server.ca_file))
    with urllib.request.urlopen(step["sourceUri"], context=context, timeout=10) as resp:
        content = resp.read()
    assert hashlib.sha256(content).hexdigest() == step["sha256Checksum"]
    assert original["properties"]["customize"][0]["sourceUri"] in content.decode()
    assert "uri" not in body["properties"]["distribute"][0]
    assert original["properties"]["distribute"][0]["uri"].startswith("https://stimageexports001.")
    assert len(notes) == 2 and "offline copy" in notes[0] and "staging storage account" in notes[1]


def test_the_trust_bundle_holds_the_system_cas_and_the_artifact_ca(server: ArtifactServer) -> None:
    bundle = server.bundle.read_bytes()
    assert server.ca_file.read_bytes() in bundle
    assert bundle.count(b"BEGIN CERTIFICATE") > 1


def test_templates_without_downloads_are_left_as_they_are(server: ArtifactServer) -> None:
    original = json.loads((REPO / "examples" / "ubuntu-2404-gallery-3-regions.json").read_text())
    assert localize(original, server, "u") == (original, [])


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_the_demo_builds_an_example_prints_its_outputs_and_stops_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "local"
    argv = ["demo", "--state-dir", str(state), "--example", "existing-subnet-identities"]
    code = local_stack.main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("LOCAL MODE: Azure is SIMULATED by azuresim.")
    assert "existing-subnet-identities run " in out and ": Succeeded" in out
    assert "/resourceGroups/rg-images/providers/Microsoft.Compute/images/ubuntu-2204-private" in out
    assert "local stack stopped (devhost, azuresim, Azurite)" in out
    assert out.rstrip().splitlines()[-1].split()[:2] == ["existing-subnet-identities", "Succeeded"]
    assert not (state / "pids.json").exists()


@pytest.mark.e2e
@pytest.mark.timeout(180)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
def test_ctrl_c_or_closing_the_terminal_during_a_build_stops_every_process_of_the_stack(
    tmp_path: Path, signum: signal.Signals
) -> None:
    state = tmp_path / "local"
    argv = [sys.executable, "-m", "cli.local_stack", "demo", "--state-dir", str(state)]
    demo = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert demo.stdout is not None
    for line in demo.stdout:  # wait until the first build is being followed
        if line.startswith("started run "):
            break
    pids = json.loads((state / "pids.json").read_text())
    demo.send_signal(signum)
    rest = demo.stdout.read()
    assert demo.wait(60) == 130
    assert "interrupted: stopping the local stack" in rest
    assert not (state / "pids.json").exists()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
