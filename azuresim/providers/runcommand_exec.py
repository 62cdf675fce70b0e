"""Running one managed run command on a simulated VM: wait for the agent, "run" for the outcome's duration,
write stdout/stderr to the append blobs, record the instance view, reboot the VM for restart scripts."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError

from azuresim.providers import vm_model
from azuresim.providers.runcommand_outcomes import Outcome, tail
from azuresim.qemu import runcommand
from azuresim.qemu.agent import AgentError

_POLL = 0.05


def view(state: str, **extra: Any) -> dict[str, Any]:
    return {"executionState": state, "executionMessage": "", "statuses": [], **extra}


async def script_text(sim: Any, source: dict[str, Any]) -> str:
    if source.get("script"):
        return str(source["script"])
    uri = str(source.get("scriptUri") or source.get("commandId") or "")
    if uri.startswith("http") and sim.blobs.configured:
        try:
            return str(await sim.blobs.read_text(uri))
        except Exception:  # not an Azurite blob: match the rules against the URI itself
            return uri
    return uri


# A kiln step's download of a staged artifact (activities/support/scripts.py: kiln_fetch / Kiln-Fetch).
_FETCH = re.compile(r"^(?:kiln_fetch|Kiln-Fetch) '([^']*)' '([0-9a-f]{64})' ", re.MULTILINE)
# QEMU user networking: the guest reaches the host's loopback services at 10.0.2.2.
_LOOPBACK = re.compile(r"(?i)(://)(?:127\.0\.0\.1|localhost)(?=[:/])")


async def guest_fetches(sim: Any, script: str) -> Outcome | None:
    """The downloads a simulated VM makes for ``script``, done as the guest would: each URL read with its
    own SAS only (a wrong, expired or write-only one fails), its sha256 compared. The first failure is
    the command's, with what curl and the kiln step would print; None when every download is right."""
    for url, sha256 in _FETCH.findall(script):
        try:
            got = await sim.blobs.sha256_as_guest(url)
        except HttpResponseError as exc:
            status = exc.status_code or 0
            stderr = f"curl: (22) The requested URL returned error: {status}\n"
            return Outcome(22, "", stderr + "kiln: downloading the staged artifact from staging failed\n")
        except (AzureError, OSError, ValueError) as exc:
            return Outcome(7, "", f"curl: (7) Failed to connect: {type(exc).__name__}\n")
        if got != sha256:
            return Outcome(1, "", f"kiln: the downloaded artifact does not have sha256 {sha256}\n")
    return None


# What a simulated Windows guest does with these lines (a QEMU guest runs them for real):
# a volatile registry key, which only the running boot holds (any restart or stop clears it) ...
_MARK = re.compile(r"CreateSubKey\('([^']+)',[^\n]*\[Microsoft\.Win32\.RegistryOptions\]::Volatile\)")
# ... a test of that key, answering with its branch's line and exit code ...
_PROOF = re.compile(
    r"if \(Test-Path -LiteralPath 'HKLM:\\(?P<key>[^']+)'\) \{"
    r"\s*\[Console\]::Out\.WriteLine\(\"(?P<held>[^\"]*)\"\)"
    r"\s*exit (?P<code>\d+)\s*\}\s*\[Console\]::Out\.WriteLine\(\"(?P<gone>[^\"]*)\"\)"
)
# ... and a scheduled task registered for a user with a password the script takes as a parameter, whose
# logon Windows checks against the account (the VM's admin user and password).
_TASK_USER = re.compile(r"^\$user = '([^']*)'$", re.MULTILINE)
_TASK_PASSWORD = re.compile(r"Register-ScheduledTask\b[^\n]*-Password \$(\w+)")
_LOGON_FAILED = (
    "Register-ScheduledTask : The user name or password is incorrect.\n(Exception from HRESULT: 0x8007052E)\n"
)


def windows(vm: dict[str, Any], script: str, protected: dict[str, str]) -> Outcome | None:
    """What a simulated Windows VM answers itself for ``script`` (None: the control plane's rules decide)."""
    proof = _PROOF.search(script)
    if proof:
        held = bool(vm.get("_bootMark"))
        booted = vm_model.iso(float(vm.get("_bootedAt") or time.time()))
        line = (proof["held"] if held else proof["gone"]).replace("$booted", booted)
        return Outcome(int(proof["code"]) if held else 0, line + "\n", "", duration_ops=0.2)
    task = _TASK_PASSWORD.search(script)
    user = _TASK_USER.search(script)
    if task and user:
        admin = str(vm.get("properties", {}).get("osProfile", {}).get("adminUsername", ""))
        given = hashlib.sha256(protected.get(task.group(1), "").encode()).hexdigest()
        if user.group(1).lower() != admin.lower() or given != vm.get("_adminPasswordSha256"):
            return Outcome(1, "", _LOGON_FAILED)
    return None


def marks_the_boot(script: str) -> bool:
    return bool(_MARK.search(script))


def for_qemu_guest(script: str) -> str:
    """``script`` with the host's loopback in its download URLs as a QEMU guest reaches it (10.0.2.2)."""
    return _FETCH.sub(lambda m: _LOOPBACK.sub(r"\g<1>10.0.2.2", m.group(0)), script)


async def _wait_for_agent(sim: Any, vm_id: str) -> dict[str, Any] | None:
    while True:
        vm: dict[str, Any] | None = sim.store.get(vm_id)
        if vm is None or vm.get("_power") in ("deallocated", "deallocating", "stopped"):
            return None
        if vm_model.agent_ready(vm, time.time()):
            return vm
        await asyncio.sleep(_POLL)


async def _write_blobs(sim: Any, props: dict[str, Any], outcome: Outcome) -> str:
    problems = []
    for key, text in (("outputBlobUri", outcome.stdout), ("errorBlobUri", outcome.stderr)):
        if props.get(key):
            try:
                await sim.blobs.append_text(str(props[key]), text)
            except Exception as exc:
                problems.append(f"Failed to upload to {key}: {type(exc).__name__}")
    return "; ".join(problems)


def script_seconds(sim: Any, outcome: Outcome) -> float:
    """How long the script runs: the rule's ``durationSeconds``, else ``durationOps`` latency units."""
    if outcome.duration_seconds is not None:
        return outcome.duration_seconds
    return outcome.duration_ops * float(sim.latency.delay("compute.runcommand.run"))


async def _running_vm(sim: Any, cmd: dict[str, Any], vm_id: str) -> dict[str, Any] | None:
    """The VM once its agent is ready; None (and the command Failed) when it stopped first."""
    vm = await _wait_for_agent(sim, vm_id)
    if vm is None:
        cmd["_view"] = view("Failed", executionMessage="The VM is not running.", exitCode=-1)
        sim.persist()
    return vm


async def execute_real(sim: Any, cmd: dict[str, Any], vm_id: str, script: str) -> None:
    """Run one command in a QEMU guest, its output appended to the blobs as it comes."""
    vm = await _running_vm(sim, cmd, vm_id)
    machine = sim.compute.machine(vm) if vm is not None else None
    if vm is None or machine is None:
        return
    props = cmd["properties"]
    started = vm_model.iso()

    async def append(key: str, text: str) -> str:
        if not props.get(key):
            return ""
        try:
            await sim.blobs.append_text(str(props[key]), text)
        except Exception as exc:
            return f"Failed to upload to {key}: {type(exc).__name__}"
        return ""

    def report(o: runcommand.Outcome) -> None:
        cmd["_view"] = view(
            "Running", startTime=started, output=runcommand.tail(o.out), error=runcommand.tail(o.err)
        )
        sim.persist()

    cmd["_view"] = view("Running", startTime=started)
    message = (await append("outputBlobUri", "")) or (await append("errorBlobUri", ""))
    try:
        o = await runcommand.run(
            machine.agent,
            script,
            timeout_seconds=int(props.get("timeoutInSeconds") or 0),
            alive=machine.alive,
            append=append,
            report=report,
        )
    except AgentError as exc:
        cmd["_view"] = view("Failed", executionMessage=f"The VM agent failed: {exc}", startTime=started)
        sim.persist()
        return
    ended: dict[str, Any] = {"output": runcommand.tail(o.out), "error": runcommand.tail(o.err)}
    if o.exit_code is not None:
        ended["exitCode"] = o.exit_code
    cmd["_view"] = view(
        o.state, executionMessage=o.message or message, startTime=started, endTime=vm_model.iso(), **ended
    )
    sim.persist()


async def execute(sim: Any, cmd: dict[str, Any], vm_id: str, outcome: Outcome) -> None:
    """Run one command to its end, updating its instance view as Azure would report it."""
    vm = await _running_vm(sim, cmd, vm_id)
    if vm is None:
        return
    started = time.time()
    cmd["_view"] = view("Running", startTime=vm_model.iso(started))
    sim.persist()
    duration = script_seconds(sim, outcome)
    timeout = int(cmd["properties"].get("timeoutInSeconds") or 0)
    if timeout > 0 and duration > timeout:
        await asyncio.sleep(timeout)
        ended = {"startTime": vm_model.iso(started), "endTime": vm_model.iso(), "output": "", "error": ""}
        cmd["_view"] = view("TimedOut", executionMessage="Execution timed out.", **ended)
        sim.persist()
        return
    await asyncio.sleep(duration)
    if outcome.marks_boot:  # set before the rest of the script ran (and before any restart it made)
        vm["_bootMark"] = True
    message = await _write_blobs(sim, cmd["properties"], outcome)
    cmd["_view"] = view(
        "Succeeded" if outcome.succeeded else "Failed",
        executionMessage=message,
        exitCode=outcome.exit_code,
        output=tail(outcome.stdout),
        error=tail(outcome.stderr),
        startTime=vm_model.iso(started),
        endTime=vm_model.iso(),
    )
    sim.persist()
    if outcome.restart and sim.store.get(vm_id) is not None:
        # The reboot follows the command; the PUT does not wait for it.
        reboot = asyncio.get_running_loop().create_task(_reboot(sim, vm))
        sim.tasks.add(reboot)
        reboot.add_done_callback(sim.tasks.discard)


async def _reboot(sim: Any, vm: dict[str, Any]) -> None:
    vm_model.begin_restart(sim, vm)
    await asyncio.sleep(sim.latency.delay("compute.vm.restart"))
    vm_model.finish_restart(sim, vm)
