"""Regional vCPU quota and VM sizes: ``GET …/Microsoft.Compute/locations/{location}/usages``, ``…/vmSizes``.

The ``cores`` usage (Total Regional vCPUs) counts the vCPUs of the VMs in the location against a limit of
``DEFAULT_VCPU_LIMIT``, or what ``PUT /_sim/quota {"location": …, "limit": n}`` set (kept in the control
settings, so it persists). A size's vCPUs are the number in its name (``Standard_D4ds_v5`` → 4), as Azure
names the general-purpose sizes.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from azuresim.router import Router, SimRequest

DEFAULT_VCPU_LIMIT = 350
QUOTAS = "vcpu_quota"
_LOC = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}"
_SIZES = ("Standard_B2s", "Standard_D1_v2", "Standard_D2s_v3", "Standard_D4s_v3", "Standard_D2ds_v4",
          "Standard_D2ds_v5", "Standard_D4ds_v5", "Standard_D4s_v5", "Standard_D8ds_v5", "Standard_D16ds_v5",
          "Standard_DS1_v2", "Standard_DS2_v2", "Standard_F2s_v2")  # fmt: skip


def vcpus(size: str) -> int:
    found = re.match(r"(?i)^(?:standard|basic)_[a-z]+(\d+)", size)
    return int(found.group(1)) if found else 2


def _location(value: str) -> str:
    return value.replace(" ", "").lower()


async def list_usages(req: SimRequest) -> web.StreamResponse:
    location = _location(req.params["location"])
    used = sum(
        vcpus(str((vm.get("properties") or {}).get("hardwareProfile", {}).get("vmSize", "")))
        for vm in req.sim.store.list(type="Microsoft.Compute/virtualMachines")
        if _location(str(vm.get("location", ""))) == location
    )
    limit = int(req.sim.control.get(QUOTAS, {}).get(location, DEFAULT_VCPU_LIMIT))
    usage = {
        "unit": "Count",
        "currentValue": used,
        "limit": limit,
        "name": {"value": "cores", "localizedValue": "Total Regional vCPUs"},
    }
    return web.json_response({"value": [usage]})


async def list_sizes(req: SimRequest) -> web.StreamResponse:
    sizes: list[dict[str, Any]] = [
        {"name": s, "numberOfCores": vcpus(s), "memoryInMB": vcpus(s) * 4096, "maxDataDiskCount": 8}
        for s in _SIZES
    ]
    return web.json_response({"value": sizes})


async def put_quota(req: SimRequest) -> web.StreamResponse:
    body = req.body if isinstance(req.body, dict) else {}
    req.sim.control.setdefault(QUOTAS, {})[_location(str(body.get("location", "")))] = int(
        body.get("limit", 0)
    )
    req.sim.persist()
    return web.json_response(req.sim.control[QUOTAS])


def register(router: Router) -> None:
    router.add("GET", _LOC + "/usages", list_usages, op="compute.usage.list")
    router.add("GET", _LOC + "/vmSizes", list_sizes, op="compute.size.list")
    router.add("PUT", "/_sim/quota", put_quota, op="sim.control")
