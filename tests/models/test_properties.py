"""Property tests: valid templates round-trip unchanged; damaged ones only ever raise ValidationFailed."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from shared.errors import ValidationFailed
from shared.models import (
    SUPPORTED_API_VERSIONS,
    template_to_wire,
    validate_template,
    validate_template_update,
    validate_trigger,
)
from tests.models.helpers import assert_round_trips
from tests.models.strategies import damaged_templates, json_values, templates

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(templates())
def test_generated_valid_templates_round_trip_unchanged(body: dict[str, Any]) -> None:
    assert_round_trips(body)


@FAST
@given(templates())
def test_the_wire_form_for_each_api_version_is_valid_for_that_version(body: dict[str, Any]) -> None:
    t = validate_template(body)
    for version in SUPPORTED_API_VERSIONS:
        older = validate_template(template_to_wire(t, api_version=version), api_version=version)
        assert older.properties.source == t.properties.source
        assert older.properties.customize == t.properties.customize


def _only_validation_failed(call: Any, body: Any) -> None:
    try:
        call(body)
    except ValidationFailed as err:
        assert err.details, "ValidationFailed must say what is wrong"
        for detail in err.details:
            assert isinstance(detail.code, str) and detail.code
            assert isinstance(detail.message, str) and detail.message
            assert detail.target is None or isinstance(detail.target, str)
            assert "pydantic" not in detail.message and "errors.pydantic.dev" not in detail.message
        assert err.to_arm()["error"]["code"] == "ValidationFailed"


@FAST
@given(damaged_templates())
def test_damaged_templates_never_raise_anything_but_validation_failed(body: dict[str, Any]) -> None:
    _only_validation_failed(validate_template, body)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_json_never_raises_anything_but_validation_failed(body: Any) -> None:
    _only_validation_failed(validate_template, body)
    _only_validation_failed(validate_trigger, body)
    _only_validation_failed(validate_template_update, body)
    _only_validation_failed(validate_template, {"properties": body, "location": body, "identity": body})
