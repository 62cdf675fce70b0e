"""Sub-resources (runOutputs, triggers) and the PATCH body of a template (contract §8)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.models.distribute import Distributor
from shared.models.fields import Tags, WireModel
from shared.models.template import Identity, ProvisioningState, SystemData, Timestamp, VmProfile


class RunOutputProperties(WireModel):
    """The artifact: a managed image or gallery image version id, or a VHD's URI."""

    artifactId: str | None = None
    artifactUri: str | None = None
    provisioningState: ProvisioningState | None = None  # read-only
    # kiln's, read-only: the provenance tags the published image carries (docs/cycles.md)
    provenance: dict[str, str] | None = None


class RunOutput(WireModel):
    """``imageTemplates/runOutputs``: the artifact one distribution target produced."""

    id: str | None = None
    name: str | None = None
    type: str | None = None
    systemData: SystemData | None = None
    properties: RunOutputProperties | None = None


class TriggerStatus(WireModel):
    """Read-only health of a trigger, e.g. ``Healthy`` / ``Trigger is active.``."""

    code: str | None = None
    message: str | None = None
    time: Timestamp | None = None


class TriggerProperties(WireModel):
    """``SourceImage`` (AIB's): build again when the source image gets a new version. ``Schedule`` (kiln's
    extension, docs/cycles.md): build on a cron schedule in a time zone, in a patch cycle.
    """

    kind: Literal["SourceImage", "Schedule"]
    # Schedule only: a five-field cron or six-field NCRONTAB expression, read in timeZone (IANA).
    schedule: str | None = None
    timeZone: str | None = None
    # always: build every time it comes due; whenChanged: only when an input changed since the last success.
    mode: Literal["always", "whenChanged"] | None = None
    cycleName: str | None = None  # templates whose schedules share a cycle name are built in one cycle
    status: TriggerStatus | None = None  # read-only
    provisioningState: ProvisioningState | None = None  # read-only


class Trigger(WireModel):
    """``imageTemplates/triggers``."""

    id: str | None = None  # read-only
    name: str | None = None  # read-only
    type: str | None = None  # read-only
    systemData: SystemData | None = None  # read-only
    properties: TriggerProperties


class TemplateUpdateProperties(WireModel):
    """The two parts of ``properties`` a PATCH may replace."""

    distribute: Annotated[list[Distributor], Field(min_length=1)] | None = None
    vmProfile: VmProfile | None = None


class ImageTemplateUpdate(WireModel):
    """PATCH body ``ImageTemplateUpdateParameters``: only identity, tags, distribute and vmProfile change."""

    identity: Identity | None = None
    tags: Tags | None = None
    properties: TemplateUpdateProperties | None = None


ImageTemplateUpdateParameters = ImageTemplateUpdate  # the swagger's name for the PATCH body
