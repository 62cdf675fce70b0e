"""Every script and file a template downloads (customizers, validators, optimize.workload), in build order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from shared.models import FileCustomizer
from shared.models.customizers import Customizer
from shared.models.template import ImageTemplate


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


# What a failed download says, in the words a user searches for: kiln's HTTPS fetcher's and the storage SDK's
# (urllib3 / aiohttp) phrasings of a DNS failure, a refused or reset connection and a timeout.
_REASONS = (
    (
        re.compile(
            r"could not resolve host '[^']*'|Name or service not known|nodename nor servname|"
            r"getaddrinfo failed|Temporary failure in name resolution|No address associated|"
            r"\[Errno -[235]\]",
            re.I,
        ),
        "could not resolve host",
    ),
    (re.compile(r"connection refused|\[Errno 111\]|ECONNREFUSED", re.I), "connection refused"),
    (re.compile(r"connection reset|\[Errno 104\]", re.I), "connection reset"),
    (re.compile(r"timed? ?out|no answer within", re.I), "timed out"),
)
_STATUS = re.compile(r"answered HTTP (\d{3})")


def plain_reason(message: str, host: str, status: int | None = None) -> str:
    """A failed artifact download's reason in plain words: "could not resolve host 'x'", "connection
    refused", "connection reset", "timed out" or "HTTP 404"; ``message`` itself when it is none of these."""
    for pattern, reason in _REASONS:
        if pattern.search(message):
            return f"{reason} '{host}'" if reason == "could not resolve host" else reason
    found = _STATUS.search(message)
    code = int(found.group(1)) if found else status
    if code and code >= 400:
        return f"HTTP {code}"
    return message
