"""Key Vault secrets through the official SecretClient: the bearer challenge, versions, soft delete, and no
secret value in the request log."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.keyvault.secrets import SecretClient

from tests.support.azuresim import AzureSim

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def secrets(sim: AzureSim) -> SecretClient:
    return sim.secret_client()


def name() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


def test_unauthenticated_request_gets_the_key_vault_challenge(sim: AzureSim) -> None:
    resp = requests.get(f"{sim.base_url}/secrets/x?api-version=2025-07-01", verify=sim.ca_file, timeout=10)
    assert resp.status_code == 401
    challenge = resp.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization="https://login.microsoftonline.com/')
    assert 'resource="https://vault.azure.net"' in challenge


def test_sdk_answers_the_challenge_then_sets_and_gets_versions(sim: AzureSim, secrets: SecretClient) -> None:
    sim.control("DELETE", "/_sim/requests")
    key = name()
    first = secrets.set_secret(key, "v1", content_type="text/plain", tags={"kiln": "run1"})
    second = secrets.set_secret(key, "v2")
    assert first.properties.version != second.properties.version
    assert secrets.get_secret(key).value == "v2"
    assert secrets.get_secret(key, first.properties.version).value == "v1"
    assert secrets.get_secret(key, first.properties.version).properties.tags == {"kiln": "run1"}
    log = sim.control("GET", "/_sim/requests")["requests"]
    statuses = [(r["method"], r["status"]) for r in log if "/secrets/" in r["path"]]
    assert statuses[:2] == [("PUT", 401), ("PUT", 200)]
    assert key in [p.name for p in secrets.list_properties_of_secrets()]
    versions = {p.version for p in secrets.list_properties_of_secret_versions(key)}
    assert versions == {first.properties.version, second.properties.version}


def test_deleted_secret_is_recoverable_and_its_name_blocked_until_purged(secrets: SecretClient) -> None:
    key = name()
    secrets.set_secret(key, "value")
    deleted = secrets.begin_delete_secret(key).result()
    assert deleted.recovery_id is not None and deleted.deleted_date is not None
    with pytest.raises(ResourceNotFoundError):
        secrets.get_secret(key)
    assert secrets.get_deleted_secret(key).name == key
    with pytest.raises(ResourceExistsError):
        secrets.set_secret(key, "again")
    secrets.purge_deleted_secret(key)
    assert secrets.set_secret(key, "again").value == "again"


def test_secret_values_never_reach_the_request_log(sim: AzureSim, secrets: SecretClient) -> None:
    value = f"p@ss-{uuid.uuid4().hex}"
    key = name()
    secrets.set_secret(key, value)
    assert secrets.get_secret(key).value == value
    assert value not in json.dumps(sim.control("GET", "/_sim/requests"))
