"""With 10 % of ARM calls answering 429 (with Retry-After) or 500, every build still succeeds.

The fault rules cover every ARM path (``/subscriptions/…`` and ``/providers/…``) and leave the control
plane and Key Vault's data plane alone. Three builds run at once on this module's stack.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.scenarios import (
    example,
    gallery_target,
    linux_template,
    managed_image_target,
    outcome,
    run_parallel,
    shell,
)
from tests.support.stack import KilnStack

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]
ARM = "^/(subscriptions|providers)/"
# azuresim also applies request rules to each resource a deployment creates (as a PUT of its id), where a
# 500 fails the whole deployment. Those are not ARM calls of kiln's, so PUT rules skip the resource types
# the build-VM deployment makes (network, storage, the VM itself); run commands, versions, images, groups and
# the deployment PUT itself stay covered. Nor do they match the pseudo path {version}/_replication/{region}
# that azuresim asks to decide whether a region's replication fails (not a request either).
NOT_DEPLOYED = ARM + (
    r"(?!.*/providers/Microsoft\.(Network|Storage)/|.*/virtualMachines/[^/]+$|.*/_replication/)"
)
REGIONS = ("eastus", "westus")


def rules(method: str, path: str) -> list[dict[str, Any]]:
    # Tried in order, a probability miss moving on: 5 % of calls get 429, then ~5 % of the rest 500.
    return [
        {
            "method": method,
            "path": path,
            "status": 429,
            "code": "TooManyRequests",
            "probability": 0.05,
            "retryAfter": 1,
        },
        {"method": method, "path": path, "status": 500, "code": "InternalServerError", "probability": 0.0527},
    ]


FAULTS = [rule for m in ("GET", "POST", "DELETE", "PATCH", "HEAD") for rule in rules(m, ARM)]
FAULTS += rules("PUT", NOT_DEPLOYED)


def build(stack: KilnStack, name: str, body: dict[str, Any]) -> dict[str, Any]:
    stack.create_template(name, body)
    run_id = stack.start_run(name)
    return {"run_id": run_id, "run": stack.wait_run(name, run_id, timeout=420)}


@pytest.fixture(scope="module")
def throttled(stack: KilnStack) -> dict[str, Any]:
    gallery = stack.define_image("e2e-throttled")
    steps = [shell("one", "echo one"), shell("two", "echo two")]
    rule_ids = [stack.add_fault(dict(rule)) for rule in FAULTS]
    try:
        results = run_parallel(
            {
                "ubuntu-example": lambda: build(
                    stack, "throttled-ubuntu", example("ubuntu-2404-gallery-3-regions")
                ),
                "gallery": lambda: build(
                    stack,
                    "throttled-gallery",
                    linux_template(customize=steps, distribute=[gallery_target(gallery, "g", REGIONS)]),
                ),
                "managed-image": lambda: build(
                    stack,
                    "throttled-image",
                    linux_template(customize=steps, distribute=[managed_image_target("e2e-throttled-mi")]),
                ),
            }
        )
        hits: dict[str, int] = {}
        for rule in stack.faults():
            hits[rule["code"]] = hits.get(rule["code"], 0) + rule["hits"]
    finally:
        for rule_id in rule_ids:
            stack.remove_fault(rule_id)
    return {"results": results, "hits": hits}


def test_the_fault_rules_really_fired(throttled: dict[str, Any]) -> None:
    assert throttled["hits"].get("TooManyRequests", 0) > 0
    assert throttled["hits"].get("InternalServerError", 0) > 0


@pytest.mark.parametrize("scenario", ["ubuntu-example", "gallery", "managed-image"])
def test_every_build_succeeds_despite_throttling_and_server_errors(
    stack: KilnStack, throttled: dict[str, Any], scenario: str
) -> None:
    result = outcome(throttled["results"], scenario)
    props = result["run"]["properties"]
    assert props["runState"] == "Succeeded", props["message"]
    assert stack.leftovers(result["run_id"]) == []
