"""Template parameters: given values, defaults, types, Key Vault references resolved from the sim's vault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azuresim.errors import SimError
from azuresim.template import Context, evaluate, invalid

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "securestring": (str,),
    "int": (int,),
    "bool": (bool,),
    "object": (dict,),
    "secureobject": (dict,),
    "array": (list,),
}
SECRETS = "keyvault.secrets"  # where providers/keyvault.py keeps secrets in sim.control


@dataclass
class Prepared:
    template: dict[str, Any]
    parameters: dict[str, Any]
    secure: set[str]
    resources: list[dict[str, Any]]


def prepare(sim: Any, body: Any, ctx: Context) -> Prepared:
    """Validate the deployment body and resolve its parameters into ``ctx`` (InvalidTemplate otherwise)."""
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, dict):
        raise SimError(
            400, "InvalidRequestContent", "The request content must have 'properties'.", "properties"
        )
    if "templateLink" in props:
        raise invalid("templateLink is not supported by azuresim; send the template inline")
    template = props.get("template")
    if not isinstance(template, dict) or not isinstance(template.get("resources", []), list):
        raise invalid("The template must be an object with a 'resources' array")
    declared = template.get("parameters") or {}
    given = props.get("parameters") or {}
    for name in given:
        if name.lower() not in {d.lower() for d in declared}:
            raise invalid(
                f"The template parameters '{name}' in the parameters file are not valid; they are not "
                "present in the original template and can therefore not be provided at deployment time"
            )
    ctx.variables = template.get("variables") or {}
    secure: set[str] = set()
    for name, spec in declared.items():
        kind = str(spec.get("type", "string")).lower()
        if kind.startswith("secure"):
            secure.add(name)
        value = _given(sim, name, {k.lower(): v for k, v in given.items()}.get(name.lower()))
        if value is None:
            if "defaultValue" not in spec:
                raise invalid(
                    f"The value for the template parameter '{name}' at line '1' and column '1' is not "
                    "provided. Please see https://aka.ms/arm-deploy/#parameter-file for usage details"
                )
            value = evaluate(spec["defaultValue"], ctx)
        _check(name, kind, spec, value)
        ctx.parameters[name] = value
    resources = template.get("resources") or []
    return Prepared(template, dict(ctx.parameters), secure, resources)


def _given(sim: Any, name: str, entry: Any) -> Any:
    if entry is None:
        return None
    if isinstance(entry, dict) and "reference" in entry:
        return _key_vault(sim, name, entry["reference"])
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    raise invalid(f"The template parameter '{name}' must have a 'value' or a Key Vault 'reference'")


def _key_vault(sim: Any, name: str, ref: dict[str, Any]) -> Any:
    secret_name = str(ref.get("secretName", ""))
    vault = str((ref.get("keyVault") or {}).get("id", ""))
    secret = sim.control.get(SECRETS, {}).get(secret_name.lower())
    versions = [v for v in (secret or {}).get("versions", []) if v.get("attributes", {}).get("enabled", True)]
    wanted = ref.get("secretVersion")
    if wanted:
        versions = [v for v in versions if v.get("version") == wanted]
    if not versions:
        raise SimError(
            400,
            "KeyVaultParameterReferenceSecretRetrieveFailed",
            f"The value of deployment parameter '{name}' is null. Please specify the value or use the "
            f"parameter reference. Key Vault '{vault}' has no secret '{secret_name}'.",
        )
    return versions[-1]["value"]


def _check(name: str, kind: str, spec: dict[str, Any], value: Any) -> None:
    expected = _TYPES.get(kind)
    if expected is None:
        raise invalid(f"The template parameter '{name}' has an unknown type '{spec.get('type')}'")
    if not isinstance(value, expected) or (kind == "int" and isinstance(value, bool)):
        raise invalid(
            f"Template parameter JToken type is not valid. Expected '{spec.get('type')}'. "
            f"Actual '{type(value).__name__}'. (parameter '{name}')"
        )
    allowed = spec.get("allowedValues")
    if allowed is not None and value not in allowed:
        raise invalid(f"The provided value for the template parameter '{name}' is not valid")
