"""Credentials out of every URL kiln echoes: ``user:pass@`` and SAS signatures (``sig=``).

A template may carry a script URL with a password in its authority or a shared access signature in its
query. kiln never sends either (Azure Storage artifacts are read with an identity, and the fetcher refuses
credentials in a URL), so whatever kiln repeats — run messages, ``lastRunStatus``, logs, the Durable history,
API responses — shows the URL with those parts replaced by ``REDACTED``.
"""

from __future__ import annotations

import re
from typing import Any

MARK = "REDACTED"
# The authority's userinfo: what lies between "scheme://" and "@" before the first "/", "?" or "#".
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@\"'<>]+@")
# A SAS signature in a query string, plain or percent-encoded (a URL inside another URL's query).
_SIGNATURE = re.compile(r"(?i)((?:[?&]|%3F|%26)sig(?:=|%3D))[^&#\s\"'<>]+")
_MAX_DEPTH = 64


def url(value: str) -> str:
    """``value`` (a URL, or any text holding URLs) with userinfo and SAS signatures replaced."""
    if "@" not in value and "sig" not in value.lower():
        return value
    return _SIGNATURE.sub(rf"\g<1>{MARK}", _USERINFO.sub(rf"\g<1>{MARK}@", value))


text = url


def has_credentials(value: str) -> bool:
    """Whether redaction would change ``value``."""
    return url(value) != value


def deep(value: Any, *, _depth: int = 0) -> Any:
    """A copy of a JSON value with every string redacted (nesting past 64 levels is returned as is)."""
    if _depth > _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return url(value)
    if isinstance(value, dict):
        return {k: deep(v, _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [deep(v, _depth=_depth + 1) for v in value]
    return value


# The fields of a template that name something kiln downloads.
ARTIFACT_FIELDS = frozenset({"scriptUri", "sourceUri"})


def artifact_uris(template: Any, *, keep_signatures: bool = False, _depth: int = 0) -> Any:
    """A copy of a template (wire form) with its scriptUri / sourceUri values redacted.

    ``keep_signatures`` keeps a ``sig=`` (a signed URL, of Azure Storage or another host, is what kiln must
    send to read it); userinfo goes either way. Inline commands are left alone: they are the template's
    script, not an echo.
    """
    if _depth > _MAX_DEPTH:
        return template
    if isinstance(template, list):
        return [artifact_uris(v, keep_signatures=keep_signatures, _depth=_depth + 1) for v in template]
    if not isinstance(template, dict):
        return template
    out: dict[str, Any] = {}
    for key, value in template.items():
        if key in ARTIFACT_FIELDS and isinstance(value, str):
            out[key] = _USERINFO.sub(rf"\g<1>{MARK}@", value) if keep_signatures else url(value)
        else:
            out[key] = artifact_uris(value, keep_signatures=keep_signatures, _depth=_depth + 1)
    return out
