"""Every name kiln gives to something it creates, derived from the template or the run id.

An activity that runs twice (Durable runs activities at least once) computes the same names and so repeats the
same PUT instead of creating a twin (architecture decision 3). Nothing here reads a clock or a random source.
"""

from __future__ import annotations

import hashlib
import re
import uuid

# kiln's own tags on everything a run creates (the janitor sweeps by them).
RUN_TAG = "kiln.run"
TEMPLATE_TAG = "kiln.template"
EXPIRES_TAG = "kiln.expiresAt"
# On a build's outputs instead of kiln.run: the janitor must never sweep what a build produced.
OUTPUT_RUN_TAG = "kiln.outputOfRun"
# Provenance on every image a build publishes (gallery image versions, managed images), beside
# kiln.outputOfRun: which template made it, from which exact source version, from which inputs.
OUTPUT_TEMPLATE_TAG = "kiln.outputOfTemplate"
SOURCE_VERSION_TAG = "kiln.sourceVersion"
FINGERPRINT_TAG = "kiln.fingerprint"
_TAG_VALUE_LIMIT = 256  # Azure's longest tag value
# AIB's tags on a staging resource group (contract §9.12): who made or uses it, for which template.
CREATED_BY_TAG = "createdBy"
USED_BY_TAG = "usedBy"
TEMPLATE_NAME_TAG = "imageTemplateName"
TEMPLATE_GROUP_TAG = "imageTemplateResourceGroupName"
KILN = "kiln"

_UNSAFE = re.compile(r"[^a-z0-9]")


def _digest(*parts: str, length: int) -> str:
    joined = "\x1f".join(p.lower() for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:length]


def provenance_tags(
    *, run_id: str, template: str, source_version: str | None, fingerprint: str | None
) -> dict[str, str]:
    """The tags naming where a published image comes from (values cut to Azure's 256 characters)."""
    tags = {
        OUTPUT_RUN_TAG: run_id,
        OUTPUT_TEMPLATE_TAG: template,
        SOURCE_VERSION_TAG: source_version or "",
        FINGERPRINT_TAG: fingerprint or "",
    }
    return {k: v[:_TAG_VALUE_LIMIT] for k, v in tags.items() if v}


def template_key(subscription_id: str, resource_group: str, template_name: str) -> str:
    """A short, stable key for a template (ARM names are case-insensitive, so the key is too)."""
    return "t" + _digest(subscription_id, resource_group, template_name, length=15)


_STAGING_NAMESPACE = uuid.UUID("6f1c3d2e-5a4b-4c8d-9e0f-1a2b3c4d5e6f")


def staging_group_guid(subscription_id: str, resource_group: str, template_name: str) -> str:
    """The GUID in the default staging group's name (``IT_<rg>_<template>_<guid>``): fixed for a template, so
    the API shows at create the group every run then uses, and a retried activity repeats the same name."""
    return str(uuid.uuid5(_STAGING_NAMESPACE, template_key(subscription_id, resource_group, template_name)))


def run_id(
    subscription_id: str, resource_group: str, template_name: str, number: int, incarnation: str = ""
) -> str:
    """The run id, which is also the Durable instance id of the run's orchestration.

    ``incarnation`` tells apart templates re-created under the same name (their run counters start
    again): without it run 1 of the new template would reuse the names — and the soft-deleted Key Vault
    secret — of run 1 of the deleted one.
    """
    key = template_key(subscription_id, resource_group, template_name)
    suffix = f"-{_digest(incarnation, length=6)}" if incarnation else ""
    return f"{key}-run-{number:05d}{suffix}"


def template_key_of_run(run: str) -> str:
    """The template key a run id starts with."""
    return run.split("-run-", 1)[0]


def short_run(run: str) -> str:
    """Eight hex characters identifying a run, for names with tight length limits."""
    return _digest(run, length=8)


def build_vm_name(run: str) -> str:
    """The build VM, also its computer name: Windows computer names are limited to 15 characters."""
    return f"kiln{short_run(run)}"


def computer_name(run: str) -> str:
    """The build VM's computer (host) name: at most 15 characters, letters, digits and hyphens."""
    return build_vm_name(run)[:15]


def nic_name(run: str) -> str:
    return f"kiln-nic-{short_run(run)}"


def vnet_name(run: str) -> str:
    return f"kiln-vnet-{short_run(run)}"


def subnet_name(run: str) -> str:
    return "kiln-build"


def nsg_name(run: str) -> str:
    return f"kiln-nsg-{short_run(run)}"


def public_ip_name(run: str) -> str:
    return f"kiln-pip-{short_run(run)}"


def os_disk_name(run: str) -> str:
    return f"kiln-osdisk-{short_run(run)}"


def data_disk_name(run: str, lun: int) -> str:
    return f"kiln-datadisk-{short_run(run)}-{lun}"


def deployment_name(run: str) -> str:
    return f"kiln-build-{short_run(run)}"


def run_command_name(run: str, phase: str, index: int, attempt: int = 0) -> str:
    """One managed Run Command per step (and per Windows Update round or restart check)."""
    safe_phase = _UNSAFE.sub("", phase.lower())[:12]
    return f"kiln-{short_run(run)}-{safe_phase}-{index:03d}-{attempt:02d}"


def staging_storage_account_name(subscription_id: str, resource_group: str, template_name: str) -> str:
    """The staging storage account: one per template, kept with the staging resource group.

    Storage account names are 3-24 lower-case letters and digits, globally unique.
    """
    return staging_account_of_key(template_key(subscription_id, resource_group, template_name))


def staging_account_of_key(key: str) -> str:
    """The staging storage account of the template whose key is ``key`` (``kiln`` + 20 hex: 24 chars)."""
    return "kiln" + _digest("staging", key, length=20)


def staging_account_of_run(run: str) -> str:
    """The staging storage account a run writes to: its template's (every run of a template shares it)."""
    return staging_account_of_key(template_key_of_run(run))


def admin_secret_name(run: str) -> str:
    """The Key Vault secret holding the build VM's admin password (only the name travels in history)."""
    return f"kiln-admin-{short_run(run)}"


def managed_image_version_tag(run: str) -> str:
    return short_run(run)


# The build VM's local administrator (its password: a Key Vault secret per run, ``admin_secret_name``).
ADMIN_USERNAME = "kilnadmin"
LOG_CONTAINER = "packerlogs"
ARTIFACT_CONTAINER = "artifacts"
VHD_CONTAINER = "vhds"


def customization_log_blob(run: str) -> str:
    """AIB's name for the build log, under a folder per run in the ``packerlogs`` container."""
    return f"{run}/customization.log"


def step_output_blob(run: str, phase: str, index: int, attempt: int, stream: str) -> str:
    return f"{run}/steps/{run_command_name(run, phase, index, attempt)}.{stream}"


def artifact_blob(run: str, phase: str, index: int) -> str:
    return f"{run}/{phase}-{index:03d}"


def artifact_checksum_blob(run: str, phase: str, index: int) -> str:
    """The staged artifact's sha256 (64 hex characters) beside it: what the VM checks its download with."""
    return artifact_blob(run, phase, index) + ".sha256"


def vhd_blob(run: str, run_output_name: str) -> str:
    return f"{run}/{run_output_name}.vhd"
