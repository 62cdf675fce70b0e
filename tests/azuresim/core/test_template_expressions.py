"""The ARM template expression subset azuresim evaluates (pure functions, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from azuresim.errors import SimError
from azuresim.template import Context, evaluate

SUB = "00000000-0000-0000-0000-000000000009"


def ctx(**parameters: Any) -> Context:
    return Context(SUB, "rg-x", "westus2", dict(parameters), {"base": "[concat(parameters('p'), '-v')]"})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("plain", "plain"),
        ("[[not an expression]", "[not an expression]"),
        ("['it''s']", "it's"),
        ("[parameters('p')]", "kiln"),
        ("[variables('base')]", "kiln-v"),
        ("[concat('a', parameters('p'), 'b')]", "akilnb"),
        ("[concat(parameters('list'), parameters('list'))]", [1, 2, 1, 2]),
        ("[format('{0}-{1}', 'x', 7)]", "x-7"),
        ("[toLower('ABC')]", "abc"),
        ("[toUpper(parameters('p'))]", "KILN"),
        ("[resourceGroup().location]", "westus2"),
        ("[resourceGroup()['name']]", "rg-x"),
        ("[subscription().subscriptionId]", SUB),
        ("[parameters('obj').inner[1]]", "b"),
        ("[parameters('flag')]", True),
        (
            "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v', 's')]",
            f"/subscriptions/{SUB}/resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
        ),
        (
            "[resourceId('other-rg', 'microsoft.network/networkinterfaces', 'n')]",
            f"/subscriptions/{SUB}/resourceGroups/other-rg/providers/Microsoft.Network/networkInterfaces/n",
        ),
    ],
)
def test_supported_expressions_evaluate_as_arm_evaluates_them(expression: str, expected: Any) -> None:
    values = {"p": "kiln", "list": [1, 2], "obj": {"inner": ["a", "b"]}, "flag": True}
    assert evaluate(expression, ctx(**values)) == expected


def test_expressions_inside_objects_and_lists_are_evaluated() -> None:
    value = {"a": ["[parameters('p')]", {"b": "[concat('x', 'y')]"}], "n": 3}
    assert evaluate(value, ctx(p="q")) == {"a": ["q", {"b": "xy"}], "n": 3}


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("[uniqueString('x')]", "'uniqueString' is not supported"),
        ("[parameters('missing')]", "parameter 'missing' is not found"),
        ("[concat('a']", "expected ')'"),
        ("[concat('a',]", "expected ')'"),
        ("[concat('a' 'b')]", "expected ','"),
        ("[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v')]", "needs 2 name segment(s)"),
        ("[parameters('p').nope]", "property 'nope' doesn't exist"),
        ("[concat('a') 'b']", "unexpected"),
    ],
)
def test_unsupported_or_broken_expressions_are_invalid_template(expression: str, fragment: str) -> None:
    with pytest.raises(SimError) as info:
        evaluate(expression, ctx(p="kiln"))
    assert info.value.status == 400
    assert info.value.code == "InvalidTemplate"
    assert fragment in info.value.message
