"""Shared assertions for the model tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.models import ImageTemplate, template_to_wire, validate_template
from tests.models.builders import minimal_template


def problems(body: Mapping[str, Any], **kwargs: Any) -> list[tuple[str, str | None]]:
    """(code, target) of every detail validate_template reports; [] when the body is valid."""
    try:
        validate_template(body, **kwargs)
    except ValidationFailed as err:
        assert err.details, "ValidationFailed without details"
        return [(d.code, d.target) for d in err.details]
    return []


def messages(body: Mapping[str, Any], **kwargs: Any) -> dict[str | None, str]:
    """target → message of every detail."""
    with pytest.raises(ValidationFailed) as err:
        validate_template(body, **kwargs)
    return {d.target: d.message for d in err.value.details}


Mutation = Callable[[dict[str, Any]], None]


def mutated(base: dict[str, Any], change: Mutation) -> dict[str, Any]:
    change(base)
    return base


def assert_round_trips(body: dict[str, Any]) -> None:
    """``body`` validates to a model whose wire JSON validates back to the same model and the same JSON."""
    t = validate_template(body)
    wire = template_to_wire(t)
    assert validate_template(wire) == t
    assert ImageTemplate.model_validate(wire) == t
    assert template_to_wire(validate_template(wire)) == wire


def assert_rule(valid: Mutation, invalid: Mutation, expected: tuple[str, str]) -> None:
    """The minimal template is valid after ``valid``; after ``invalid`` its one problem is ``expected``."""
    assert problems(mutated(minimal_template(), valid)) == []
    assert problems(mutated(minimal_template(), invalid)) == [expected]
