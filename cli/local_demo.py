"""The main job in local mode: create and build every template of ``examples/`` against a local kiln, with
the ``kiln`` CLI (in-process), showing live progress; then stop everything (also on Ctrl-C)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from cli import main as kiln
from cli.local_artifacts import ArtifactServer, localize
from cli.local_procs import REPO, StackError, responds
from cli.local_stack import SIMULATED, LocalStack, recorded_running
from cli.runs import INTERRUPTED

EXAMPLES = REPO / "examples"
# Dependencies first: chained-gallery builds on the version ubuntu-2404-gallery-3-regions publishes.
ORDER = (
    "ubuntu-2404-gallery-3-regions",
    "chained-gallery",
    "trusted-launch-gen2",
    "existing-subnet-identities",
    "windows-2022-updates",
    "rhel-planinfo-vhd",
)
RULE = "=" * 100


def banner(text: str) -> None:
    print(f"\n{RULE}\n{text}\n{RULE}", flush=True)


def example_files(only: list[str]) -> list[Path]:
    files = {p.stem: p for p in sorted(EXAMPLES.glob("*.json"))}
    unknown = [name for name in only if name not in files]
    if unknown:
        raise StackError(f"unknown example(s) {', '.join(unknown)}; there are {', '.join(files)}")
    ordered = [files[s] for s in ORDER if s in files] + [p for s, p in files.items() if s not in ORDER]
    return [p for p in ordered if not only or p.stem in only]


def connection_flags(stack: LocalStack) -> list[str]:
    conn = stack.connection()
    flags = ["--url", conn.url, "--function-key", conn.function_key, "--subscription", conn.subscription]
    flags += ["--resource-group", conn.resource_group or ""]
    return flags + (["--ca-file", conn.ca_file] if conn.ca_file else [])


def offline_copy(path: Path, state: Path, server: ArtifactServer) -> Path:
    """The example itself, or a copy whose internet downloads are served locally (the changes printed)."""
    body, notes = localize(json.loads(path.read_text(encoding="utf-8")), server, path.stem)
    if not notes:
        return path
    copy = state / "templates" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(body, indent=2), encoding="utf-8")
    print(f"offline: {path.name} downloads from the internet; the demo builds {copy} instead:")
    for note in notes:
        print(f"  {note}")
    return copy


def build_example(stack: LocalStack, path: Path, server: ArtifactServer) -> str:
    """``kiln template create`` then ``kiln run --follow``; the outcome word for the summary."""
    name = path.stem
    flags = connection_flags(stack)
    banner(f"{name}:  kiln template create {path.relative_to(REPO)} --name {name}")
    source = offline_copy(path, stack.state, server)
    if kiln.main(["template", "create", str(source), "--name", name, *flags]) != 0:
        return "not created"
    banner(f"{name}:  kiln run {name} --follow")
    started = time.monotonic()
    code = kiln.main(["run", name, "--follow", "--interval", "0.5", *flags])
    if code == INTERRUPTED:  # `kiln run` stops following on Ctrl-C; the demo stops altogether
        raise KeyboardInterrupt
    check_alive(stack)
    took = time.monotonic() - started
    return f"{'Succeeded' if code == 0 else 'FAILED'} in {took:.1f}s"


def check_alive(stack: LocalStack) -> None:
    """A process of the stack that died or hangs explains a failure better than the client's timeout."""
    for proc in stack.procs:
        if not proc.alive():
            raise StackError(
                f"{proc.name} exited unexpectedly (code {proc.process.returncode}); the end of "
                f"{proc.log_path}:\n{proc.log_tail(12)}"
            )
    host, sim = stack.proc("devhost").info, stack.proc("azuresim").info
    probes = {
        "azurite": (stack.proc("azurite").info["blobEndpoint"] + "?comp=list", None),
        "azuresim": (sim["base_url"] + "/_sim/health", sim["ca_file"]),
        "devhost": (host["baseUrl"] + "/healthz", host.get("caFile")),
    }
    for name, (url, ca_file) in probes.items():
        if not responds(url, ca_file=ca_file):
            log = stack.proc(name).log_path
            raise StackError(f"{name} stopped answering; the end of {log}:\n{stack.proc(name).log_tail(12)}")


def build_all(stack: LocalStack, files: list[Path], server: ArtifactServer, results: dict[str, str]) -> None:
    """Build each example in turn; stop at the first one that kills a process of the stack."""
    for path in files:
        try:
            results[path.stem] = build_example(stack, path, server)
        except StackError as e:
            results[path.stem] = "FAILED: " + str(e).splitlines()[0]
            raise


DEMO_MARK = ".kiln-demo"  # the demo empties only a folder it made itself


def prepare_state(state: Path) -> None:
    """An empty state folder for the demo (so it can run again and again); never a stack made by ``up``."""
    if recorded_running(state):
        raise StackError(
            f"a local stack recorded in {state} is running: `python -m cli.local_stack down` first"
        )
    if state.exists() and any(state.iterdir()):
        if not (state / DEMO_MARK).is_file():
            raise StackError(
                f"{state} holds a local stack the demo did not make (templates and history of "
                "`python -m cli.local_stack up`); the demo keeps it: give the demo another --state-dir"
            )
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    (state / DEMO_MARK).write_text("made by python -m cli.local_stack demo; emptied at its next start\n")


def demo(args: argparse.Namespace) -> int:
    """Start the stack, seed azuresim, build each example, print a summary, stop (also on Ctrl-C)."""
    files = example_files(args.example)
    print(SIMULATED, flush=True)
    prepare_state(args.state_dir)
    server = ArtifactServer(args.state_dir)
    devhost_env = {"SSL_CERT_FILE": str(server.bundle)}  # kiln's fetcher then trusts the artifact server
    stack = LocalStack(args.state_dir, latency_scale=args.latency_scale, devhost_env=devhost_env)
    results: dict[str, str] = {}
    try:
        print("starting the local stack:", flush=True)
        stack.start()
        seeded = stack.seed()
        print(
            f"  created in azuresim what the examples expect: {len(seeded)} resources "
            "(resource groups, identities, a VNet with two subnets, a gallery and 4 image definitions)"
        )
        build_all(stack, files, server, results)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the local stack", file=sys.stderr, flush=True)
        return INTERRUPTED
    except StackError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        if not any(o.startswith("FAILED: ") for o in results.values()):  # not an example's own failure
            results["(local stack)"] = "FAILED: " + str(e).splitlines()[0]
    finally:
        stack.stop()
        server.stop()
        print("local stack stopped (devhost, azuresim, Azurite); logs were in " + str(args.state_dir))
    banner("summary (Azure simulated by azuresim)")
    for name, outcome in results.items():
        print(f"  {name:34} {outcome}")
    return 0 if results and all(o.startswith("Succeeded") for o in results.values()) else 1


def up(args: argparse.Namespace) -> int:
    """Start the stack and leave it running; print how to use the CLI against it."""
    print(SIMULATED, flush=True)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    if recorded_running(args.state_dir):
        raise StackError("the local stack already runs (python -m cli.local_stack down stops it)")
    stack = LocalStack(args.state_dir, latency_scale=args.latency_scale, keep_ports=True)
    stack.start()
    stack.seed()
    profile = stack.write_profile()
    how = (
        "by itself"
        if profile.resolve() == (Path.cwd() / ".state/local/kiln.env").resolve()
        else (f"with --profile {profile} (or KILN_PROFILE={profile})")
    )
    print(f"\nthe local stack is running; `kiln` reads {profile} {how}, or:")
    for key, value in stack.cli_env().items():
        print(f"  export {key}={value}")
    print(
        "try: kiln template create examples/ubuntu-2404-gallery-3-regions.json --name ubuntu && "
        "kiln run ubuntu --follow"
    )
    print(f"the web page: {stack.web_url()}")
    print("stop it with: python -m cli.local_stack down")
    return 0
