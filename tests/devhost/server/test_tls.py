import time
from pathlib import Path

import pytest
import requests
from azure.mgmt.imagebuilder import ImageBuilderClient

from shared.azure.credentials import StaticTokenCredential
from tests.devhost.server.conftest import TESTAPP
from tests.support.devhost import start_devhost

pytestmark = pytest.mark.timeout(120)


def test_official_azure_sdk_client_reaches_an_https_function_through_the_generated_ca(tmp_path: Path) -> None:
    ca_out = tmp_path / "trust" / "ca.pem"
    with start_devhost(
        TESTAPP, state_dir=tmp_path / "state", https=True, extra_args=["--ca-out", str(ca_out)]
    ) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        assert server.ca_file == str(ca_out) and ca_out.exists()
        client = ImageBuilderClient(
            StaticTokenCredential("local-token"),
            "0000-sub",
            base_url=f"{server.base_url}/api",
            connection_verify=str(ca_out),
        )
        template = client.virtual_machine_image_templates.get("my-rg", "tpl-1")
        assert template.name == "tpl-1"
        assert str(template.id).endswith(
            "/resourceGroups/my-rg/providers/Microsoft.VirtualMachineImages/imageTemplates/tpl-1"
        )
        assert template.provisioning_state == "Succeeded"
        started = requests.post(
            f"{server.base_url}/api/orchestrators/sequence",
            params={"code": server.function_key},
            json=["TLS"],
            verify=str(ca_out),
            timeout=10,
        )
        assert started.status_code == 202
        status_url = started.headers["Location"]
        assert status_url.startswith(f"{server.base_url}/runtime/webhooks/durabletask/instances/")
        deadline = time.monotonic() + 20
        while (body := requests.get(status_url, verify=str(ca_out), timeout=10).json())[
            "runtimeStatus"
        ] != "Completed":
            assert time.monotonic() < deadline, body
            time.sleep(0.05)
        assert body["output"] == ["Hello TLS!"]


def test_https_rejects_clients_that_do_not_trust_the_ca_and_reuses_the_ca_after_restart(
    tmp_path: Path,
) -> None:
    server = start_devhost(TESTAPP, state_dir=tmp_path / "state", https=True)
    try:
        ca = Path(server.ca_file or "")
        assert ca == tmp_path / "state" / "tls" / "ca.pem"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{server.base_url}/healthz", timeout=10)
        first_ca = ca.read_bytes()
        server.restart()
        assert ca.read_bytes() == first_ca
        assert requests.get(f"{server.base_url}/healthz", verify=str(ca), timeout=10).status_code == 200
        assert (
            requests.get(
                f"https://localhost:{server.base_url.rsplit(':', 1)[1]}/healthz", verify=str(ca), timeout=10
            ).status_code
            == 200
        )
    finally:
        server.stop()


def test_a_given_certificate_and_key_are_served(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file, ca_file = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    with start_devhost(
        TESTAPP, state_dir=tmp_path / "state", extra_args=["--cert", str(cert_file), "--key", str(key_file)]
    ) as server:
        assert server.base_url.startswith("https://")
        assert requests.get(f"{server.base_url}/healthz", verify=str(ca_file), timeout=10).ok
