"""Gallery image version replication over time, as Azure does it: first the capture, the version's copy in
its own region (the latency model's "gallery.capture"), which is all the version needs of its source; then
every other target region in parallel, each taking "gallery.replicate" (or "gallery.replicate.<region>" when
the model names that region: one slow region). Status is computed from timestamps, so it survives a restart
of the simulator and needs no background task.

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
    capture_seconds: float = 0.0  # the version's own region: the copy of its source
    region_seconds: dict[str, float] = field(default_factory=dict)  # normalised region -> its own duration

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
            capture_seconds=float(data.get("capture_seconds", 0.0)),
            region_seconds={str(k): float(v) for k, v in (data.get("region_seconds") or {}).items()},
        )

    def is_home(self, region: str) -> bool:
        """The version's own region (listed first): its copy is the capture."""
        return bool(self.regions) and normalize_region(region) == normalize_region(self.regions[0])

    def begins_at(self, region: str) -> float:
        """When ``region`` starts: the home region at once, the others once the capture is done."""
        key = normalize_region(region)
        if key in self.restarted:
            return self.restarted[key]
        return self.started if self.is_home(region) else self.started + self.capture_seconds

    def duration(self, region: str) -> float:
        key = normalize_region(region)
        if self.is_home(region) and key not in self.restarted:
            return self.capture_seconds
        return self.region_seconds.get(key, self.seconds_per_region)

    def captured_at(self) -> float:
        """When the version no longer needs its source: its own region's copy is done."""
        return self.started + self.capture_seconds

    def is_failed(self, region: str) -> bool:
        return region.lower() in {r.lower() for r in self.failed}

    def ends_at(self) -> float:
        """When the last region has completed or failed."""
        if not self.regions:
            return self.started
        return max(
            self.begins_at(r) + (0.5 if self.is_failed(r) else 1.0) * self.duration(r) for r in self.regions
        )


def region_status(plan: ReplicationPlan, region: str, now: float) -> dict[str, Any]:
    d = plan.duration(region)
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
