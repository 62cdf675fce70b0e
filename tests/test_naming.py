"""Names derive from the run id: repeatable for one run, distinct across runs and template incarnations."""

from __future__ import annotations

from shared import naming

SUB, RG, NAME = "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "rg", "ubuntu"


def test_the_same_run_always_gets_the_same_names() -> None:
    first = naming.run_id(SUB, RG, NAME, 1, incarnation="2026-11-26T10:00:00.000001Z")
    again = naming.run_id(SUB, RG, NAME, 1, incarnation="2026-11-26T10:00:00.000001Z")
    assert first == again
    assert naming.build_vm_name(first) == naming.build_vm_name(again)


def test_a_template_recreated_under_the_same_name_gets_new_run_ids_and_secret_names() -> None:
    old = naming.run_id(SUB, RG, NAME, 1, incarnation="2026-11-26T10:00:00.000001Z")
    new = naming.run_id(SUB, RG, NAME, 1, incarnation="2026-11-26T11:30:00.000002Z")
    assert old != new
    assert naming.admin_secret_name(old) != naming.admin_secret_name(new)
    key = naming.template_key(SUB, RG, NAME)
    assert naming.template_key_of_run(old) == naming.template_key_of_run(new) == key


def test_names_are_case_insensitive_like_arm_and_fit_azure_limits() -> None:
    run = naming.run_id(SUB, RG.upper(), NAME.upper(), 42)
    assert naming.template_key_of_run(run) == naming.template_key(SUB, RG, NAME)
    assert len(naming.build_vm_name(run)) <= 15
    account = naming.staging_storage_account_name(SUB, RG, NAME)
    assert 3 <= len(account) <= 24 and account.isalnum() and account.islower()
