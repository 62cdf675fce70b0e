"""azuresim's control plane for e2e tests: inventory, leftovers, request log, faults, run-command outcomes,
gallery image definitions and the Key Vault's secret values. A mixin of ``KilnStack``."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from cli.local_procs import Proc
from cli.local_seed import LOCATION, SUBSCRIPTION, SimArm
from shared import naming

# What a run creates and must delete (the staging group and its storage account may stay, as in AIB).
TEMPORARY_TYPES = frozenset(
    t.lower()
    for t in (
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/disks",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/virtualNetworks",
    )
)
GALLERY_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-image-gallery"
    "/providers/Microsoft.Compute/galleries/gal_platform_images"
)


class SimControl:
    """Needs ``proc(name)``, ``state`` and ``sim_arm()`` (``cli.local_stack.LocalStack`` has them)."""

    state: Path
    _outcomes_lock = threading.Lock()  # scenarios add outcomes from several threads

    def proc(self, name: str) -> Proc:
        raise NotImplementedError

    def sim_arm(self) -> SimArm:
        raise NotImplementedError

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call azuresim's control plane (``/_sim/...``)."""
        sim = self.proc("azuresim").info
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            sim["base_url"] + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        context = ssl.create_default_context(cafile=sim["ca_file"])
        with urllib.request.urlopen(req, context=context, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def inventory(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.control("GET", "/_sim/inventory")["resources"]
        return items

    def leftovers(self, run_id: str) -> list[str]:
        """Temporary resources (VM, NIC, public IP, NSG, VNet, disk) still tagged with ``run_id``."""
        return [
            f"{r['type']} {r['id']}"
            for r in self.inventory()
            if (r.get("tags") or {}).get("kiln.run") == run_id and r["type"].lower() in TEMPORARY_TYPES
        ]

    def wait_deployments_settled(self, run_id: str, *, timeout: float = 60.0) -> None:
        """Wait until no deployment tagged with ``run_id`` is still running (a cancelled run's may be)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [
                r["id"]
                for r in self.inventory()
                if r["type"].lower() == "microsoft.resources/deployments"
                and r["name"].lower() == naming.deployment_name(run_id).lower()
                and r.get("provisioningState") in ("Running", "Accepted", "Creating")
            ]
            if not running:
                return
            time.sleep(0.5)
        raise AssertionError(f"deployments of {run_id} still running after {timeout:.0f}s")

    def request_log(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.control("GET", "/_sim/requests")["requests"]
        return items

    def add_fault(self, rule: dict[str, Any]) -> int:
        return int(self.control("POST", "/_sim/faults", rule)["id"])

    def remove_fault(self, rule_id: int) -> None:
        self.control("DELETE", f"/_sim/faults/{rule_id}")

    def faults(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.control("GET", "/_sim/faults")["rules"]
        return items

    def add_outcomes(self, *rules: dict[str, Any]) -> None:
        """Prepend run-command outcome rules (first match wins) to the ones already set.

        A rule's ``pattern`` is searched in the whole command kiln sends, where the step's own script is
        base64: match the step's name, which is in the command's ``# kiln: <phase> step <i> '<name>'`` line.
        """
        with self._outcomes_lock:
            current = self.control("GET", "/_sim/runcommand-outcomes") or []
            self.control("PUT", "/_sim/runcommand-outcomes", [*rules, *current])

    def define_image(
        self, name: str, *, os_type: str = "Linux", security: str = "TrustedLaunchSupported"
    ) -> str:
        """A gallery image definition of the seeded gallery (one per test keeps versions and faults apart)."""
        props: dict[str, Any] = {
            "osType": os_type,
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "kiln-e2e", "offer": "tests", "sku": name},
            "features": [{"name": "SecurityType", "value": security}],
        }
        resource: dict[str, Any] = self.sim_arm().put(
            f"{GALLERY_ID}/images/{name}", {"location": LOCATION, "properties": props}, "2024-03-03"
        )
        return str(resource["id"])

    def admin_passwords(self) -> list[str]:
        """Every secret value azuresim's Key Vault holds or held (its state file; deleted ones too)."""
        self.control("GET", "/_sim/health")
        time.sleep(0.2)  # the state file is written ~50 ms after each change
        state = json.loads((self.state / "azuresim.json").read_text())
        values = []
        for bucket in ("keyvault.secrets", "keyvault.deleted"):
            for secret in (state.get("control", {}).get(bucket) or {}).values():
                values += [v["value"] for v in secret.get("versions", []) if v.get("value")]
        return values
