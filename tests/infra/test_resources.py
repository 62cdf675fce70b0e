"""The resources of issue 14 exist with the properties that make them what the docs say they are."""

from __future__ import annotations

import json
import re

from tests.infra.bicep import FUNCTION_APP, INFRA, MODULES, REPO, condition_of, only, parse, resources, unwrap

MAIN = INFRA / "main.bicep"


def test_flex_consumption_plan_holds_one_python_311_app() -> None:
    doc = parse(FUNCTION_APP)
    plan = only(doc, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    assert plan["kind"] == "functionapp"
    assert plan["properties"]["reserved"] is True
    site = only(doc, "Microsoft.Web/sites")  # one app per Flex plan
    assert site["kind"] == "functionapp,linux"
    assert site["properties"]["serverFarmId"] == {
        "operator": {"type": "property_accessor", "operands": {"operand_1": "plan", "operand_2": "id"}}
    }
    assert site["properties"]["httpsOnly"] is True
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["scaleAndConcurrency"] == {
        "maximumInstanceCount": "maximumInstanceCount",
        "instanceMemoryMB": "instanceMemoryMB",
    }
    # azd finds the app to deploy by this tag (azure.yaml's service name).
    assert "'azd-service-name': 'api'" in FUNCTION_APP.read_text()


def test_deployment_package_is_read_with_kilns_identity() -> None:
    site = only(parse(FUNCTION_APP), "Microsoft.Web/sites")
    storage = site["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${blobEndpoint}${deploymentContainerName}"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }


def test_site_runs_as_kilns_identity_and_holds_the_template_identities() -> None:
    doc = parse(FUNCTION_APP)
    identity = only(doc, "Microsoft.Web/sites")["identity"]
    assert identity["type"] == "UserAssigned"
    union = identity["userAssignedIdentities"]["function"]
    assert union["type"] == "union"
    assert union["parameters"]["arg_1"] == {"'${identityId}'": {}}
    assert union["parameters"]["arg_2"] == "templateIdentities"
    # The object is built from the templateIdentityIds parameter, one key per resource id.
    pairs = doc["variables"]["templateIdentityPairs"]["value"]
    assert pairs["loop_type"]["detail"] == {"item_name": "id", "array_name": "templateIdentityIds"}
    assert "templateIdentityPairs" in json.dumps(doc["variables"]["templateIdentities"])
    assert (
        unwrap(parse(MAIN)["modules"]["app"]["config"])["params"]["templateIdentityIds"]
        == "templateIdentityIds"
    )


def test_no_password_publishing() -> None:
    policies = resources(parse(FUNCTION_APP), "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {unwrap(p["config"])["name"]: unwrap(p["config"])["properties"] for p in policies.values()} == {
        "ftp": {"allow": False},
        "scm": {"allow": False},
    }


def test_host_storage_takes_identities_only() -> None:
    account = only(parse(MODULES / "storage.bicep"), "Microsoft.Storage/storageAccounts")
    props = account["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["allowBlobPublicAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["defaultToOAuthAuthentication"] is True


def test_host_storage_has_the_deployment_store_and_dead_letter_containers() -> None:
    doc = parse(MAIN)
    containers = unwrap(doc["modules"]["storage"]["config"])["params"]["containerNames"]
    assert containers == ["deploymentContainerName", "storeContainerName", "deadLetterContainerName"]
    assert doc["variables"]["storeContainerName"]["value"] == "kiln"
    assert doc["variables"]["deploymentContainerName"]["value"].startswith("app-package-")
    loop = resources(
        parse(MODULES / "storage.bicep"), "Microsoft.Storage/storageAccounts/blobServices/containers"
    )
    (container,) = loop.values()
    assert container["config"]["loop_type"]["detail"]["array_name"] == "containerNames"
    assert unwrap(container["config"])["properties"] == {"publicAccess": "None"}


def test_application_insights_accepts_entra_authentication_only() -> None:
    doc = parse(MODULES / "monitoring.bicep")
    insights = only(doc, "Microsoft.Insights/components")
    assert insights["properties"]["DisableLocalAuth"] is True
    workspace = only(doc, "Microsoft.OperationalInsights/workspaces")
    assert workspace["properties"]["features"]["disableLocalAuth"] is True


def test_key_vault_is_rbac_only_and_referencable_by_deployments() -> None:
    props = only(parse(MODULES / "keyvault.bicep"), "Microsoft.KeyVault/vaults")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert "accessPolicies" not in props
    assert props["enabledForTemplateDeployment"] is True  # the build VM's admin password is a reference
    assert props["enableSoftDelete"] is True and props["enablePurgeProtection"] is True


def test_durable_backend_is_a_parameter_defaulting_to_azure_storage() -> None:
    doc = parse(MAIN)
    backend = doc["parameters"]["durableBackend"]
    assert backend["default"] == "AzureStorage"
    allowed = next(d["argument"] for d in backend["decorators"] if d["type"] == "allowed")
    assert allowed == ["AzureStorage", "DurableTaskScheduler"]
    assert doc["variables"]["useScheduler"]["value"] == {
        "operator": {
            "type": "equals",
            "operands": {"operand_1": "durableBackend", "operand_2": "DurableTaskScheduler"},
        }
    }
    assert condition_of(doc["modules"]["scheduler"]) == "useScheduler"


def test_scheduler_has_a_task_hub_and_never_an_empty_allowlist() -> None:
    doc = parse(MODULES / "scheduler.bicep")
    scheduler = only(doc, "Microsoft.DurableTask/schedulers")
    assert scheduler["properties"]["ipAllowlist"] == "ipAllowlist"
    decorators = {d["type"]: d.get("argument") for d in doc["parameters"]["ipAllowlist"]["decorators"]}
    assert decorators.get("min_length") == 1
    main_default = parse(MAIN)["parameters"]["schedulerIpAllowlist"]
    assert main_default["default"], "an empty allowlist refuses every connection"
    assert any(d["type"] == "min_length" and d["argument"] == 1 for d in main_default["decorators"])
    hub = only(doc, "Microsoft.DurableTask/schedulers/taskHubs")
    assert hub["parent"] == "scheduler" and hub["name"] == "taskHubName"


def test_one_host_json_serves_both_durable_backends() -> None:
    host = json.loads((REPO / "host.json").read_text())
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "%KILN_TASK_HUB%"
    # No provider in host.json means Azure Storage; the scheduler is chosen by app settings that override it.
    assert "storageProvider" not in durable
    floor = re.match(r"\[(\d+)\.(\d+)\.(\d+),", host["extensionBundle"]["version"])
    assert floor and tuple(map(int, floor.groups())) >= (4, 32, 0), "the Durable Task Scheduler needs 4.32+"
    text = FUNCTION_APP.read_text()
    for key in ("type", "connectionStringName"):
        assert f"'AzureFunctionsJobHost__extensions__durableTask__storageProvider__{key}'" in text


def test_event_grid_system_topic_watches_the_subscription() -> None:
    doc = parse(MODULES / "event-topic.bicep")
    (created,) = resources(doc, "Microsoft.EventGrid/systemTopics").values()
    assert condition_of(created) == "create"
    body = unwrap(created["config"])
    assert body["location"] == "global"
    assert body["identity"] == {"type": "SystemAssigned"}
    assert body["properties"]["topicType"] == "Microsoft.Resources.Subscriptions"
    assert "subscription" in json.dumps(body["properties"]["source"])
    (reused,) = resources(doc, "Microsoft.EventGrid/systemTopics", existing=True).values()
    assert reused["config"]["condition"] == {
        "operator": {"type": "not", "operands": {"bool_value": "create"}}
    }
    reuse = parse(MAIN)["variables"]["reuseTopic"]["value"]
    assert reuse == {
        "operator": {
            "type": "not",
            "operands": {
                "bool_value": {
                    "function": {"type": "empty", "parameters": {"item_to_test": "existingSystemTopicName"}}
                }
            },
        }
    }
