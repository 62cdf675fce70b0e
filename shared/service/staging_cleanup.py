"""What DELETE of a template removes in Azure, driven by polls of the delete's async operation.

AIB deletes the staging resource group it created (also a named one it had to create), and for a
pre-existing group only what it put inside. kiln does the same: groups tagged ``createdBy: kiln`` for this
template are deleted whole; in a group kiln only used, the resources tagged ``kiln.template`` = this template
are deleted in dependency order. A run in flight is cancelled first (the DELETE function raises the event);
until the run has ended the operation stays InProgress. Each poll of the operation (status or Location
endpoint) calls ``advance``, so no HTTP call blocks for minutes and nothing needs a second orchestration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared import naming
from shared.errors import AzureNotFound, TransientAzureError
from shared.models.resource_ids import delete_rank
from shared.service import run_documents as rd
from shared.store import JsonStore, TemplateRef, keys

if TYPE_CHECKING:
    from shared.ports import AzurePortSet, ResourceGroups


class StagingCleanup:
    """The ``CleanupHook`` of kiln's build flow."""

    def __init__(self, store: JsonStore, *, azure: AzurePortSet) -> None:
        self._store = store
        self._azure = azure

    def begin_delete(self, *, ref: TemplateRef, template: dict[str, Any], operation_id: str) -> bool:
        """Start the cleanup; True if it finished at once (no run in flight, nothing left in Azure)."""
        if template["kiln"].get("activeRun"):
            return False
        return self.advance(ref=ref, template=template)

    def advance(self, *, ref: TemplateRef, template: dict[str, Any]) -> bool:
        """One step of the cleanup; True when nothing of the template is left.

        Raises:
            AzureError: a permanent failure (the delete then fails and can be retried).
        """
        if not template["kiln"].get("runCounter"):
            return True  # kiln creates staging resources only when a template runs: this one never did
        active = template["kiln"].get("activeRun")
        if active:
            run = self._store.get(keys.child(keys.RUNS, ref, active))
            if run is not None and not rd.is_finished(run.body):
                return False
        try:
            return self._sweep(ref, template)
        except TransientAzureError:
            return False

    def _sweep(self, ref: TemplateRef, template: dict[str, Any]) -> bool:
        groups, resources = self._azure.resource_groups, self._azure.resources
        template_id = template["readOnly"]["id"]
        done = True
        for name in self._staging_groups(ref, template, groups):
            try:
                info = groups.get(name=name)
            except AzureNotFound:
                continue
            if _ours(info.tags, ref, naming.CREATED_BY_TAG):
                groups.begin_delete(name=name)
                done = done and not groups.exists(name=name)
                continue
            left = [
                r
                for r in resources.list_in_group(resource_group=name)
                if keys.fold(r.tags.get(naming.TEMPLATE_TAG, "")) == keys.fold(template_id)
            ]
            for resource in sorted(left, key=lambda r: delete_rank(r.type)):
                try:
                    resources.begin_delete_by_id(resource_id=resource.id)
                except TransientAzureError:  # still in use: the next poll tries again
                    done = False
                    break
            remaining = [
                r
                for r in resources.list_in_group(resource_group=name)
                if keys.fold(r.tags.get(naming.TEMPLATE_TAG, "")) == keys.fold(template_id)
            ]
            done = done and not remaining
        return done

    @staticmethod
    def _staging_groups(ref: TemplateRef, template: dict[str, Any], groups: ResourceGroups) -> list[str]:
        """The template's staging group by id, plus any group tagged as made or used for it."""
        names: list[str] = []
        staging = template["readOnly"].get("exactStagingResourceGroup") or ""
        if "/resourceGroups/" in staging:
            names.append(staging.rsplit("/resourceGroups/", 1)[1].split("/")[0])
        for group in groups.list_by_tag(tag_name=naming.TEMPLATE_NAME_TAG):
            if _ours(group.tags, ref, None) and keys.fold(group.name) not in {keys.fold(n) for n in names}:
                names.append(group.name)
        return names


def _ours(tags: dict[str, str], ref: TemplateRef, marker: str | None) -> bool:
    """Whether a group's AIB tags name this template (and, with ``marker``, that kiln made it)."""
    same = keys.fold(tags.get(naming.TEMPLATE_NAME_TAG, "")) == keys.fold(ref.name) and keys.fold(
        tags.get(naming.TEMPLATE_GROUP_TAG, "")
    ) == keys.fold(ref.resource_group)
    return same and (marker is None or tags.get(marker) == naming.KILN)
