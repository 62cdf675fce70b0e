"""The adapters' failure handling, through the real SDK clients against azuresim's fault rules.

Throttling is retried in-process when Azure's Retry-After is short (and the wait honoured), handed back as
``TransientAzureError.retry_after`` when it is long; every other failure is sorted into transient,
permanent or not-found with Azure's code and message kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from azure.mgmt.compute.models import Gallery

from shared.azure._wire import finish
from shared.azure.errors import parse_retry_after
from shared.bootstrap import AzurePorts
from shared.errors import AzureNotFound, PermanentAzureError, TransientAzureError
from tests.azure.backends import sim_ports
from tests.support.azuresim import AzureSim
from tests.support.azurite import Azurite, free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sim(azuresim: AzureSim) -> Iterator[AzureSim]:
    azuresim.control("DELETE", "/_sim/faults")
    azuresim.control("DELETE", "/_sim/requests")
    yield azuresim
    azuresim.control("DELETE", "/_sim/faults")


@pytest.fixture
def ports(sim: AzureSim, azurite: Azurite) -> AzurePorts:
    return sim_ports(sim, azurite, retry_total=2, max_retry_after=5.0)


def _group_gets(sim: AzureSim, name: str) -> list[dict[str, object]]:
    log = sim.control("GET", "/_sim/requests")["requests"]
    return [
        r for r in log if r["method"] == "GET" and str(r["path"]).lower().endswith(f"/resourcegroups/{name}")
    ]


def _throttle_once(sim: AzureSim, group: str, *, retry_after: int) -> None:
    """The next GET of ``group`` is answered 429 TooManyRequests with ``retry_after`` seconds."""
    rule = {"method": "GET", "path": f"/resourcegroups/{group}$", "status": 429, "code": "TooManyRequests"}
    sim.control("POST", "/_sim/faults", {**rule, "times": 1, "retryAfter": retry_after})


def test_a_429_with_a_short_retry_after_is_retried_after_waiting_that_long(
    sim: AzureSim, ports: AzurePorts
) -> None:
    group = f"kiln-throttle-{uuid.uuid4().hex[:6]}"
    ports.resource_groups.create(name=group, location="westeurope", tags={})
    _throttle_once(sim, group, retry_after=1)

    found = ports.resource_groups.get(name=group)

    assert found.name == group
    attempts = _group_gets(sim, group)
    assert [a["status"] for a in attempts] == [429, 200]
    first, second = (datetime.fromisoformat(str(a["time"])) for a in attempts)
    assert (second - first).total_seconds() >= 1.0


def test_a_429_with_a_long_retry_after_is_handed_back_instead_of_slept(
    sim: AzureSim, ports: AzurePorts
) -> None:
    group = f"kiln-throttle-{uuid.uuid4().hex[:6]}"
    _throttle_once(sim, group, retry_after=120)

    with pytest.raises(TransientAzureError) as throttled:
        ports.resource_groups.get(name=group)

    assert throttled.value.retry_after == 120
    assert throttled.value.code == "TooManyRequests"
    assert [a["status"] for a in _group_gets(sim, group)] == [429]


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (500, "InternalServerError", TransientAzureError),
        (409, "AnotherOperationInProgress", TransientAzureError),
        (400, "NicInUse", TransientAzureError),
        (403, "AuthorizationFailed", PermanentAzureError),
        (409, "OperationNotAllowed", PermanentAzureError),
        (400, "InvalidParameter", PermanentAzureError),
        (404, "ResourceGroupNotFound", AzureNotFound),
    ],
)
def test_failures_are_classified_and_keep_azures_code_and_message(
    sim: AzureSim, ports: AzurePorts, status: int, code: str, kind: type[Exception]
) -> None:
    group = f"kiln-fault-{uuid.uuid4().hex[:6]}"
    message = f"injected {code} for {group}"
    # 500s are retried by the SDK first: the rule must outlast retry_total.
    sim.control(
        "POST",
        "/_sim/faults",
        {
            "method": "PUT",
            "path": f"/resourcegroups/{group}$",
            "status": status,
            "code": code,
            "message": message,
            "retryAfter": 0,
        },
    )

    with pytest.raises(kind) as failed:
        ports.resource_groups.create(name=group, location="westeurope", tags={})

    assert failed.value.code == code  # type: ignore[attr-defined]
    assert message in failed.value.message  # type: ignore[attr-defined]
    assert failed.value.target == group  # type: ignore[attr-defined]


def test_a_timeout_is_transient(sim: AzureSim, azurite: Azurite) -> None:
    ports = sim_ports(sim, azurite, retry_total=0, http_read_timeout=0.5)
    group = f"kiln-hang-{uuid.uuid4().hex[:6]}"
    sim.control("POST", "/_sim/faults", {"method": "GET", "path": f"/resourcegroups/{group}$", "hang": True})

    with pytest.raises(TransientAzureError):
        ports.resource_groups.get(name=group)


def test_an_unreachable_endpoint_is_transient(sim: AzureSim, azurite: Azurite) -> None:
    ports = sim_ports(sim, azurite, retry_total=0, sim_base_url=f"https://127.0.0.1:{free_port()}")

    with pytest.raises(TransientAzureError):
        ports.resource_groups.get(name="anything")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"x-ms-retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past: no wait
        ({}, None),
    ],
)
def test_retry_after_is_read_from_any_header_azure_uses(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert parse_retry_after(headers) == seconds


def test_a_short_operation_that_does_not_finish_in_time_is_transient(
    sim: AzureSim, ports: AzurePorts
) -> None:
    group = f"kiln-slow-{uuid.uuid4().hex[:6]}"
    ports.resource_groups.create(name=group, location="westeurope", tags={})
    sim.control("PUT", "/_sim/latency", {"scale": 1.0, "ops": {"compute.gallery.put": 30.0}})
    try:
        client = ports._compute_client
        poller = client.galleries.begin_create_or_update(group, "slow", Gallery({"location": "westeurope"}))
        with pytest.raises(TransientAzureError) as slow:
            finish(poller, target="slow", timeout=0.3)
    finally:
        sim.control("PUT", "/_sim/latency", {"scale": 0.0})
        ports.resource_groups.begin_delete(name=group)

    assert slow.value.code == "OperationTimedOut"
