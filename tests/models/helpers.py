"""Shared assertions for the model tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from shared.errors import ValidationFailed
from shared.models import validate_template


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
