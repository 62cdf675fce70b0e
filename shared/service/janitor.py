"""The janitor: the backstop that removes what runs left behind (user-pain-points 1).

Compensation inside a run is the first line; this sweep, run by a timer, catches the rest: build resources
tagged ``kiln.run`` whose run has finished (its run document is terminal) or whose ``kiln.expiresAt`` has
passed, groups tagged ``kiln.run`` likewise, staging resource groups kiln created for a template that no
longer exists, and staging storage accounts (tagged with ``kiln.template`` only) of such a template.
Deletes follow Azure's dependency order (VM, NIC, public IP / NSG, VNet, disks); one that Azure refuses
(still in use, throttled) is left for the next sweep.

What it never touches: a run's outputs (images, gallery versions, VHDs are not build resource types), the
staging storage account of a living template (it holds the logs, as AIB keeps them), and the build VM of a
run that failed with ``errorHandling: abort`` (its run document's ``keptBuildVm``; kept for debugging until
the template is deleted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from shared import naming
from shared.errors import AzureError, AzureNotFound
from shared.models.resource_ids import DELETE_ORDER, delete_rank
from shared.service import run_documents as rd
from shared.store import JsonStore, TemplateRef, keys

if TYPE_CHECKING:
    from shared.ports import AzurePortSet

STORAGE_ACCOUNT = "microsoft.storage/storageaccounts"


@dataclass
class SweepReport:
    """What one sweep deleted and what it had to leave (with why)."""

    deleted: list[str] = field(default_factory=list)
    groups_deleted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def template_ref(template_id: str) -> TemplateRef | None:
    """The template an ARM id names (``kiln.template`` tag), or None if it is not one."""
    parts = template_id.strip("/").split("/")
    if len(parts) != 8 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups":
        return None
    return TemplateRef(parts[1], parts[3], parts[7])


class Janitor:
    """The janitor service operation: sweeps the subscription for what runs left behind."""

    def __init__(self, azure: AzurePortSet, store: JsonStore) -> None:
        self._azure = azure
        self._store = store

    def sweep(self, *, now: datetime) -> SweepReport:
        """One sweep: delete what finished, expired or orphaned runs left; never raises for one resource."""
        return _Sweep(self._azure, self._store, now=now).run()


class _Sweep:
    """One sweep's decisions, from tags and kiln's run documents (run states are looked up once each)."""

    def __init__(self, ports: AzurePortSet, store: JsonStore, *, now: datetime) -> None:
        self._ports = ports
        self._store = store
        self._now = now
        self._runs: dict[str, str] = {}  # run id -> "live" | "finished" | "kept" | "orphan"

    def run(self) -> SweepReport:
        """Delete what is left behind; never raises for one resource's failure."""
        report = SweepReport()
        self._sweep_resources(report)
        self._sweep_orphan_staging_accounts(report)
        self._sweep_run_groups(report)
        self._sweep_staging_groups(report)
        return report

    def _state(self, tags: dict[str, str]) -> str:
        run_id = tags.get(naming.RUN_TAG, "")
        if run_id not in self._runs:
            self._runs[run_id] = self._lookup(tags)
        return self._runs[run_id]

    def _lookup(self, tags: dict[str, str]) -> str:
        ref = template_ref(tags.get(naming.TEMPLATE_TAG, ""))
        if ref is None or self._store.get(keys.template(ref)) is None:
            return "orphan"
        run = self._store.get(keys.child(keys.RUNS, ref, tags.get(naming.RUN_TAG, "")))
        if run is None or not rd.is_finished(run.body):
            return "live"
        return "kept" if rd.keeps_build_vm(run.body) else "finished"

    def _expired(self, tags: dict[str, str]) -> bool:
        stamp = tags.get(naming.EXPIRES_TAG)
        if not stamp:
            return False
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")) < self._now
        except ValueError:
            return False

    def _due(self, tags: dict[str, str], resource_type: str = "") -> str | None:
        """Why the thing may go (None: it stays)."""
        state = self._state(tags)
        if state == "orphan":
            return "its template no longer exists"
        if resource_type.lower() == STORAGE_ACCOUNT or state == "kept":
            return None
        if state == "finished":
            return "its run has finished"
        return "its run expired" if self._expired(tags) else None

    def _sweep_resources(self, report: SweepReport) -> None:
        found = self._ports.resources.list_by_tag(tag_name=naming.RUN_TAG)
        build = [r for r in found if r.type.lower() in DELETE_ORDER or r.type.lower() == STORAGE_ACCOUNT]
        for resource in sorted(build, key=lambda r: delete_rank(r.type)):
            if self._due(resource.tags, resource.type) is not None:
                self._delete(resource.id, report)

    def _sweep_orphan_staging_accounts(self, report: SweepReport) -> None:
        """Staging accounts carry only template tags: one goes when its template is gone (a pre-existing
        staging group is not deleted with the template, so its account would otherwise stay)."""
        found = self._ports.resources.list_by_tag(tag_name=naming.TEMPLATE_TAG)
        for resource in found:
            if resource.type.lower() != STORAGE_ACCOUNT or naming.RUN_TAG in resource.tags:
                continue  # an account still tagged with a run (older deployments) is handled above
            if self._template_exists(resource.tags):
                continue
            self._delete(resource.id, report)

    def _template_exists(self, tags: dict[str, str]) -> bool:
        ref = template_ref(tags.get(naming.TEMPLATE_TAG, ""))
        return ref is not None and self._store.get(keys.template(ref)) is not None

    def _delete(self, resource_id: str, report: SweepReport) -> None:
        try:
            self._ports.resources.begin_delete_by_id(resource_id=resource_id)
        except AzureNotFound:
            pass
        except AzureError as e:  # in use, throttled, locked: the next sweep tries again
            report.skipped[resource_id] = f"{e.code}: {e.message}"
            return
        report.deleted.append(resource_id)

    def _sweep_run_groups(self, report: SweepReport) -> None:
        for group in self._ports.resource_groups.list_by_tag(tag_name=naming.RUN_TAG):
            if self._due(group.tags) is not None:
                self._delete_group(group.name, report)

    def _sweep_staging_groups(self, report: SweepReport) -> None:
        groups = self._ports.resource_groups.list_by_tag(
            tag_name=naming.CREATED_BY_TAG, tag_value=naming.KILN
        )
        for group in groups:
            rg, name = group.tags.get(naming.TEMPLATE_GROUP_TAG), group.tags.get(naming.TEMPLATE_NAME_TAG)
            if not rg or not name:
                continue
            subscription = group.id.strip("/").split("/")[1]
            doc = self._store.get(keys.template(TemplateRef(subscription, rg, name)))
            if doc is None:
                self._delete_group(group.name, report)

    def _delete_group(self, name: str, report: SweepReport) -> None:
        try:
            self._ports.resource_groups.begin_delete(name=name)
        except AzureError as e:
            report.skipped[name] = f"{e.code}: {e.message}"
            return
        report.groups_deleted.append(name)
