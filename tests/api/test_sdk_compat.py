"""The official azure-mgmt-imagebuilder 2.0.0 client drives kiln under devhost over HTTPS."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)

from tests.api import bodies
from tests.api.live import LiveKiln

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


@pytest.fixture
def sub() -> str:
    """A fresh subscription per test, so listings see only that test's templates."""
    return str(uuid.uuid4())


def error_of(exc: HttpResponseError) -> tuple[str, str]:
    """The ARM error code and message the SDK parsed from our response."""
    assert exc.error is not None
    return str(exc.error.code), str(exc.error.message)


def _create(client: Any, rg: str, name: str, body: dict[str, Any]) -> Any:
    return client.virtual_machine_image_templates.begin_create_or_update(rg, name, body).result()


@pytest.mark.parametrize("stem", ["CreateImageTemplateLinux", "CreateImageTemplateWindows"])
def test_official_rest_examples_create_and_read_back_through_the_sdk(
    live: LiveKiln, sub: str, stem: str
) -> None:
    client = live.client(sub)
    body = bodies.rest_example(stem, sub=sub)
    created = _create(client, "myResourceGroup", "myImageTemplate", body)
    assert created.properties.provisioning_state == "Succeeded"
    assert (
        created.id.lower() == bodies.template_path("myImageTemplate", rg="myResourceGroup", sub=sub).lower()
    )
    got = client.virtual_machine_image_templates.get("myResourceGroup", "myImageTemplate")
    assert got.properties.source.type == body["properties"]["source"]["type"]
    assert got.tags == body["tags"]
    assert got.properties.exact_staging_resource_group.startswith(f"/subscriptions/{sub}/resourceGroups/IT_")


def test_every_repository_example_creates_and_lists_across_pages_in_both_scopes(
    live: LiveKiln, sub: str
) -> None:
    client = live.client(sub)
    names = bodies.example_names()
    for i, name in enumerate(names):
        rg = "rg-a" if i % 2 == 0 else "rg-b"
        assert _create(client, rg, name, bodies.example(name)).properties.provisioning_state == "Succeeded"
    ops = client.virtual_machine_image_templates
    pages = list(ops.list().by_page())
    assert len(pages) >= 3  # page size 2: the SDK followed nextLink
    assert sorted(t.name for page in pages for t in page) == names
    in_a = [t.name for t in ops.list_by_resource_group("rg-a")]
    assert sorted(in_a) == names[0::2]
    assert len(list(ops.list_by_resource_group("rg-a").by_page())) >= 2


def test_update_changes_tags_and_vm_profile_and_keeps_everything_else(live: LiveKiln, sub: str) -> None:
    client = live.client(sub)
    ops = client.virtual_machine_image_templates
    before = _create(client, "rg", "t1", bodies.ubuntu())
    after_tags = ops.begin_update("rg", "t1", {"tags": {"team": "images"}}).result()
    assert after_tags.tags == {"team": "images"}
    after_vm = ops.begin_update(
        "rg", "t1", {"properties": {"vmProfile": {"vmSize": "Standard_D4ds_v5", "osDiskSizeGB": 64}}}
    ).result()
    assert after_vm.properties.vm_profile.vm_size == "Standard_D4ds_v5"
    assert after_vm.properties.vm_profile.os_disk_size_gb == 64
    got = ops.get("rg", "t1")
    assert got.tags == {"team": "images"}
    assert got.properties.customize == before.properties.customize
    assert got.system_data.created_at == before.system_data.created_at


def test_update_of_a_field_patch_cannot_change_reaches_the_sdk_as_our_error(live: LiveKiln, sub: str) -> None:
    client = live.client(sub)
    _create(client, "rg", "t1", bodies.ubuntu())
    with pytest.raises(HttpResponseError) as caught:
        client.virtual_machine_image_templates.begin_update(
            "rg", "t1", {"properties": {"buildTimeoutInMinutes": 90}}
        ).result()
    assert caught.value.status_code == 400
    assert error_of(caught.value)[0] == "ValidationFailed"
    assert "properties.buildTimeoutInMinutes" in error_of(caught.value)[1]


def test_triggers_create_get_list_delete_through_the_sdk(live: LiveKiln, sub: str) -> None:
    client = live.client(sub)
    _create(client, "rg", "t1", bodies.ubuntu())
    trigger = client.triggers.begin_create_or_update(
        "rg", "t1", "source", {"properties": {"kind": "SourceImage"}}
    )
    created = trigger.result()
    assert created.properties.kind == "SourceImage"
    assert created.properties.status.code == "Healthy"
    assert created.properties.status.message == "Trigger is active."
    assert [t.name for t in client.triggers.list_by_image_template("rg", "t1")] == ["source"]
    assert client.triggers.get("rg", "t1", "source").properties.provisioning_state == "Succeeded"
    with pytest.raises(HttpResponseError) as second:
        client.triggers.begin_create_or_update(
            "rg", "t1", "other", {"properties": {"kind": "SourceImage"}}
        ).result()
    assert second.value.status_code == 409
    client.triggers.begin_delete("rg", "t1", "source").result()
    assert list(client.triggers.list_by_image_template("rg", "t1")) == []


def test_delete_is_a_long_running_operation_that_ends_in_404(live: LiveKiln, sub: str) -> None:
    client = live.client(sub)
    ops = client.virtual_machine_image_templates
    _create(client, "rg", "gone", bodies.ubuntu())
    ops.begin_delete("rg", "gone").result()
    with pytest.raises(ResourceNotFoundError) as caught:
        ops.get("rg", "gone")
    assert error_of(caught.value)[0] == "ResourceNotFound"
    ops.begin_delete("rg", "gone").result()  # 204: deleting what is gone succeeds


def test_validation_errors_and_conflicts_reach_the_sdk_with_our_code_and_message(
    live: LiveKiln, sub: str
) -> None:
    client = live.client(sub)
    broken = bodies.ubuntu()
    broken["properties"]["source"]["type"] = "ISO"
    with pytest.raises(HttpResponseError) as invalid:
        _create(client, "rg", "bad", broken)
    assert invalid.value.status_code == 400
    assert error_of(invalid.value)[0] == "ValidationFailed"
    assert "properties.source" in error_of(invalid.value)[1]
    _create(client, "rg", "t1", bodies.ubuntu())
    _create(client, "rg", "t1", bodies.ubuntu())  # identical body: unchanged, no error
    changed = bodies.ubuntu()
    changed["properties"]["buildTimeoutInMinutes"] = 120
    with pytest.raises(ResourceExistsError) as conflict:
        _create(client, "rg", "t1", changed)
    assert error_of(conflict.value)[0] == "Conflict"
    assert "Update/Upgrade of image templates is currently not supported" in error_of(conflict.value)[1]


def test_a_wrong_function_key_is_refused_with_401(live: LiveKiln, sub: str) -> None:
    client = live.client(sub, key="not-the-key")
    with pytest.raises(ClientAuthenticationError) as caught:
        client.virtual_machine_image_templates.get("rg", "t1")
    assert caught.value.status_code == 401


def test_operations_and_run_outputs_are_served(live: LiveKiln, sub: str) -> None:
    client = live.client(sub)
    names = [op.name for op in client.operations.list()]
    assert "Microsoft.VirtualMachineImages/imageTemplates/write" in names
    _create(client, "rg", "t1", bodies.ubuntu())
    assert list(client.virtual_machine_image_templates.list_run_outputs("rg", "t1")) == []
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machine_image_templates.get_run_output("rg", "t1", "ubuntu-2404-gallery")


def test_the_key_can_also_travel_in_a_per_call_policy(live: LiveKiln, sub: str) -> None:
    from azure.core.pipeline.policies import HeadersPolicy
    from azure.mgmt.imagebuilder import ImageBuilderClient

    from tests.api.live import StaticToken

    client = ImageBuilderClient(
        StaticToken(),
        sub,
        base_url=live.devhost.base_url,
        connection_verify=live.devhost.ca_file,
        per_call_policies=[HeadersPolicy({"x-functions-key": live.devhost.function_key})],
        polling_interval=0,
    )
    _create(client, "rg", "t1", bodies.ubuntu())
    with pytest.raises(ResourceNotFoundError):  # past the key check: kiln itself answers 404
        client.virtual_machine_image_templates.get("rg", "absent")
