"""Hypothesis strategies: valid image templates and random damage to them."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from shared.models.regions import AIB_REGION_DISPLAY_NAMES
from tests.models.builders import GALLERY_IMAGE, IDENTITY, MANAGED_IMAGE, RG, VNET

names = st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
uris = names.map(lambda n: f"https://example.com/scripts/{n}")
regions = st.sampled_from(AIB_REGION_DISPLAY_NAMES).flatmap(
    lambda r: st.sampled_from([r, r.replace(" ", "").lower(), r.upper()])
)
tags = st.dictionaries(names, text, max_size=3)

shell = st.fixed_dictionaries(
    {"type": st.just("Shell")},
    optional={"name": text, "sha256Checksum": st.just("0a" * 32)},
).flatmap(
    lambda d: st.one_of(
        st.lists(text, min_size=1, max_size=3).map(lambda lines: {**d, "inline": lines}),
        uris.map(lambda u: {**d, "scriptUri": u}),
    )
)
powershell = st.tuples(shell, st.booleans(), st.booleans(), st.lists(st.integers(-5, 5000), max_size=3)).map(
    lambda t: {
        **t[0],
        "type": "PowerShell",
        "runElevated": t[1] or t[2],
        "runAsSystem": t[2],
        "validExitCodes": t[3],
    }
)
file_step = st.fixed_dictionaries(
    {"type": st.just("File"), "sourceUri": uris, "destination": names.map(lambda n: f"/tmp/{n}")}
)
restart = st.fixed_dictionaries(
    {"type": st.just("WindowsRestart")},
    optional={
        "restartCommand": text,
        "restartCheckCommand": text,
        "restartTimeout": st.sampled_from(["5m", "1h30m", ""]),
    },
)
update = st.fixed_dictionaries(
    {"type": st.just("WindowsUpdate")},
    optional={
        "searchCriteria": text,
        "filters": st.lists(text, max_size=2),
        "updateLimit": st.integers(0, 2000),
    },
)
sources = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("PlatformImage"),
            "publisher": names,
            "offer": names,
            "sku": names,
            "version": names,
        },
        optional={
            "planInfo": st.fixed_dictionaries(
                {"planName": names, "planProduct": names, "planPublisher": names}
            )
        },
    ),
    names.map(lambda n: {"type": "ManagedImage", "imageId": f"{RG}/providers/Microsoft.Compute/images/{n}"}),
    st.sampled_from(["latest", "1.0.0", "2.13.7"]).map(
        lambda v: {"type": "SharedImageVersion", "imageVersionId": f"{GALLERY_IMAGE}/versions/{v}"}
    ),
)


def _distributor(kind: str, run_output: str, draw: Any) -> dict[str, Any]:
    if kind == "ManagedImage":
        return {
            "type": kind,
            "runOutputName": run_output,
            "imageId": MANAGED_IMAGE,
            "location": draw(regions),
        }
    if kind == "VHD":
        return {"type": kind, "runOutputName": run_output, "artifactTags": draw(tags)}
    item: dict[str, Any] = {"type": kind, "runOutputName": run_output, "galleryImageId": GALLERY_IMAGE}
    if draw(st.booleans()):
        chosen = draw(st.lists(regions, unique_by=lambda r: r.replace(" ", "").lower(), max_size=3))
        item["targetRegions"] = [{"name": r, "replicaCount": draw(st.integers(1, 5))} for r in chosen]
    else:
        item["replicationRegions"] = draw(st.lists(regions, max_size=2))
    item["versioning"] = draw(
        st.sampled_from([{"scheme": "Source"}, {"scheme": "Latest"}, {"scheme": "Latest", "major": 3}])
    )
    item["replicationMode"] = draw(st.sampled_from(["Full", "Shallow"]))
    return item


@st.composite
def templates(draw: Any) -> dict[str, Any]:
    """A valid 2025-10-01 template body."""
    kinds = draw(st.lists(st.sampled_from(["ManagedImage", "SharedImage", "VHD"]), min_size=1, max_size=3))
    outputs = draw(st.lists(names, min_size=len(kinds), max_size=len(kinds), unique_by=str.lower))
    props: dict[str, Any] = {
        "source": draw(sources),
        "distribute": [_distributor(k, o, draw) for k, o in zip(kinds, outputs, strict=True)],
    }
    steps = st.one_of(shell, powershell, file_step, restart, update)
    optional = {
        "customize": st.lists(steps, max_size=4),
        "buildTimeoutInMinutes": st.one_of(st.just(0), st.integers(6, 960)),
        "vmProfile": st.fixed_dictionaries(
            {}, optional={"vmSize": st.just("Standard_D2s_v3"), "osDiskSizeGB": st.integers(0, 1024)}
        ),
        "errorHandling": st.fixed_dictionaries(
            {}, optional={"onCustomizerError": st.sampled_from(["cleanup", "abort"])}
        ),
        "validate": st.fixed_dictionaries(
            {"inVMValidations": st.lists(st.one_of(shell, file_step), max_size=2)}
        ),
        "optimize": st.just({"vmBoot": {"state": "Enabled"}}),
        "additionalDataDisks": st.lists(st.fixed_dictionaries({"sizeGB": st.integers(0, 4096)}), max_size=2),
        "managedResourceTags": tags,
        "stagingResourceGroup": names.map(lambda n: f"{RG.rsplit('/', 1)[0]}/{n}x"),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            props[key] = draw(strategy)
    if draw(st.booleans()):
        props.setdefault("vmProfile", {})["vnetConfig"] = {
            "subnetId": f"{VNET}/subnets/build",
            "containerInstanceSubnetId": f"{VNET}/subnets/aci",
        }
    body: dict[str, Any] = {
        "location": draw(regions),
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": props,
    }
    if draw(st.booleans()):
        body["tags"] = draw(tags)
    return body


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    text,
    st.just([]),
    st.just({}),
    st.just(["x"]),
    st.just({"x": 1}),
    st.just("<region>"),
    st.just("[parameters('x')]"),
)


@st.composite
def damaged_templates(draw: Any) -> dict[str, Any]:
    """A valid template with one to three random changes: delete, retype, add an unknown key, change case."""
    body: dict[str, Any] = copy.deepcopy(draw(templates()))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)[1:]))
        parent: Any = body
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["delete", "retype", "unknown", "case"]))
        if action == "delete":
            del parent[key]
        elif action == "retype":
            parent[key] = copy.deepcopy(draw(odd_values))
        elif action == "unknown" and isinstance(parent[key], dict):
            parent[key][draw(names)] = copy.deepcopy(draw(odd_values))
        elif action == "case" and isinstance(key, str):
            parent[key.swapcase()] = parent.pop(key)
        elif action == "case" and isinstance(parent[key], str):
            parent[key] = parent[key].swapcase()
    return body


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)),
    max_leaves=12,
)
