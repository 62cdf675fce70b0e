"""What a simulated run command "does": the outcome rules of the control plane matched against the script.

Rules come from ``PUT /_sim/runcommand-outcomes`` as a list, first match wins::

    [{"pattern": "apt-get install nope", "exitCode": 100, "stdout": "...", "stderr": "E: Unable ...",
      "durationOps": 2, "durationSeconds": 0.5, "restart": false}]

``pattern`` is a Python regex searched in the script (multi-line, case-insensitive). Without a matching
rule the script succeeds (exit 0) and its stdout is what its ``echo`` / ``Write-Host`` / ``Write-Output``
lines would print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Scripts that reboot the machine: the VM goes through a restart and its agent is not ready for a while.
_RESTART = re.compile(
    r"(shutdown(\.exe)?\s+(/r|-r)\b|\bRestart-Computer\b|(^|[\s;&|])reboot(\s|$|;)|systemctl\s+reboot)",
    re.IGNORECASE | re.MULTILINE,
)
_ECHO = re.compile(r"^\s*(?:echo|Write-Host|Write-Output)\s+(.*?)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    duration_ops: float = 1.0  # multiples of the latency model's "compute.runcommand.run" delay
    duration_seconds: float | None = None  # absolute duration, unscaled (for timeout scenarios)
    restart: bool = False
    marks_boot: bool = False  # the script sets a mark only the running boot holds (``windows``)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


def validate_rules(rules: Any) -> list[dict[str, Any]]:
    """Check a rule list from the control plane; raises ValueError naming the bad field."""
    if not isinstance(rules, list):
        raise ValueError("body must be a JSON array of rules")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("pattern"), str):
            raise ValueError(f"rules[{i}].pattern must be a string")
        try:
            re.compile(rule["pattern"])
        except re.error as exc:
            raise ValueError(f"rules[{i}].pattern is not a valid regex: {exc}") from exc
        if not isinstance(rule.get("exitCode", 0), int):
            raise ValueError(f"rules[{i}].exitCode must be an integer")
    return rules


def default_stdout(script: str) -> str:
    lines = []
    for arg in _ECHO.findall(script):
        lines.append(arg.strip().strip("'\""))
    return "".join(f"{line}\n" for line in lines)


def match_outcome(rules: list[dict[str, Any]], script: str) -> Outcome:
    """The outcome of ``script``: the first rule whose pattern occurs in it, else success."""
    restart = bool(_RESTART.search(script))
    for rule in rules:
        if re.search(rule["pattern"], script, re.IGNORECASE | re.MULTILINE):
            seconds = rule.get("durationSeconds")
            return Outcome(
                exit_code=int(rule.get("exitCode", 0)),
                stdout=str(rule.get("stdout", default_stdout(script))),
                stderr=str(rule.get("stderr", "")),
                duration_ops=float(rule.get("durationOps", 1.0)),
                duration_seconds=float(seconds) if seconds is not None else None,
                restart=bool(rule.get("restart", restart)),
            )
    return Outcome(exit_code=0, stdout=default_stdout(script), stderr="", restart=restart)


def tail(text: str, limit: int = 4096) -> str:
    # The instance view carries only the last 4 KB of output; the full text is in the output blob.
    return text[-limit:]
