"""What the templates of ``examples/`` expect to exist in Azure, created in azuresim through its ARM API
(plain HTTPS with a bearer token, as any ARM client would), so that kiln's preflight passes locally."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

from cli.local_procs import StackError

SUBSCRIPTION = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"  # the examples' subscription
LOCATION = "eastus"
TEMPLATE_GROUP = "rg-image-templates"  # where the demo creates the image templates
KEY_VAULT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-kiln-local"
    "/providers/Microsoft.KeyVault/vaults/kv-kiln-local"
)
GALLERY = "gal_platform_images"
PENDING = frozenset({"Creating", "Updating", "Accepted", "Provisioning", "Running"})

GROUPS = ("rg-image-builder", "rg-image-gallery", "rg-images", "rg-network", "rg-kiln-local", TEMPLATE_GROUP)
IDENTITIES = ("id-image-builder", "id-build-vm-artifacts")
TL = "TrustedLaunchSupported"
# name, osType, hyperVGeneration, SecurityType feature (None: Standard). The examples' Marketplace sources
# (ubuntu-24_04-lts server, 2022-datacenter-g2) are TrustedLaunchSupported, and kiln's preflight, as AIB,
# wants source and definition to match.
IMAGE_DEFINITIONS = (
    ("ubuntu-2404-gen2", "Linux", "V2", TL),
    ("ubuntu-2404-web", "Linux", "V2", TL),
    ("ubuntu-2404-trusted-launch", "Linux", "V2", TL),
    ("windows-2022-gen2", "Windows", "V2", TL),
    ("debian-12", "Linux", "V1", None),  # examples/debian-12-local-vm.json (a real build VM under QEMU)
)


# A simulated VM runs nothing: azuresim answers run commands by rules. kiln's Windows Update script ends with
# "KILN-WU installed=N remaining=M reboot=b" (activities/support/scripts.py); this rule plays one round
# finding 2 updates.
RUN_COMMAND_OUTCOMES = [
    {
        "pattern": "KILN-WU installed=",
        "exitCode": 0,
        "stdout": "kiln: selected 2026-11 Cumulative Update for Microsoft server operating system\n"
        "kiln: selected Security Intelligence Update for Microsoft Defender Antivirus\n"
        "KILN-WU installed=2 remaining=0 reboot=false\n",
    }
]


@dataclass
class SimArm:
    """A minimal ARM client of azuresim: PUT a resource and wait until it is provisioned."""

    base_url: str
    ca_file: str
    subscription: str = SUBSCRIPTION
    poll_seconds: float = 0.1
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.session = requests.Session()
        # azuresim checks that a bearer token is present, not what it says.
        self.session.headers["Authorization"] = "Bearer kiln-local"

    def path(self, group: str, provider_path: str = "") -> str:
        tail = f"/providers/{provider_path}" if provider_path else ""
        return f"/subscriptions/{self.subscription}/resourceGroups/{group}{tail}"

    def control(self, method: str, path: str, body: Any) -> None:
        """azuresim's control plane (``/_sim/…``): no token, no latency."""
        resp = self.session.request(method, self.base_url + path, json=body, timeout=30, verify=self.ca_file)
        if resp.status_code >= 400:
            raise StackError(f"azuresim refused {method} {path}: {resp.status_code} {resp.text[:300]}")

    def put(self, path: str, body: dict[str, Any], api_version: str) -> dict[str, Any]:
        url = f"{self.base_url}{path}?api-version={api_version}"
        # verify per request: a session's verify loses to $REQUESTS_CA_BUNDLE.
        resp = self.session.put(url, json=body, timeout=30, verify=self.ca_file)
        if resp.status_code >= 400:
            raise StackError(f"azuresim refused PUT {path}: {resp.status_code} {resp.text[:300]}")
        deadline = time.monotonic() + self.timeout
        while True:
            got = self.session.get(url, timeout=30, verify=self.ca_file)
            resource: dict[str, Any] = got.json() if got.content else {}
            state = (resource.get("properties") or {}).get("provisioningState")
            if got.status_code == 200 and state not in PENDING:
                return resource
            if time.monotonic() > deadline:
                raise StackError(f"{path} is still {state} after {self.timeout:.0f}s in azuresim")
            time.sleep(self.poll_seconds)


def seed_examples(arm: SimArm) -> list[str]:
    """Create the groups, identities, network and gallery the examples use; the ids created."""
    made = []
    for group in GROUPS:
        made.append(arm.put(arm.path(group), {"location": LOCATION}, "2024-03-01")["id"])
    for identity in IDENTITIES:
        path = arm.path("rg-image-builder", f"Microsoft.ManagedIdentity/userAssignedIdentities/{identity}")
        made.append(arm.put(path, {"location": LOCATION}, "2023-01-31")["id"])
    vnet = arm.path("rg-network", "Microsoft.Network/virtualNetworks/vnet-build")
    made.append(arm.put(vnet, _vnet(), "2024-05-01")["id"])
    gallery = arm.path("rg-image-gallery", f"Microsoft.Compute/galleries/{GALLERY}")
    made.append(arm.put(gallery, {"location": LOCATION, "properties": {}}, "2024-03-03")["id"])
    for name, os_type, generation, security in IMAGE_DEFINITIONS:
        body = _definition(name, os_type, generation, security)
        made.append(arm.put(f"{gallery}/images/{name}", body, "2024-03-03")["id"])
    vault = {"location": LOCATION, "properties": {"sku": {"name": "standard"}}}
    made.append(arm.put(KEY_VAULT, vault, "2023-07-01")["id"])
    arm.control("PUT", "/_sim/runcommand-outcomes", RUN_COMMAND_OUTCOMES)
    return made


def _vnet() -> dict[str, Any]:
    aci = {"name": "aci", "properties": {"serviceName": "Microsoft.ContainerInstance/containerGroups"}}
    return {
        "location": LOCATION,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.20.0.0/16"]},
            "subnets": [
                {"name": "snet-build-vms", "properties": {"addressPrefix": "10.20.1.0/24"}},
                {
                    "name": "snet-build-aci",
                    "properties": {"addressPrefix": "10.20.2.0/24", "delegations": [aci]},
                },
            ],
        },
    }


def _definition(name: str, os_type: str, generation: str, security: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "osType": os_type,
        "osState": "Generalized",
        "hyperVGeneration": generation,
        "identifier": {"publisher": "kiln-local", "offer": "examples", "sku": name},
    }
    if security:
        props["features"] = [{"name": "SecurityType", "value": security}]
    return {"location": LOCATION, "properties": props}
