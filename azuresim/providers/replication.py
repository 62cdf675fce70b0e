"""Gallery image version replication over time: every target region replicates in parallel, as Azure
does, each taking the latency model's "gallery.replicate" delay. Status is computed from timestamps, so it
survives a restart of the simulator and needs no background task.

A failed region (chosen at PUT time by a fault rule on the pseudo path ``{versionId}/_replication/{region}``)
stops at 50 % halfway through its slot and reports ``Failed``; the version then ends ``Failed``. PUTting the
version again with the same regions replicates the failed regions again (the fault rules are asked again).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FAILED_PROGRESS = 50


@dataclass
class ReplicationPlan:
    started: float  # epoch seconds
    seconds_per_region: float
    regions: list[str]
    failed: list[str] = field(default_factory=list)
    restarted: dict[str, float] = field(default_factory=dict)  # normalised region -> epoch seconds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReplicationPlan:
        return cls(
            started=float(data["started"]),
            seconds_per_region=float(data["seconds_per_region"]),
            regions=list(data["regions"]),
            failed=list(data.get("failed", [])),
            restarted={str(k): float(v) for k, v in (data.get("restarted") or {}).items()},
        )

    def begins_at(self, region: str) -> float:
        return self.restarted.get(normalize_region(region), self.started)

    def is_failed(self, region: str) -> bool:
        return region.lower() in {r.lower() for r in self.failed}

    def ends_at(self) -> float:
        """When the last region has completed or failed."""
        if not self.regions:
            return self.started
        return max(
            self.begins_at(r) + (0.5 if self.is_failed(r) else 1.0) * self.seconds_per_region
            for r in self.regions
        )


def region_status(plan: ReplicationPlan, region: str, now: float) -> dict[str, Any]:
    d = plan.seconds_per_region
    begin = plan.begins_at(region)
    if plan.is_failed(region):
        if now >= begin + d / 2:
            return {
                "region": region,
                "state": "Failed",
                "details": f"Replication to region '{region}' failed: InternalOperationError.",
                "progress": FAILED_PROGRESS,
            }
        progress = 0 if d == 0 else int(100 * max(0.0, now - begin) / d)
        return {"region": region, "state": "Replicating", "details": "", "progress": progress}
    if d == 0 or now >= begin + d:
        return {"region": region, "state": "Completed", "details": "", "progress": 100}
    progress = int(100 * max(0.0, now - begin) / d)
    return {"region": region, "state": "Replicating", "details": "", "progress": min(progress, 99)}


def replication_status(plan: ReplicationPlan, now: float) -> dict[str, Any]:
    """``properties.replicationStatus`` as ``$expand=ReplicationStatus`` returns it."""
    summary = [region_status(plan, r, now) for r in plan.regions]
    states = {s["state"] for s in summary}
    if "Replicating" in states:
        aggregated = "InProgress"
    elif "Failed" in states:
        aggregated = "Failed"
    else:
        aggregated = "Completed"
    return {"aggregatedState": aggregated, "summary": summary}


def target_region_names(publishing: dict[str, Any], home: str) -> list[str]:
    """Regions to replicate to: targetRegions in order (home region first, as Azure requires it be listed)."""
    names = [
        str(t["name"]) for t in publishing.get("targetRegions") or [] if isinstance(t, dict) and t.get("name")
    ]
    if not names:
        return [home]
    names.sort(key=lambda n: normalize_region(n) != normalize_region(home))
    return names


def normalize_region(name: str) -> str:
    # Azure accepts "East US" and "eastus" alike.
    return name.replace(" ", "").lower()
