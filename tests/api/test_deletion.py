"""Deleting a template while the build flow's cleanup is still running, finishing it, or failing it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.errors import Conflict, KilnError
from shared.service import ApiService, Caller
from shared.service.deletion import TemplateDeletion
from shared.store import JsonStore, TemplateRef, keys
from tests.api import bodies
from tests.api.conftest import compose
from tests.fakes import InMemoryDocuments

REF = TemplateRef(bodies.SUB, bodies.RG, "t1")


@dataclass
class PendingCleanup:
    """A stand-in for the build flow: it records what it was asked to clean and never finishes by itself."""

    started: list[tuple[TemplateRef, str, str]] = field(default_factory=list)

    def begin_delete(self, *, ref: TemplateRef, template: dict[str, Any], operation_id: str) -> bool:
        self.started.append((ref, template["readOnly"]["exactStagingResourceGroup"], operation_id))
        return False

    def advance(self, *, ref: TemplateRef, template: dict[str, Any]) -> bool:
        return False


@pytest.fixture
def cleanup() -> PendingCleanup:
    return PendingCleanup()


@pytest.fixture
def service(documents: InMemoryDocuments, cleanup: PendingCleanup) -> ApiService:
    composed = compose(documents, api_page_size=10).service
    deletion = TemplateDeletion(composed.store, operations=composed.operations, cleanup=cleanup)
    svc = dataclasses.replace(composed, deletion=deletion)
    svc.templates.put(REF, bodies.ubuntu(), api_version="2025-10-01", caller=Caller())
    svc.triggers.put(REF, "source", {"properties": {"kind": "SourceImage"}}, caller=Caller())
    return svc


def test_the_template_reads_deleting_until_the_cleanup_finishes(
    service: ApiService, cleanup: PendingCleanup
) -> None:
    operation = service.deletion.delete(REF).operation
    assert operation is not None and operation["status"] == "InProgress"
    staging = service.templates.get(REF, api_version="2025-10-01")["properties"]["exactStagingResourceGroup"]
    assert cleanup.started == [(REF, staging, operation["id"])]
    assert (
        service.templates.get(REF, api_version="2025-10-01")["properties"]["provisioningState"] == "Deleting"
    )
    again = service.deletion.delete(REF).operation
    assert again is not None and again["id"] == operation["id"]
    assert len(cleanup.started) == 1
    service.deletion.finish(REF, operation["id"])
    assert service.operations.get(REF.subscription, operation["id"])["status"] == "Succeeded"
    with pytest.raises(KilnError) as caught:
        service.templates.get(REF, api_version="2025-10-01")
    assert caught.value.status == 404


def test_a_deleting_template_takes_no_put_patch_or_trigger(service: ApiService) -> None:
    service.deletion.delete(REF)
    with pytest.raises(Conflict):
        service.templates.put(REF, bodies.ubuntu(), api_version="2025-10-01", caller=Caller())
    with pytest.raises(Conflict):
        service.templates.patch(REF, {"tags": {}}, api_version="2025-10-01", caller=Caller())
    service.triggers.delete(REF, "source")
    with pytest.raises(KilnError) as caught:
        service.triggers.put(REF, "source", {"properties": {"kind": "SourceImage"}}, caller=Caller())
    assert caught.value.status == 400
    assert "provisioningState" in caught.value.message


def test_a_failed_cleanup_leaves_the_template_failed_and_deletable_again(
    service: ApiService, cleanup: PendingCleanup
) -> None:
    first = service.deletion.delete(REF).operation
    assert first is not None
    service.deletion.fail(REF, first["id"], KilnError(code="StagingGroupBusy", message="RG is locked"))
    failed = service.operations.get(REF.subscription, first["id"])
    assert failed["status"] == "Failed" and failed["error"]["code"] == "StagingGroupBusy"
    props = service.templates.get(REF, api_version="2025-10-01")["properties"]
    assert props["provisioningState"] == "Failed"
    assert props["provisioningError"]["message"] == "RG is locked"
    second = service.deletion.delete(REF).operation
    assert second is not None and second["id"] != first["id"]
    assert len(cleanup.started) == 2


def test_finishing_a_delete_removes_every_document_of_the_template(
    service: ApiService, store: JsonStore
) -> None:
    store.create(keys.child(keys.RUN_OUTPUTS, REF, "out"), {"name": "out"})
    store.create(keys.child(keys.RUNS, REF, "run-1"), {"runId": "run-1"})
    operation = service.deletion.delete(REF).operation
    assert operation is not None
    service.deletion.finish(REF, operation["id"])
    for kind in (keys.TRIGGERS, keys.RUNS, keys.RUN_OUTPUTS):
        assert store.list_all_keys(keys.children_prefix(kind, REF)) == []
    assert store.get(keys.template(REF)) is None
    quota = store.get(keys.trigger_quota(REF.subscription, "eastus"))
    assert quota is not None and quota.body["triggers"] == []
