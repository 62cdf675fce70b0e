"""Phase 3, the staging resource group: ``IT_<rg>_<template>_<guid>``, or the one the template names.

The group belongs to the template, not to the run (AIB keeps it until the template is deleted), so the
run has no undo for it. Its GUID derives from the template key: a retry, and every later run of the
same template, lands in the same group.
"""

from __future__ import annotations

from typing import Any

from activities.support.context import (
    guard,
    region_key,
    run_tags,
    template_id,
)
from shared import naming
from shared.models import staging_resource_group_name
from shared.models.build import PhaseFailed, RunRef, StagingPlan
from shared.models.durable import StagingInput, StagingOutput
from shared.models.resource_ids import ResourceIdError, parse_resource_id
from shared.ports import BuildPorts


def staging_guid(run: RunRef) -> str:
    """The GUID in the default staging group's name: fixed for a template, so retries repeat the name."""
    return naming.staging_group_guid(run.subscription_id, run.resource_group, run.template_name)


def default_staging_group(run: RunRef) -> str:
    """AIB's ``IT_<rg>_<template>_<guid>`` name for the run's template."""
    return staging_resource_group_name(run.resource_group, run.template_name, staging_guid(run))


def given_staging_group(staging_resource_group_id: str | None) -> str | None:
    """The name of the staging group the template gives (a resource group id), if any."""
    if not staging_resource_group_id:
        return None
    rid = parse_resource_id(staging_resource_group_id)
    return rid.resource_group


def aib_tags(run: RunRef, *, created: bool) -> dict[str, str]:
    """AIB's staging-group tags: who made or uses it and for which template."""
    return {
        naming.CREATED_BY_TAG if created else naming.USED_BY_TAG: naming.KILN,
        naming.TEMPLATE_NAME_TAG: run.template_name,
        naming.TEMPLATE_GROUP_TAG: run.resource_group,
    }


def run(inp: StagingInput, *, ports: BuildPorts) -> StagingOutput:
    """Create the staging group (or tag the given, existing one) and return its id."""
    try:
        managed = inp.template.properties.managedResourceTags or {}
        name = inp.plan.resource_group
        with guard("staging", name):
            existing = (
                ports.resource_groups.get(name=name) if ports.resource_groups.exists(name=name) else None
            )
            if existing is None or inp.plan.create:
                tags = {**(existing.tags if existing else {}), **run_tags(inp.run, managed)}
                tags.update(aib_tags(inp.run, created=True))
                tags.pop(naming.RUN_TAG, None)  # the group outlives the run: the janitor must not sweep it
                tags.pop(naming.EXPIRES_TAG, None)
                group = ports.resource_groups.create(name=name, location=inp.run.location, tags=tags)
            else:
                # A pre-existing group: its own tags are kept, AIB's usedBy tags are added.
                tags = {**existing.tags, **managed, **aib_tags(inp.run, created=False)}
                group = ports.resource_groups.create(name=name, location=existing.location, tags=tags)
        return StagingOutput(resource_group_id=group.id)
    except PhaseFailed as e:
        return StagingOutput(error=e.error)


def plan_for(run: RunRef, given: str | None, exists: bool) -> StagingPlan:
    """The staging plan preflight hands on: which group, whether kiln creates it, the storage account."""
    name = given or default_staging_group(run)
    return StagingPlan(
        resource_group=name,
        create=given is None or not exists,
        storage_account=naming.staging_account_of_run(run.run_id),
    )


def _problem(message: str) -> dict[str, Any]:
    return {
        "code": "BadStagingResourceGroup",
        "target": "properties.stagingResourceGroup",
        "message": message,
    }


def check(run: RunRef, given_id: str | None, ports: BuildPorts) -> tuple[StagingPlan, list[dict[str, Any]]]:
    """Check a given staging group against AIB's rules (contract §7) and plan the staging group.

    A given group that is missing is created; an existing one must be empty, in the template's region and
    not tagged for another template.

    Returns:
        The staging plan and the problems found (ARM error details).
    """
    try:
        given = given_staging_group(given_id)
    except ResourceIdError as e:
        return plan_for(run, None, False), [_problem(str(e))]
    if given is None or not ports.resource_groups.exists(name=given):
        return plan_for(run, given, False), []
    group = ports.resource_groups.get(name=given)
    problems = []
    if region_key(group.location) != region_key(run.location):
        problems.append(
            _problem(
                f"the resource group is in {group.location}, not in the template's region {run.location}"
            )
        )
    owner = (group.tags.get(naming.TEMPLATE_GROUP_TAG), group.tags.get(naming.TEMPLATE_NAME_TAG))
    if owner != (None, None) and (str(owner[0]).lower(), str(owner[1]).lower()) != (
        run.resource_group.lower(),
        run.template_name.lower(),
    ):
        problems.append(_problem(f"the resource group is used by the image template '{owner[0]}/{owner[1]}'"))
    # What an earlier run of this template left (its staging storage account) does not count.
    ours = template_id(run).lower()
    foreign = [
        r.name
        for r in ports.resources.list_in_group(resource_group=given)
        if r.tags.get(naming.TEMPLATE_TAG, "").lower() != ours
    ]
    if foreign:
        problems.append(
            _problem(f"the resource group must be empty; it holds {', '.join(sorted(foreign)[:5])}")
        )
    created_by_us = group.tags.get(naming.CREATED_BY_TAG) == naming.KILN and owner != (None, None)
    return plan_for(run, given, not created_by_us), problems
