"""Property tests (hypothesis) of the API's request handling: whatever arrives in a PUT or PATCH body or in a
query parameter, the answer is never a 5xx, and a 4xx leaves every stored byte as it was.

Bodies are arbitrary JSON, valid templates with one value replaced by arbitrary JSON, and raw bytes around
the parser's edges (repeated keys, escapes, deep nesting). kiln is composed in-process over the in-memory
store with one template and a trigger in place, so PATCH and the sub-resources reach real documents.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.bootstrap import installed
from tests.api import bodies
from tests.api.conftest import _direct_api, compose
from tests.api.direct import DirectApi, Reply
from tests.fakes import FakeAzure, InMemoryDocuments

PATH = bodies.template_path("t1")
JSON = {"Content-Type": "application/json"}
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
odd_text = st.text(alphabet=st.characters(codec="utf-8", categories=None), max_size=12) | st.sampled_from(
    ["\x00", "\ud800", "²", "１", "-0", "1e3", "%00", "ǅ", "\u212a", "../..", "a" * 300]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated_templates(draw: st.DrawFn) -> dict[str, Any]:
    """A valid template with the value at one path replaced (or removed)."""
    body = bodies.ubuntu()
    path = draw(st.sampled_from(_paths(body)[1:]))
    node: Any = body
    for part in path[:-1]:
        node = node[part]
    if draw(st.booleans()) and isinstance(node, dict):
        node.pop(path[-1])
    else:
        node[path[-1]] = draw(json_values | odd_text)
    return body


@st.composite
def edgy_bytes(draw: st.DrawFn) -> bytes:
    """Bytes at the parser's edges: a template with a raw fragment spliced into its tags."""
    fragment = draw(
        st.sampled_from(
            [
                b'"a": "1", "a": "2"',
                b'"a": "\\u0000"',
                b'"a": "\\udc00x"',
                b'"\\ud800": "v"',
                b'"a": ' + b"[" * 80 + b"]" * 80,
                b'"a": "\\ud83d\\ude00"',
                b'"a": 1e999',
                b'"a": -0',
                b'"a": "\xff"',
                b'"a": "' + b"\\\\" * 50 + b'"',
            ]
        )
    )
    text = json.dumps(bodies.ubuntu()).encode()
    return text.replace(b'"tags": {', b'"tags": {' + fragment + b", ", 1)


put_bodies = st.one_of(
    mutated_templates().map(lambda b: json.dumps(b).encode()),
    json_values.map(lambda b: json.dumps(b).encode()),
    edgy_bytes(),
    st.binary(max_size=64),
)
patch_bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "tags": json_values,
            "identity": json_values,
            "properties": st.dictionaries(
                st.sampled_from(["distribute", "vmProfile", "source"]), json_values
            ),
        },
    ).map(lambda b: json.dumps(b).encode()),
    json_values.map(lambda b: json.dumps(b).encode()),
    edgy_bytes(),
)


class Stored:
    """kiln in-process with one template and a trigger; ``check`` compares the store before and after."""

    def __init__(self) -> None:
        self.documents = InMemoryDocuments()
        self.kiln = compose(self.documents, FakeAzure())
        self.api: DirectApi = _direct_api()
        with installed(self.kiln):
            assert self.api.put(PATH, bodies.ubuntu()).status == 201
            assert self.api.put(PATH + "/triggers/s", {"properties": {"kind": "SourceImage"}}).status == 201
        self._initial = dict(self.documents.blobs)

    def reset(self) -> None:
        """Back to the one template and its trigger (after a request that was allowed to change them)."""
        self.documents.blobs = dict(self._initial)

    def call(self, method: str, path: str, *, raw: bytes | None = None, params: dict[str, str]) -> Reply:
        before = copy.deepcopy(self.documents.snapshot())
        with installed(self.kiln):
            reply = self.api.request(
                method, path, params=params, raw=raw, headers=JSON if raw is not None else {}
            )
        assert reply.status < 500, (reply.status, reply.text)
        if 400 <= reply.status < 500:
            assert self.documents.snapshot() == before, f"a {reply.status} changed the store: {reply.text}"
            assert isinstance(reply.json, dict) and reply.json["error"]["code"], reply.text
        return reply


@pytest.fixture(scope="module")
def stored() -> Stored:
    return Stored()


@SETTINGS
@given(raw=put_bodies, version=st.sampled_from(["2025-10-01", "2022-07-01"]) | odd_text)
def test_put_bodies_never_give_a_5xx_and_a_4xx_changes_nothing(
    stored: Stored, raw: bytes, version: str
) -> None:
    stored.call("PUT", bodies.template_path("other"), raw=raw, params={"api-version": version})
    stored.reset()


@SETTINGS
@given(raw=patch_bodies)
def test_patch_bodies_never_give_a_5xx_and_a_4xx_changes_nothing(stored: Stored, raw: bytes) -> None:
    stored.call("PATCH", PATH, raw=raw, params={"api-version": "2025-10-01"})
    stored.reset()


@SETTINGS
@given(
    path=st.sampled_from(
        [
            bodies.template_path("t1").rsplit("/", 1)[0],
            PATH,
            PATH + "/runs",
            PATH + "/triggers",
            PATH + "/runOutputs",
            PATH + "/runs/run-1/log",
            PATH + "/triggers/s",
        ]
    ),
    params=st.dictionaries(
        st.sampled_from(["api-version", "$skipToken", "$skiptoken", "offset", "follow", "$top"]),
        odd_text,
        max_size=4,
    ),
)
def test_query_parameters_never_give_a_5xx(stored: Stored, path: str, params: dict[str, str]) -> None:
    stored.call("GET", path, params={"api-version": "2025-10-01", **params})
