"""bench/build.py's pure parts: kiln accepts its template; its lower bound follows the latencies."""

from __future__ import annotations

import pytest

from bench.build_plan import CUSTOMIZERS, OPS, REGIONS, lower_bound_seconds, template, vm_deletion_seconds
from cli.local_seed import SUBSCRIPTION
from shared.service.contract import STORAGE_API_VERSION, normalize_template

pytestmark = pytest.mark.timeout(30)


def test_the_benchmark_template_passes_kilns_validation_with_three_targets_and_ten_regions() -> None:
    stored = normalize_template(template(7, SUBSCRIPTION), api_version=STORAGE_API_VERSION, name="bench-c007")

    props = stored["properties"]
    assert len(props["customize"]) == CUSTOMIZERS
    assert [d["type"] for d in props["distribute"]] == ["SharedImage", "ManagedImage", "SharedImage"]
    assert [r["name"] for r in props["distribute"][0]["targetRegions"]] == list(REGIONS)
    assert props["distribute"][0]["galleryImageId"].endswith("/versions/7.7.0")


def test_the_lower_bound_waits_for_the_longest_distribute_branch_only() -> None:
    bound, phases = lower_bound_seconds(OPS)
    replication = OPS["gallery.capture"] + OPS["gallery.replicate"]
    slower_image = lower_bound_seconds({**OPS, "compute.image.put": replication + 600})[0]
    slower_replication = lower_bound_seconds({**OPS, "gallery.replicate": OPS["gallery.replicate"] + 600})[0]

    assert bound == pytest.approx(sum(phases.values()))
    assert phases["distribute"] == pytest.approx(replication)  # the VM's deletion hides behind replication
    assert slower_replication == pytest.approx(bound + 600)
    # A managed image slower than the replication is waited for, and the VM goes only after it.
    assert slower_image == pytest.approx(bound + 600 + vm_deletion_seconds(OPS))
    assert lower_bound_seconds({**OPS, "compute.image.put": 1.0})[0] == pytest.approx(bound)
