"""kiln's local mode: Azurite + azuresim + devhost serving kiln, on this machine. **Azure is simulated.**

    python -m cli.local_stack demo   # start, create and build every template of examples/, stop
    python -m cli.local_stack up     # start and leave it running; prints the environment for `kiln`
    python -m cli.local_stack down   # stop what `up` started
    python -m cli.local_stack env    # print that environment again

Everything lives under ``--state-dir`` (default ``.state/local`` for ``up``, ``.state/demo`` for the demo,
which empties it first): Azurite's data, azuresim's state file and CA, devhost's history, keys and TLS, each
process's ``<name>.log`` (stderr) and ``<name>.out`` (stdout), ``kiln.env`` (the CLI's profile),
``pids.json`` and ``ports.json`` (the ports ``up`` uses again on its next start).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cli.config import Connection
from cli.local_procs import REPO, Proc, StackError, start_azuresim, start_azurite, start_devhost, wait_healthy
from cli.project_env import ensure_project_python

if TYPE_CHECKING:
    from cli.local_seed import SimArm

DEFAULT_STATE = REPO / ".state" / "local"
DEFAULT_DEMO_STATE = REPO / ".state" / "demo"
PORTS_FILE = "ports.json"
# azuresim's latency model × 0.01: a 90 s VM deployment takes 0.9 s, a whole build a few seconds.
DEFAULT_LATENCY_SCALE = 0.01
SIMULATED = (
    "LOCAL MODE: Azure is SIMULATED by azuresim. No VM is created, nothing runs your scripts and nothing is "
    "billed; images, galleries and versions are records in the stack's state folder. Storage is Azurite."
)
REAL_VMS = (
    "LOCAL MODE with real build VMs: templates whose source has a local disk get a QEMU VM that really runs "
    "their scripts and a real captured disk; Azure's control plane is still simulated by azuresim."
)
# kiln's clock in local mode with real VMs: a boot and a script take their real time, so timeouts are a tenth
# of Azure's, not a hundredth (the latency scale); a wait's first look still comes on the latency scale
# (KILN_POLL_SCALE), and no pause is longer than a second (shared/bootstrap/endpoints.timing_policy).
REAL_VM_TIME_SCALE = 0.1


def choose_compute(requested: str) -> tuple[str, str, list[str]]:
    """(``qemu`` or ``sim``, why, the URNs with a local disk): qemu when asked for or ``auto``, QEMU is
    installed and a local image is registered (``python -m azuresim.qemu build-base`` builds one)."""
    if requested == "sim":
        return "sim", "every VM simulated", []
    if shutil.which("qemu-system-x86_64") is None or shutil.which("qemu-img") is None:
        return "sim", "every VM simulated: QEMU is not installed (scripts/setup.sh installs it)", []
    listing = subprocess.run(
        [sys.executable, "-m", "azuresim.qemu", "list"], capture_output=True, text=True, check=False, cwd=REPO
    )
    urns = [line.split("\t")[0] for line in listing.stdout.splitlines() if line.strip()]
    if not urns:
        return "sim", "every VM simulated: no local image (python -m azuresim.qemu build-base builds one)", []
    why = f"VMs from {', '.join(urns)} boot under QEMU; other sources (Windows too) are simulated"
    return "qemu", why, urns


class LocalStack:
    """Starts and stops the three processes; knows the settings kiln and the CLI need."""

    def __init__(
        self,
        state_dir: Path = DEFAULT_STATE,
        *,
        latency_scale: float = DEFAULT_LATENCY_SCALE,
        app_dir: Path = REPO,
        devhost_env: dict[str, str] | None = None,
        keep_ports: bool = False,
        compute: str | None = None,
    ) -> None:
        # `python -m cli.local_stack` asks for auto; the tests and benchmarks get sim unless they ask.
        requested = compute or "sim"
        self.compute, self.compute_why, self.local_urns = choose_compute(requested)
        self.state = state_dir
        self.devhost_env = devhost_env or {}
        self.keep_ports = keep_ports
        self.latency_scale = latency_scale
        self.app_dir = app_dir
        self.procs: list[Proc] = []

    def start(self, *, log: Any = print) -> LocalStack:
        """Start Azurite, azuresim and devhost in order, wait until healthy, write the profile.

        With ``keep_ports`` each process gets the port it had at the last start (``ports.json``) when that
        port is free, so ``kiln.env`` and the exports printed before stay right across restarts."""
        ports = kept_ports(self.state, log=log) if self.keep_ports else {}
        try:
            azurite = self._add(start_azurite(self.state, port=ports.get("azurite")))
            storage = azurite.info["connectionString"]
            log(f"  azurite   {azurite.info['blobEndpoint']}  (data in {self.state / 'azurite'})")
            sim = self._add(
                start_azuresim(
                    self.state,
                    storage=storage,
                    latency_scale=self.latency_scale,
                    state_file=self.state / "azuresim.json",
                    port=ports.get("azuresim", 0),
                    compute=self.compute,
                )
            )
            wait_healthy(sim.info["base_url"] + "/_sim/health", ca_file=sim.info["ca_file"])
            log(f"  azuresim  {sim.info['base_url']}  (latency scale {self.latency_scale})")
            log(f"  compute   {self.compute}: {self.compute_why}")
            if self.compute == "qemu":
                log(f"  {REAL_VMS}")
            host = self._add(
                start_devhost(
                    self.state,
                    storage=storage,
                    env={**self.kiln_settings(), **self.devhost_env},
                    app_dir=self.app_dir,
                    port=ports.get("devhost", 0),
                )
            )
            wait_healthy(host.info["baseUrl"] + "/healthz", ca_file=host.info.get("caFile"))
            log(f"  kiln      {host.info['baseUrl']}  (devhost, function_app, KILN_AZURE_MODE=sim)")
            log(f"  web page  {self.web_url()}")
        except BaseException:
            self.stop()
            raise
        self.write_profile()
        self._write_ports()
        return self

    def _add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        self._write_pids()
        return proc

    def proc(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    def web_url(self) -> str:
        """kiln's web page (functions/web.py), the function key in ``code`` as the Functions host takes it."""
        host = self.proc("devhost").info
        return f"{host['baseUrl']}/web/?code={host['functionKey']}"

    def kiln_settings(self) -> dict[str, str]:
        """The app settings of kiln's function app in local mode (shared/settings.py reads them)."""
        from cli.local_seed import KEY_VAULT, SUBSCRIPTION

        sim = self.proc("azuresim").info
        return {
            "KILN_STORAGE_CONNECTION_STRING": self.proc("azurite").info["connectionString"],
            "KILN_AZURE_MODE": "sim",
            "KILN_SIM_BASE_URL": sim["base_url"],
            "KILN_SIM_CA_FILE": sim["ca_file"],
            "KILN_SUBSCRIPTION_ID": SUBSCRIPTION,
            "KILN_KEY_VAULT_ID": KEY_VAULT,
            "KILN_TIMING_PROFILE": "local",
            "KILN_TIME_SCALE": str(
                self.latency_scale if self.compute == "sim" else max(self.latency_scale, REAL_VM_TIME_SCALE)
            ),
            # Every wait's first look on azuresim's clock, where its simulated operations end.
            "KILN_POLL_SCALE": str(self.latency_scale),
            "KILN_TASK_HUB": "kilnlocal",
            # The artifact server of local mode (cli/local_artifacts.py) listens on loopback.
            "KILN_FETCH_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "KILN_TRACE_FILE": str(self.state / "traces.jsonl"),  # the runs' spans (docs/observability.md)
        }

    def connection(self) -> Connection:
        from cli.local_seed import SUBSCRIPTION, TEMPLATE_GROUP

        host = self.proc("devhost").info
        return Connection(
            url=host["baseUrl"],
            function_key=host["functionKey"],
            subscription=SUBSCRIPTION,
            resource_group=TEMPLATE_GROUP,
            ca_file=host.get("caFile"),
        )

    def sim_arm(self) -> SimArm:
        from cli.local_seed import SimArm

        sim = self.proc("azuresim").info
        return SimArm(sim["base_url"], sim["ca_file"])

    def seed(self) -> list[str]:
        """Create in azuresim what the examples need (groups, identities, network, gallery)."""
        from cli.local_seed import seed_examples

        return seed_examples(self.sim_arm())

    def cli_env(self) -> dict[str, str]:
        conn = self.connection()
        return {
            "KILN_URL": conn.url,
            "KILN_FUNCTION_KEY": conn.function_key,
            "KILN_CA_FILE": conn.ca_file or "",
            "KILN_SUBSCRIPTION": conn.subscription,
            "KILN_RESOURCE_GROUP": conn.resource_group or "",
        }

    def write_profile(self) -> Path:
        path = self.state / "kiln.env"
        lines = [f"# kiln local mode ({SIMULATED.split('.')[0]}); written by python -m cli.local_stack"]
        lines += [f"export {k}={shlex.quote(v)}" for k, v in self.cli_env().items()]
        # It holds the function key: readable by its owner only, from the moment it exists.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        return path

    def _write_ports(self) -> None:
        ports = {"azurite": self.proc("azurite").info["port"]}
        ports["azuresim"] = int(self.proc("azuresim").info["port"])
        ports["devhost"] = int(urlsplit(self.proc("devhost").info["baseUrl"]).port or 0)
        (self.state / PORTS_FILE).write_text(json.dumps(ports), encoding="utf-8")

    def _write_pids(self) -> None:
        pids = {p.name: p.process.pid for p in self.procs}
        (self.state / "pids.json").write_text(json.dumps(pids), encoding="utf-8")

    def stop(self) -> None:
        """Stop devhost, azuresim, then Azurite (the reverse of the start order)."""
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
        for name in ("pids.json", "kiln.env"):
            (self.state / name).unlink(missing_ok=True)

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def kept_ports(state: Path, *, log: Any = print) -> dict[str, int]:
    """The ports of the last start that are free now (a taken one is replaced, and said so)."""
    try:
        recorded = json.loads((state / PORTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ports: dict[str, int] = {}
    for name, port in recorded.items():
        if isinstance(port, int) and port > 0 and port_free(port):
            ports[name] = port
        else:
            log(f"  note: {name}'s port {port} is taken now; it gets another one (kiln.env follows)")
    return ports


def recorded_running(state: Path) -> bool:
    """Whether a process ``pids.json`` records still runs; a record they all outlived (a reboot, a kill -9)
    is removed with the profile that pointed at them."""
    pids_file = state / "pids.json"
    try:
        pids = json.loads(pids_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    for pid in pids.values():
        try:
            os.kill(int(pid), 0)
            return True
        except ProcessLookupError:
            continue
        except PermissionError:
            return True
    pids_file.unlink(missing_ok=True)
    (state / "kiln.env").unlink(missing_ok=True)
    return False


def stop_recorded(state: Path) -> list[str]:
    """``down``: SIGTERM the processes ``up`` recorded in ``pids.json`` (newest first)."""
    pids_file = state / "pids.json"
    if not pids_file.is_file():
        return []
    stopped = []
    for name, pid in reversed(list(json.loads(pids_file.read_text()).items())):
        try:
            os.kill(int(pid), signal.SIGTERM)
            stopped.append(name)
        except ProcessLookupError:
            continue
    pids_file.unlink()
    (state / "kiln.env").unlink(missing_ok=True)
    return stopped


def default_state(command: str) -> Path:
    """The demo empties its folder at each start: it has its own, never the one ``up`` keeps."""
    return DEFAULT_DEMO_STATE if command == "demo" else DEFAULT_STATE


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.local_stack", description=SIMULATED)
    parser.add_argument("command", choices=("demo", "up", "down", "env"))
    parser.add_argument(
        "--state-dir", type=Path, help=f"default {DEFAULT_STATE} ({DEFAULT_DEMO_STATE} for the demo)"
    )
    parser.add_argument("--latency-scale", type=float, default=DEFAULT_LATENCY_SCALE)
    parser.add_argument("--example", action="append", default=[], help="demo: only these examples (stems)")
    parser.add_argument(
        "--compute",
        choices=("auto", "qemu", "sim"),
        default=os.environ.get("KILN_LOCAL_COMPUTE", "auto"),
        help="build VMs: auto (QEMU when installed and a local image exists), qemu, or sim (records only)",
    )
    args = parser.parse_args(argv)
    if args.state_dir is None:
        args.state_dir = default_state(args.command)
    # Closing the terminal (SIGHUP) stops the stack as SIGTERM and Ctrl-C do: nothing is left orphaned.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate_as_interrupt)
    if args.command == "down":
        stopped = stop_recorded(args.state_dir)
        print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
        return 0
    if args.command == "env":
        profile = args.state_dir / "kiln.env"
        if not profile.is_file():
            print("the local stack is not running (python -m cli.local_stack up)", file=sys.stderr)
            return 1
        print(profile.read_text(), end="")
        return 0
    ensure_project_python("cli.local_stack", argv)
    from cli import local_demo

    try:
        return local_demo.demo(args) if args.command == "demo" else local_demo.up(args)
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # `up` stopped while it started: what had started is stopped already
        print("\ninterrupted: nothing of the local stack is left running", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
