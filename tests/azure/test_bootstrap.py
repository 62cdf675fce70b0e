"""The composition root: lazy, per-cloud endpoints and credentials, sim mode, settings from the env."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.azure.clients import SIM_SUBSCRIPTION, arm_target
from shared.azure.credentials import SimIdentityCredential, StaticTokenCredential
from shared.azure.errors import KilnRetryPolicy
from shared.bootstrap import AzurePorts, bootstrap
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SUB = "11111111-2222-3333-4444-555555555555"


def test_importing_the_composition_root_imports_no_azure_sdk() -> None:
    code = (
        "import sys, json; import shared.bootstrap, shared.ports, shared.settings, shared.models.azure, "
        "activities.support.deployment_template\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('azure'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert json.loads(out.stdout) == []


def test_clients_are_built_on_first_use_of_a_port_and_then_reused() -> None:
    ports = bootstrap(Settings(azure_mode="azure", subscription_id=SUB)).azure
    assert not {"_resource_client", "_compute_client", "credential"} & set(vars(ports))

    groups = ports.resource_groups

    assert "_resource_client" in vars(ports) and "_compute_client" not in vars(ports)
    assert ports.resource_groups is groups
    assert ports.resources._client is groups._client  # type: ignore[attr-defined]


def test_one_blob_client_per_storage_account_is_kept_and_a_users_sas_url_gets_its_own() -> None:
    settings = Settings(
        azure_mode="azure", subscription_id=SUB, storage_connection_string="UseDevelopmentStorage=true"
    )
    ports = bootstrap(settings).azure
    staging = "https://kilnstage1.blob.core.windows.net"

    assert ports.blobs(account_url=staging) is ports.blobs(account_url=staging)
    assert ports.blobs() is ports.blobs()
    assert ports.blobs(account_url=staging) is not ports.blobs(
        account_url="https://other.blob.core.windows.net"
    )
    sas = "https://theirs.blob.core.windows.net/?sv=2024-01-01&sig=abc"
    assert ports.blobs(account_url=sas) is not ports.blobs(account_url=sas)


def test_the_blob_clients_kept_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.bootstrap import azure_ports

    monkeypatch.setattr(azure_ports, "BLOB_CLIENTS_KEPT", 2)
    ports = bootstrap(Settings(azure_mode="azure", subscription_id=SUB)).azure
    first = ports.blobs(account_url="https://a.blob.core.windows.net")
    ports.blobs(account_url="https://b.blob.core.windows.net")
    ports.blobs(account_url="https://c.blob.core.windows.net")

    assert ports.blobs(account_url="https://a.blob.core.windows.net") is not first


@pytest.mark.parametrize(
    ("cloud", "endpoint", "scope"),
    [
        ("AzureCloud", "https://management.azure.com", "https://management.azure.com/.default"),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
        ),
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
        ),
    ],
)
def test_each_cloud_gets_its_arm_endpoint_and_token_scope(cloud: str, endpoint: str, scope: str) -> None:
    settings = Settings(azure_mode="azure", azure_cloud=cloud, subscription_id=SUB)

    target = arm_target(settings)
    client = bootstrap(settings).azure._compute_client

    assert (target.base_url, target.credential_scopes) == (endpoint, [scope])
    assert client._config.credential_scopes == [scope]
    assert client._config.subscription_id == SUB


def test_azure_mode_uses_the_user_assigned_identity_when_its_client_id_is_set() -> None:
    with_identity = bootstrap(
        Settings(azure_mode="azure", managed_identity_client_id="abc", subscription_id=SUB)
    ).azure
    default_chain = bootstrap(Settings(azure_mode="azure", subscription_id=SUB)).azure

    assert isinstance(with_identity.credential, ManagedIdentityCredential)
    assert isinstance(default_chain.credential, DefaultAzureCredential)


IDENTITY = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id"
)


def test_the_ports_acting_as_a_template_identity_sign_with_its_managed_identity_once_per_identity() -> None:
    kiln = bootstrap(Settings(azure_mode="azure", subscription_id=SUB))

    as_identity = kiln.acting_as(IDENTITY)

    assert isinstance(as_identity, AzurePorts) and as_identity is not kiln.azure
    assert isinstance(as_identity.credential, ManagedIdentityCredential)
    assert isinstance(kiln.azure.credential, DefaultAzureCredential)  # kiln's own identity is unchanged
    assert kiln.acting_as(IDENTITY.upper()) is as_identity  # ARM ids compare ignoring case
    assert kiln.acting_as(IDENTITY + "2") is not as_identity
    assert kiln.build.acting_as(None) is kiln.build
    assert kiln.build.acting_as(IDENTITY).managed_images is as_identity.managed_images


def test_in_sim_mode_an_identitys_token_names_its_principal_looked_up_on_first_use() -> None:
    from azuresim.rbac import principal_of

    looked_up: list[str] = []
    credential = SimIdentityCredential(lambda: looked_up.append("x") or "principal-1")
    assert looked_up == []

    tokens = [credential.get_token("scope").token for _ in range(2)]

    assert principal_of({"Authorization": f"Bearer {tokens[0]}"}) == "principal-1"
    assert tokens[0] == tokens[1] and looked_up == ["x"]


def test_sim_mode_targets_the_sim_with_its_ca_and_a_fixed_token(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    settings = Settings(azure_mode="sim", sim_base_url="https://127.0.0.1:9443/", sim_ca_file=str(ca))

    ports = bootstrap(settings).azure

    assert arm_target(settings).base_url == "https://127.0.0.1:9443"
    assert arm_target(settings).connection_verify == str(ca)
    assert arm_target(settings).subscription_id == SIM_SUBSCRIPTION
    assert isinstance(ports.credential, StaticTokenCredential)
    assert ports.credential.get_token("x").token


def test_adapters_get_kilns_retry_policy_with_the_configured_limits() -> None:
    ports = bootstrap(
        Settings(azure_mode="azure", subscription_id=SUB, retry_total=2, max_retry_after=7)
    ).azure

    policy = ports._resource_client._config.retry_policy

    assert isinstance(policy, KilnRetryPolicy)
    assert (policy.total_retries, policy.max_retry_after) == (2, 7)


def test_settings_come_from_kiln_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_AZURE_MODE", "sim")
    monkeypatch.setenv("KILN_SUBSCRIPTION_ID", SUB)
    monkeypatch.setenv("KILN_AZURE_CLOUD", "AzureChinaCloud")
    monkeypatch.setenv("KILN_MAX_RETRY_AFTER", "12.5")

    settings = Settings()

    assert (settings.azure_mode, settings.subscription_id, settings.azure_cloud) == (
        "sim",
        SUB,
        "AzureChinaCloud",
    )
    assert settings.max_retry_after == 12.5


def test_the_process_root_is_composed_once_and_a_test_can_install_its_own_for_a_block() -> None:
    from shared.bootstrap import Overrides, installed, root
    from tests.fakes import FakeAzure, InMemoryDocuments

    process = root()
    fake, documents = FakeAzure(), InMemoryDocuments()
    mine = bootstrap(Settings(api_page_size=7), overrides=Overrides(azure=fake, documents=documents))

    with installed(mine):
        assert root() is mine
        assert root().azure is fake and root().documents is documents
        assert root().build.resource_groups is fake.resource_groups
        assert root().service.janitor is root().service.janitor  # composed once, then reused
    assert root() is process is root()


def test_the_builds_ports_record_runs_through_the_service_and_find_accounts_from_settings() -> None:
    from shared.bootstrap import Overrides
    from tests.fakes import FakeAzure, InMemoryDocuments

    kiln = bootstrap(
        Settings(azure_mode="azure", key_vault_id="/vault/id", azure_cloud="AzureUSGovernment"),
        overrides=Overrides(azure=FakeAzure(), documents=InMemoryDocuments()),
    )

    assert kiln.build.runs is kiln.service.records
    assert kiln.build.fetcher is kiln.fetcher
    assert kiln.build.key_vault_id == "/vault/id"
    assert kiln.build.storage_account_url("acct") == "https://acct.blob.core.usgovcloudapi.net"
