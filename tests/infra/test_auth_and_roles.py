"""App Service authentication in front of the ARM-shaped API, and every role assignment infra/ makes."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.bicep import (
    BUILT_IN_ROLES,
    FUNCTION_APP,
    INFRA,
    bicep_files,
    condition_of,
    dotted,
    parse,
    resources,
    role_id_of,
    unwrap,
)

MAIN = INFRA / "main.bicep"


def _auth() -> dict[str, Any]:
    configs = resources(parse(FUNCTION_APP), "Microsoft.Web/sites/config")
    (auth,) = [
        unwrap(c["config"]) for c in configs.values() if unwrap(c["config"])["name"] == "authsettingsV2"
    ]
    assert auth["parent"] == "site"
    props: dict[str, Any] = auth["properties"]
    return props


def test_unauthenticated_calls_get_401_except_event_grid_deliveries() -> None:
    auth = _auth()
    assert auth["platform"]["enabled"] is True
    assert auth["globalValidation"] == {
        "requireAuthentication": True,
        "unauthenticatedClientAction": "Return401",
        # Event Grid sends no bearer token; the Functions system key still guards its webhook.
        "excludedPaths": ["/runtime/webhooks/eventgrid"],
    }
    assert auth["httpSettings"]["requireHttps"] is True


def test_only_tokens_for_kilns_app_registration_are_accepted() -> None:
    aad = _auth()["identityProviders"]["azureActiveDirectory"]
    assert aad["enabled"] is True
    assert aad["registration"]["clientId"] == "apiAppClientId"
    assert aad["registration"]["openIdIssuer"].endswith("${tenant().tenantId}/v2.0")
    audiences = aad["validation"]["allowedAudiences"]
    assert audiences == ["api://${apiAppClientId}"]
    text = json.dumps(aad).lower()
    # An ARM-audience token (the official client's default scope) must never be replayable into kiln.
    assert "management.azure" not in text and "management.core" not in text and "resourcemanager" not in text
    app = parse(FUNCTION_APP)
    assert app["parameters"]["apiAppClientId"]["type"] == "string"
    main = parse(MAIN)
    assert main["parameters"]["apiAppClientId"]["default"] is None  # no deployment without a registration
    assert {d["type"] for d in main["parameters"]["apiAppClientId"]["decorators"]} >= {
        "min_length",
        "max_length",
    }


def test_allowed_clients_and_principals_are_parameters() -> None:
    aad = _auth()["identityProviders"]["azureActiveDirectory"]
    assert aad["validation"]["defaultAuthorizationPolicy"] == "authorizationPolicy"
    variables = parse(FUNCTION_APP)["variables"]
    policy = json.dumps(
        {k: variables[k] for k in ("applicationsPolicy", "principalsPolicy", "authorizationPolicy")}
    )
    assert '"allowedApplications": "allowedClientApplicationIds"' in policy
    assert '"identities": "allowedPrincipalIds"' in policy
    main = parse(MAIN)["parameters"]
    assert main["allowedClientApplicationIds"]["default"] == []
    assert main["allowedPrincipalIds"]["default"] == []


def _assignments() -> list[tuple[str, str, dict[str, Any], Any]]:
    """(file, symbolic name, body, condition) of every role assignment in infra/."""
    found = []
    for path in bicep_files():
        doc = parse(path)
        for name, entry in resources(doc, "Microsoft.Authorization/roleAssignments").items():
            body = unwrap(entry["config"])
            body = {**body, "roleId": role_id_of(doc, body["properties"]["roleDefinitionId"])}
            found.append((path.name, name, body, condition_of(entry)))
    return found


def test_every_role_assignment_names_its_principal_type() -> None:
    assignments = _assignments()
    assert len(assignments) >= 12
    for file, name, body, _ in assignments:
        assert body["properties"].get("principalType"), f"{file}:{name} has no principalType"


def test_kiln_holds_the_data_and_monitoring_roles_on_its_own_resources() -> None:
    by_role = {
        (body["roleId"], body.get("scope"), body["properties"]["principalId"]): (file, cond)
        for file, _, body, cond in _assignments()
    }
    expected = {
        ("Storage Blob Data Owner", "storage"): None,
        ("Storage Queue Data Contributor", "storage"): None,
        ("Storage Table Data Contributor", "storage"): None,
        ("Monitoring Metrics Publisher", "appInsights"): None,
        ("Key Vault Secrets Officer", "vault"): None,
        ("Durable Task Data Contributor", "scheduler"): "useScheduler",
    }
    for (role, scope), condition in expected.items():
        key = (BUILT_IN_ROLES[role], scope, "kilnPrincipalId")
        assert key in by_role, f"kiln lacks {role} on {scope}"
        assert by_role[key] == ("rbac.bicep", condition)


def test_key_vault_references_are_granted_on_kilns_vault_only() -> None:
    (reference,) = [b for f, n, b, _ in _assignments() if n == "vaultReference"]
    assert reference["scope"] == "vault"
    assert reference["roleId"] == "keyVaultReferenceRoleId"
    params = unwrap(parse(MAIN)["modules"]["rbac"]["config"])["params"]
    assert dotted(params["keyVaultReferenceRoleId"]) == "builderRole.outputs.keyVaultReferenceRoleId"


def test_managed_identity_operator_on_each_build_vm_identity() -> None:
    (operator,) = [b for f, _, b, _ in _assignments() if f == "identity-operator.bicep"]
    assert operator["roleId"] == BUILT_IN_ROLES["Managed Identity Operator"]
    assert operator["scope"] == "identity"
    loop = parse(MAIN)["modules"]["buildVmIdentityOperator"]["config"]["loop_type"]
    assert loop["detail"]["array_name"] == "buildVmIdentityIds"


def test_event_grid_dead_letters_with_the_topics_identity() -> None:
    (writer,) = [b for f, _, b, _ in _assignments() if f == "dead-letter-access.bicep"]
    assert writer["roleId"] == BUILT_IN_ROLES["Storage Blob Data Contributor"]
    assert writer["scope"] == "container"  # the dead-letter container, not the account
    assert writer["properties"]["principalId"] == "topicPrincipalId"
    params = unwrap(parse(MAIN)["modules"]["deadLetterAccess"]["config"])["params"]
    assert params["containerName"] == "deadLetterContainerName"


def test_the_deployer_may_only_read() -> None:
    deployer = [
        (b, c) for f, _, b, c in _assignments() if b["properties"]["principalId"] == "deployerPrincipalId"
    ]
    roles = {b["roleId"] for b, _ in deployer}
    assert roles == {
        BUILT_IN_ROLES["Storage Blob Data Reader"],
        BUILT_IN_ROLES["Durable Task Data Contributor"],
    }
    assert all("hasDeployer" in json.dumps(c) for _, c in deployer)


def test_no_other_principal_gets_a_role() -> None:
    principals = {b["properties"]["principalId"] for _, _, b, _ in _assignments()}
    assert principals == {"kilnPrincipalId", "deployerPrincipalId", "principalId", "topicPrincipalId"}
    # principalId in builder-role.bicep and identity-operator.bicep is kiln's identity.
    for module in ("builderRole", "buildVmIdentityOperator"):
        params = unwrap(parse(MAIN)["modules"][module]["config"])["params"]
        assert dotted(params["principalId"]) == "identity.outputs.principalId"
    rbac = unwrap(parse(MAIN)["modules"]["rbac"]["config"])["params"]
    assert dotted(rbac["kilnPrincipalId"]) == "identity.outputs.principalId"
    assert rbac["deployerPrincipalId"] == "principalId"
    topic = unwrap(parse(MAIN)["modules"]["deadLetterAccess"]["config"])["params"]
    assert dotted(topic["topicPrincipalId"]) == "topic.outputs.principalId"
