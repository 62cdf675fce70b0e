"""A run's input fingerprint: what the image is made from, so kiln can tell whether a build would change it.

Three parts, recorded in every run document (``properties.inputs``, docs/cycles.md):

* ``sourceVersion``: the source's exact version (the Marketplace version, the gallery image version's id, the
  managed image's id), as ``exactVersion`` shows it;
* ``templateHash``: the sha256 of the canonical JSON of the template properties that shape the image —
  ``source`` (without read-only fields), ``customize``, ``optimize`` and ``vmProfile.osDiskSizeGB``. Where the
  image goes (``distribute``), how it is checked (``validate``), how the build runs (``vmProfile`` otherwise,
  ``buildTimeoutInMinutes``, ``errorHandling``, ``stagingResourceGroup``), ``identity`` and tags do not
  change the image and are left out;
* ``artifacts``: the sha256 of every script and file the build downloads, by step (``customize[0]``).

The fingerprint is the sha256 of the three together. Versions and ids compare without regard to case, as ARM
ids do. Pure functions on plain JSON: the service computes a template's fingerprint before a build, the run's
recorder while it builds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_SOURCE_READ_ONLY = ("exactVersion",)


@dataclass(frozen=True)
class ArtifactRef:
    """A script or file the template downloads: its step key (``customize[0]``), URI and declared sha256."""

    key: str
    uri: str
    sha256: str


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def template_hash(spec: Mapping[str, Any]) -> str:
    """The sha256 of the image-shaping properties of a stored template (``spec``: its wire form)."""
    props = spec.get("properties") or {}
    source = {k: v for k, v in (props.get("source") or {}).items() if k not in _SOURCE_READ_ONLY}
    shaping = {
        "source": source,
        "customize": props.get("customize") or [],
        "optimize": props.get("optimize") or {},
        "osDiskSizeGB": (props.get("vmProfile") or {}).get("osDiskSizeGB") or 0,
    }
    return hashlib.sha256(_canonical(shaping)).hexdigest()


def artifact_key(phase: str, index: int) -> str:
    """How a run document names a step's artifact: ``customize[0]``, ``validate[1]``, ``optimize[0]``."""
    return f"{phase}[{index}]"


def artifacts(spec: Mapping[str, Any]) -> Iterator[ArtifactRef]:
    """Every scriptUri / sourceUri the template downloads, keyed as the artifacts phase stages them."""
    props = spec.get("properties") or {}
    validators = (props.get("validate") or {}).get("inVMValidations") or []
    for phase, steps in (("customize", props.get("customize") or []), ("validate", validators)):
        for index, step in enumerate(steps):
            key = "sourceUri" if step.get("type") == "File" else "scriptUri"
            if step.get(key):
                yield ArtifactRef(
                    artifact_key(phase, index), step[key], str(step.get("sha256Checksum") or "")
                )
    workload = (props.get("optimize") or {}).get("workload") or {}
    if workload.get("scriptUri") and workload.get("state") != "Disabled":
        yield ArtifactRef(
            artifact_key("optimize", 0), workload["scriptUri"], str(workload.get("sha256Checksum") or "")
        )


def fingerprint(source_version: str | None, template: str | None, hashes: Mapping[str, str]) -> str:
    """The sha256 of the three parts together (versions lower-cased, artifacts in key order)."""
    parts = {
        "sourceVersion": (source_version or "").lower(),
        "templateHash": template or "",
        "artifacts": {k: v.lower() for k, v in sorted(hashes.items())},
    }
    return hashlib.sha256(_canonical(parts)).hexdigest()


def inputs(source_version: str | None, template: str | None, hashes: Mapping[str, str]) -> dict[str, Any]:
    """The ``properties.inputs`` object of a run document."""
    return {
        "sourceVersion": source_version,
        "templateHash": template,
        "artifacts": dict(sorted(hashes.items())),
        "fingerprint": fingerprint(source_version, template, hashes),
    }
