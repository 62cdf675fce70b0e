"""Fault rules: answer matching requests with an error, a delay or never; once, N times or with a probability.

A rule is ``{"method", "path" (regex searched in the path, case-insensitive), "bodyContains"?, "status"?,
"code"?, "message"?, "times"? | "probability"?, "delayMs"?, "hang"?, "retryAfter"?}``. Without ``times`` or
``probability`` a rule applies until the rules are cleared. ``delayMs`` without ``status`` only slows the
request down. 429 and 503 answers carry ``Retry-After`` (``retryAfter`` seconds, default 1).

``"async": true`` makes a rule fail the long-running operation a matching request starts instead of the
request itself: the request is accepted (201/202) and the operation ends Failed with the rule's code and
message, as Azure reports a VM that fails to provision. Deployments consult every rule for each resource they
create, as a ``PUT`` of its id, so a rule on ``/virtualMachines/`` fails the VM inside a deployment.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    id: int
    method: str
    path: re.Pattern[str]
    body_contains: str | None
    status: int | None
    code: str
    message: str
    times: int | None
    probability: float | None
    delay_ms: int
    hang: bool
    retry_after: float
    async_: bool = False
    hits: int = field(default=0)

    def matches(self, method: str, path: str, body: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        if self.path.search(path) is None:
            return False
        return self.body_contains is None or self.body_contains in body

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path.pattern,
            "bodyContains": self.body_contains,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "times": self.times,
            "probability": self.probability,
            "delayMs": self.delay_ms,
            "hang": self.hang,
            "retryAfter": self.retry_after,
            "async": self.async_,
            "hits": self.hits,
        }


class FaultRules:
    def __init__(self, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._random = random.Random(seed)

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Add a rule from its JSON form; raises ValueError naming the bad field."""
        if not isinstance(spec.get("path"), str):
            raise ValueError("path: a regular expression string is required")
        try:
            path = re.compile(spec["path"], re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"path: invalid regular expression: {exc}") from exc
        status = spec.get("status")
        hang = bool(spec.get("hang", False))
        delay_ms = int(spec.get("delayMs", 0))
        if status is None and not hang and delay_ms <= 0:
            raise ValueError("status: a rule needs a status, a delayMs or hang")
        if spec.get("async") and (status is None or hang):
            raise ValueError("async: an async rule needs a status (and no hang)")
        probability = spec.get("probability")
        if probability is not None and not 0 <= float(probability) <= 1:
            raise ValueError("probability: must be between 0 and 1")
        times = spec.get("times")
        if times is not None and int(times) < 1:
            raise ValueError("times: must be at least 1")
        rule = FaultRule(
            id=next(self._ids),
            method=str(spec.get("method", "*")).upper(),
            path=path,
            body_contains=spec.get("bodyContains"),
            status=int(status) if status is not None else None,
            code=str(spec.get("code", "InjectedFault")),
            message=str(spec.get("message", "Fault injected by azuresim.")),
            times=int(times) if times is not None else None,
            probability=float(probability) if probability is not None else None,
            delay_ms=delay_ms,
            hang=hang,
            retry_after=float(spec.get("retryAfter", 1)),
            async_=bool(spec.get("async", False)),
        )
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def pick(self, method: str, path: str, body: str, *, async_: bool | None = False) -> FaultRule | None:
        """The first rule that fires for this request (consuming one of its ``times``), or None.

        ``async_`` selects request rules (False), operation rules (True) or both (None).
        """
        for rule in list(self.rules):
            if (async_ is not None and rule.async_ != async_) or not rule.matches(method, path, body):
                continue
            if rule.probability is not None and self._random.random() >= rule.probability:
                continue
            rule.hits += 1
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
            return rule
        return None
