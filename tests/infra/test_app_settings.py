"""The function app's settings: everything kiln reads is set (or documented as left at its default),
nothing the Flex Consumption plan deprecates is set, and the host reaches storage and telemetry with kiln's
identity."""

from __future__ import annotations

import json
import re

from shared.settings import Settings
from tests.infra.bicep import FUNCTION_APP, REPO, app_settings, only, parse, shipped_python_files

DEPLOY_DOC = REPO / "docs" / "deploy.md"

# "Flex Consumption plan deprecations" (Functions app settings reference), plus the time-zone settings Flex
# does not support.
FLEX_DEPRECATED_SETTINGS = {
    "ENABLE_ORYX_BUILD",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
    "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTOVERVNET",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_DNS_SERVER",
    "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
    "WEBSITE_VNET_ROUTE_ALL",
    "WEBSITE_TIME_ZONE",
    "TZ",
}
FLEX_DEPRECATED_SITE_PROPERTIES = {
    "alwaysOn",
    "containerSize",
    "dnsConfiguration",
    "ftpsState",
    "isReserved",
    "isXenon",
    "javaVersion",
    "linuxFxVersion",
    "netFrameworkVersion",
    "powerShellVersion",
    "functionAppScaleLimit",
    "preWarmedInstanceCount",
    "use32BitWorkerProcess",
    "vnetBackupRestoreEnabled",
    "vnetContentShareEnabled",
    "vnetImagePullEnabled",
    "vnetRouteAllEnabled",
    "windowsFxVersion",
}
ENV_READ = re.compile(r"""os\.(?:environ\.get|getenv|environ\[)\(?\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")


def _settings_model_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            names.update(str(c) for c in choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _environment_reads() -> set[str]:
    """kiln's settings the shipped code reads from the environment directly (timer schedules at indexing)."""
    names: set[str] = set()
    for _, text in shipped_python_files():
        names.update(n for n in ENV_READ.findall(text) if n.startswith("KILN_"))
    return names


def _host_json_references() -> set[str]:
    return set(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", (REPO / "host.json").read_text()))


def _doc_section(heading: str) -> str:
    text = DEPLOY_DOC.read_text()
    start = text.index(heading)
    rest = text[start + len(heading) :]
    end = re.search(r"^#{1,4} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def _documented_defaults() -> set[str]:
    section = _doc_section("### Settings left at their defaults")
    return set(re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)`", section, flags=re.M))


def test_shipped_code_is_found() -> None:
    files = {p.relative_to(REPO).as_posix() for p, _ in shipped_python_files()}
    assert "function_app.py" in files and "shared/settings.py" in files
    assert not any(f.startswith(("tests/", "devhost/", "azuresim/")) for f in files)


def test_every_setting_kiln_reads_is_set_or_documented_as_left_at_its_default() -> None:
    read = _settings_model_names() | _environment_reads() | _host_json_references()
    assert {"KILN_STORAGE_CONNECTION_STRING", "KILN_JANITOR_SCHEDULE", "KILN_TASK_HUB"} <= read
    read.discard("AzureWebJobsStorage")  # the alias of KILN_STORAGE_CONNECTION_STRING, which is set
    missing = read - set(app_settings()) - _documented_defaults()
    assert not missing, f"read by kiln, neither set by infra/ nor listed in docs/deploy.md: {sorted(missing)}"


def test_documented_defaults_are_settings_kiln_reads_and_infra_leaves_unset() -> None:
    documented = _documented_defaults()
    assert documented, "docs/deploy.md lists no settings left at their defaults"
    read = _settings_model_names() | _environment_reads()
    assert documented <= read, f"documented but not read by kiln: {documented - read}"
    assert not documented & set(app_settings()), "a documented default is set after all"


def test_every_kiln_setting_infra_sets_is_documented() -> None:
    text = DEPLOY_DOC.read_text()
    for name in app_settings():
        if name.startswith("KILN_"):
            assert f"`{name}`" in text, f"{name} is set by infra/ but not described in docs/deploy.md"


def test_no_setting_or_site_property_flex_deprecates() -> None:
    settings = set(app_settings())
    assert not settings & FLEX_DEPRECATED_SETTINGS
    site = only(parse(FUNCTION_APP), "Microsoft.Web/sites")
    used = set(re.findall(r'"([A-Za-z0-9]+)":', json.dumps(site)))
    assert not used & FLEX_DEPRECATED_SITE_PROPERTIES, used & FLEX_DEPRECATED_SITE_PROPERTIES


def test_host_storage_is_identity_based() -> None:
    settings = app_settings()
    assert "AzureWebJobsStorage" not in settings  # a connection string would carry a key
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    # Durable's Azure Storage backend needs queues and tables besides blobs.
    for service in ("blob", "queue", "table"):
        assert settings[f"AzureWebJobsStorage__{service}ServiceUri"] == f"{service}Endpoint"
    assert settings["KILN_STORAGE_CONNECTION_STRING"] == "BlobEndpoint=${blobEndpoint}"


def test_telemetry_uses_entra_authentication() -> None:
    settings = app_settings()
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == "appInsightsConnectionString"
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "ClientId=${identityClientId};Authorization=AAD"
    )


def test_kiln_runs_against_azure_as_its_identity() -> None:
    settings = app_settings()
    assert settings["KILN_AZURE_MODE"] == "azure"
    assert settings["KILN_TIMING_PROFILE"] == "azure"
    assert settings["KILN_MANAGED_IDENTITY_CLIENT_ID"] == "identityClientId"
    assert settings["KILN_KEY_VAULT_URL"] == "keyVaultUri"
    assert settings["KILN_KEY_VAULT_ID"] == "keyVaultId"
    assert settings["KILN_TASK_HUB"] == "taskHubName"
    assert settings["KILN_TRUST_EASY_AUTH"] == "true"


def test_scheduler_settings_are_added_only_for_the_scheduler_backend() -> None:
    doc = parse(FUNCTION_APP)
    combined = doc["variables"]["appSettings"]["value"]["function"]
    assert combined["type"] == "concat"
    args = combined["parameters"]
    assert args["arg_1"] == "hostStorageSettings" and args["arg_2"] == "kilnSettings"
    assert args["arg_3"]["operator"]["operands"] == {
        "condition": "useScheduler",
        "true_value": "schedulerSettings",
        "false_value": [],
    }
    assert only(doc, "Microsoft.Web/sites")["properties"]["siteConfig"]["appSettings"] == "appSettings"
    settings = app_settings()
    connection = settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]
    assert (
        connection
        == "Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}"
    )
    assert settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__type"] == "azureManaged"
    assert (
        settings["AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName"]
        == "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
    )
