"""The OpenAPI document describes what kiln serves; schemathesis probes devhost with it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.openapi import openapi_document
from tests.api import bodies
from tests.api.direct import DirectApi, app_functions
from tests.api.live import LiveKiln


def _validator(name: str) -> Any:
    doc = openapi_document()
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema_rs.Draft202012Validator(schema)


def test_every_http_function_route_is_described() -> None:
    described = {re.sub(r"\{[^}]+\}", "{}", p.lower()) for p in openapi_document()["paths"]}
    for fn in app_functions():
        if fn.get_trigger().type != "httpTrigger":
            continue
        route = fn.get_trigger().route
        if route == "openapi.json" or route.startswith("web/"):  # the document itself; the web page's files
            continue
        assert re.sub(r"\{[^}]+\}", "{}", "/" + route.lower()) in described, route


@pytest.mark.parametrize("name", bodies.example_names())
def test_every_example_is_a_valid_request_body_per_the_document(name: str) -> None:
    _validator("ImageTemplateInput").validate(bodies.example(name))


def test_what_the_api_returns_matches_the_documented_response_schemas(api: DirectApi) -> None:
    path = bodies.template_path("t1")
    created = api.put(path, bodies.ubuntu()).json
    _validator("ImageTemplate").validate(created)
    _validator("ImageTemplateList").validate(api.get(path.rsplit("/", 1)[0]).json)
    _validator("Trigger").validate(
        api.put(path + "/triggers/s", {"properties": {"kind": "SourceImage"}}).json
    )
    _validator("ErrorResponse").validate(api.get(bodies.template_path("nope")).json)
    _validator("OperationList").validate(api.get(f"/{bodies.PROVIDER}/operations").json)


@pytest.fixture(scope="module")
def keyed_session(live: LiveKiln) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = live.devhost.ca_file or True
    session.headers["x-functions-key"] = live.devhost.function_key
    yield session
    session.close()


STORED = {"subscriptionId": bodies.SUB, "resourceGroupName": bodies.RG, "imageTemplateName": "stored"}
# POST …/run would start a real build of the stored template; it is probed with generated names only.
_NOT_ON_THE_STORED = ("/run",)


@pytest.fixture(scope="module")
def stored_template(live: LiveKiln, keyed_session: requests.Session) -> Iterator[Callable[[], None]]:
    """A template with a trigger in place, so generated cases reach the deep paths (not only 404s)."""
    path = live.devhost.base_url + bodies.template_path("stored")
    params = {"api-version": "2025-10-01"}
    verify = live.devhost.ca_file

    def ensure() -> None:
        keyed_session.put(path, json=bodies.ubuntu(), params=params, timeout=30, verify=verify)
        trigger = {"properties": {"kind": "SourceImage"}}
        keyed_session.put(path + "/triggers/source", json=trigger, params=params, timeout=30, verify=verify)

    ensure()
    yield ensure
    keyed_session.delete(path, params=params, timeout=30, verify=verify)


def _operations() -> list[Any]:
    loaded = schemathesis.openapi.from_dict(openapi_document())
    results: list[Any] = list(loaded.get_all_operations())
    return [result.ok() for result in results]


# schemathesis' own pytest plugin does not run under pytest 9, so each operation's strategy is driven
# with hypothesis directly: positive and negative examples, a bounded number of each.
@pytest.mark.e2e
@pytest.mark.timeout(300)
@pytest.mark.parametrize("operation", _operations(), ids=lambda op: f"{op.method.upper()} {op.path}")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    operation: Any,
    mode: GenerationMode,
    live: LiveKiln,
    keyed_session: requests.Session,
    stored_template: Callable[[], None],
) -> None:
    on_stored = not operation.path.endswith(_NOT_ON_THE_STORED)

    @given(case=operation.as_strategy(generation_mode=mode), stored=st.booleans())
    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def probe(case: Any, stored: bool) -> None:
        if stored and on_stored and case.path_parameters:
            # Half the cases aim at the stored template (and its trigger "source"), so they get past the
            # 404 of a name nobody created; a DELETE among them is undone before the next case.
            stored_template()
            for name, value in STORED.items():
                if name in case.path_parameters:
                    case.path_parameters[name] = value
            if "triggerName" in case.path_parameters:
                case.path_parameters["triggerName"] = "source"
        case.call_and_validate(
            base_url=live.devhost.base_url,
            session=keyed_session,
            verify=live.devhost.ca_file,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    probe()


# What validation refuses that a JSON schema cannot say: names unique across a list, a region listed twice,
# an unresolved placeholder left in a value, two subnet ids compared (docs/security.md, Requests).
_BEYOND_A_SCHEMA = {
    "runOutputName '",
    "is listed twice",
    "unresolved placeholder",
    "of the same virtual network as",
    "different subnet from",
}


def test_a_template_body_the_document_accepts_is_one_validation_accepts() -> None:
    from shared.errors import KilnError
    from shared.models.validation import validate_template

    loaded = schemathesis.openapi.from_dict(openapi_document())
    put = next(
        op.ok()
        for op in loaded.get_all_operations()
        if op.ok().method.upper() == "PUT" and op.ok().path.endswith("/imageTemplates/{imageTemplateName}")
    )
    refused: list[str] = []

    @given(case=put.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def probe(case: Any) -> None:
        try:
            validate_template(case.body)
        except KilnError as e:
            details = getattr(e, "details", None) or [e]
            refused.extend(
                f"{d.target}: {d.message}"
                for d in details
                if not any(beyond in d.message for beyond in _BEYOND_A_SCHEMA)
            )

    probe()
    assert refused == []


def test_an_integral_number_is_an_integer_as_json_schema_reads_it() -> None:
    from shared.models.validation import validate_template

    body = bodies.ubuntu()
    body["properties"]["buildTimeoutInMinutes"] = 120.0
    body["properties"]["vmProfile"] = {**body["properties"].get("vmProfile", {}), "osDiskSizeGB": 64.0}

    template = validate_template(body)

    assert template.properties.buildTimeoutInMinutes == 120
    assert template.properties.vmProfile.osDiskSizeGB == 64
