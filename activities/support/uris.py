"""Every script and file a template downloads (customizers, validators, optimize.workload), in build order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from shared.models import FileCustomizer
from shared.models.customizers import Customizer
from shared.models.template import ImageTemplate
from shared.redact import STORAGE_SUFFIXES


@dataclass(frozen=True)
class ArtifactUri:
    """One URI a step needs, where it comes from in the template, and the checksum it must have."""

    phase: Literal["customize", "validate", "optimize"]
    index: int
    field: str  # JSON path, for error details
    uri: str
    sha256: str
    name: str = ""  # the customizer's or validator's name, when it has one


def artifact_uris(template: ImageTemplate) -> Iterator[ArtifactUri]:
    """Yield every scriptUri / sourceUri of the template."""
    props = template.properties
    steps: list[tuple[Literal["customize", "validate"], str, Customizer]]
    steps = [("customize", "properties.customize", c) for c in props.customize or []]
    validators = props.validate_.inVMValidations if props.validate_ else None
    steps += [("validate", "properties.validate.inVMValidations", v) for v in validators or []]
    counters: dict[str, int] = {}  # a step's index is its position in its list
    for phase, path, step in steps:
        index = counters.get(phase, 0)
        counters[phase] = index + 1
        key = "sourceUri" if isinstance(step, FileCustomizer) else "scriptUri"
        uri = getattr(step, key, None)
        if uri:
            yield ArtifactUri(
                phase,
                index,
                f"{path}[{index}].{key}",
                uri,
                getattr(step, "sha256Checksum", ""),
                getattr(step, "name", None) or "",
            )
    workload = props.optimize.workload if props.optimize else None
    if workload is not None and workload.scriptUri and workload.state != "Disabled":
        field = "properties.optimize.workload.scriptUri"
        yield ArtifactUri("optimize", 0, field, workload.scriptUri, workload.sha256Checksum)


def is_storage_url(uri: str) -> bool:
    """Whether ``uri`` points into an Azure Storage account's blob service."""
    host = (urlsplit(uri).hostname or "").lower()
    return host.endswith(STORAGE_SUFFIXES)


def user_sas(uri: str) -> str:
    """The SAS query of a storage URL (``sv=…&sig=…``), or "" when it carries no signature."""
    query = urlsplit(uri).query
    return query if "sig" in parse_qs(query) else ""


def split_blob_url(uri: str) -> tuple[str, str, str]:
    """``https://acct.blob.core.windows.net/container/a/b.sh?sv=…`` → (account URL, container, blob name);
    the query (a SAS) is not part of any of them."""
    parts = urlsplit(uri)
    path = unquote(parts.path).lstrip("/")
    container, _, name = path.partition("/")
    return f"{parts.scheme}://{parts.netloc}", container, name
