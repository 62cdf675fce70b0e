"""The latency model: a base duration per operation type, times one global scale factor.

``scale`` 1.0 approximates Azure's real timings (a VM build takes minutes); tests run with 0.0 (off) and demos
with something like 0.01, so a 40-minute build takes seconds. Every ARM request also pays ``arm.request`` (the
round trip through Resource Manager); long-running operations pay their op's duration before they finish.
"""

from __future__ import annotations

from typing import Any

# Seconds at scale 1.0. Operation names are "<provider>.<resource>.<verb>"; unknown ops use a default by verb.
DEFAULT_OPS: dict[str, float] = {
    "arm.request": 0.05,
    "resources.group.delete": 45.0,
    "resources.deployment.put": 5.0,
    "resources.deployment.delete": 2.0,
    "network.vnet.put": 4.0,
    "network.vnet.delete": 10.0,
    "network.subnet.put": 3.0,
    "network.subnet.delete": 5.0,
    "network.nsg.put": 3.0,
    "network.nsg.delete": 10.0,
    "network.pip.put": 3.0,
    "network.pip.delete": 10.0,
    "network.nic.put": 2.0,
    "network.nic.delete": 10.0,
    "storage.account.put": 20.0,
    "storage.account.delete": 5.0,
    "compute.vm.put": 90.0,
    "compute.vm.delete": 60.0,
    "compute.disk.put": 10.0,
    "compute.disk.delete": 10.0,
}
_VERB_DEFAULTS = {
    "get": 0.0,
    "list": 0.0,
    "head": 0.0,
    "put": 5.0,
    "patch": 3.0,
    "delete": 10.0,
    "post": 10.0,
}


class LatencyModel:
    def __init__(self, scale: float = 0.0) -> None:
        self.scale = scale
        self.ops: dict[str, float] = dict(DEFAULT_OPS)

    def base(self, op: str) -> float:
        if op in self.ops:
            return self.ops[op]
        return _VERB_DEFAULTS.get(op.rsplit(".", 1)[-1], 1.0)

    def delay(self, op: str) -> float:
        """Seconds ``op`` takes now: its base times the global scale (0 when the model is off)."""
        if self.scale <= 0:
            return 0.0
        return self.base(op) * self.scale

    def to_json(self) -> dict[str, Any]:
        return {"scale": self.scale, "ops": dict(self.ops)}

    def update(self, body: dict[str, Any]) -> None:
        if "scale" in body:
            scale = float(body["scale"])
            if scale < 0:
                raise ValueError("scale must be >= 0")
            self.scale = scale
        for op, seconds in (body.get("ops") or {}).items():
            self.ops[str(op)] = float(seconds)
