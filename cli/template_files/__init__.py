"""Reading the template files people really have: tolerant JSON, then the template(s) inside any wrapper.

Entry points: ``read_template_file(path, params=...)`` / ``parse_template_text(text, params=...)`` return a
list of ``FoundTemplate``; ``validate_found(found)`` runs kiln's validator on one of them.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from pathlib import Path

from cli.template_files.arm import placeholder_names
from cli.template_files.found import (
    DEFAULT_API_VERSION,
    VALIDATABLE_API_VERSIONS,
    FoundTemplate,
    TemplateFileError,
    join_path,
)
from cli.template_files.jsonc import JsonSyntaxError, loads_tolerant
from cli.template_files.verdict import Verdict, validate_found
from cli.template_files.wrappers import find_templates

__all__ = [
    "DEFAULT_API_VERSION",
    "VALIDATABLE_API_VERSIONS",
    "FoundTemplate",
    "JsonSyntaxError",
    "TemplateFileError",
    "Verdict",
    "find_templates",
    "join_path",
    "loads_tolerant",
    "parse_template_text",
    "placeholder_names",
    "read_template_file",
    "validate_found",
]


def parse_template_text(text: str, *, params: Mapping[str, str] | None = None) -> list[FoundTemplate]:
    """Parse a file's text and find the templates in it.

    Args:
        text: JSON, comments and trailing commas allowed.
        params: ``--param`` substitutions (see ``find_templates``).

    Returns:
        Every body found, in file order.

    Raises:
        TemplateFileError: ``InvalidJson`` (with line and column) or ``NoTemplateFound``.
    """
    try:
        document = loads_tolerant(text)
    except JsonSyntaxError as exc:
        raise TemplateFileError("InvalidJson", f"The file is not valid JSON: {exc}.") from None
    return find_templates(document, params=params)


def read_template_file(path: str | Path, *, params: Mapping[str, str] | None = None) -> list[FoundTemplate]:
    """Read a template file (UTF-8, or UTF-16 with a byte-order mark) and find the templates in it.

    Raises:
        OSError: the file cannot be read.
        TemplateFileError: see ``parse_template_text``; undecodable text is ``InvalidJson``.
    """
    raw = Path(path).read_bytes()
    # Windows PowerShell 5's `>` and Out-File write UTF-16 with a BOM.
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TemplateFileError("InvalidJson", f"The file is not {encoding.upper()} text: {exc}.") from None
    return parse_template_text(text, params=params)
