"""Template bodies for the API tests: kiln's examples/ and the official REST examples, made concrete."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.support.fixtures import aib_fixtures

REPO = Path(__file__).resolve().parents[2]
REST_SPECS = "Azure_azure-rest-api-specs"
SUB = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
RG = "rg-images"
PROVIDER = "providers/Microsoft.VirtualMachineImages"


def template_path(name: str, *, rg: str = RG, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/{PROVIDER}/imageTemplates/{name}"


def example(name: str) -> dict[str, Any]:
    """A template from the repository's examples/ directory."""
    body: dict[str, Any] = json.loads((REPO / "examples" / f"{name}.json").read_text())
    return body


def example_names() -> list[str]:
    return sorted(p.stem for p in (REPO / "examples").glob("*.json"))


def rest_example(stem: str, *, sub: str = SUB) -> dict[str, Any]:
    """The request body of an official 2025-10-01 REST example, with its placeholders filled in."""
    path = next(aib_fixtures(REST_SPECS).glob(f"*__{stem}.json"))
    text = path.read_text().replace("{subscription-id}", sub)
    body: dict[str, Any] = json.loads(text)["parameters"]["parameters"]
    # The example's distribute location is the literal "1_location", not a region.
    for target in body.get("properties", {}).get("distribute", []):
        if target.get("location") == "1_location":
            target["location"] = "westus"
    return body


def ubuntu() -> dict[str, Any]:
    """A trigger-eligible template (PlatformImage 'latest', SharedImage definition target)."""
    return copy.deepcopy(example("ubuntu-2404-gallery-3-regions"))
