"""The process id rules give exactly the ids running processes and stored histories already carry."""

from __future__ import annotations

from domain import process_ids
from domain.process_ids import ProcessLabels

SUB = "sub_01HV8VZVNCD7YNT1G3NNJ4ZXM6"
KEY = "key-1"  # sha256: be2974546978e373…; of "org_1:key-1": d15bff840fe39bd866b5…


def test_request_processes_are_named_after_the_idempotency_key() -> None:
    assert process_ids.onboarding(SUB) == f"onboarding-{SUB}"
    assert process_ids.subscription_request("change", SUB, KEY) == f"change-{SUB}-be2974546978e373"
    assert process_ids.subscription_request("suspend", SUB, KEY) == f"suspend-{SUB}-be2974546978e373"
    assert process_ids.prepaid_resume(SUB, KEY) == f"resume-{SUB}-be2974546978e373"
    assert process_ids.device_swap("org_1", "dev_1", KEY) == "device-swap-dev_1-d15bff840fe39bd866b5"


def test_billing_collection_and_dunning_ids() -> None:
    assert process_ids.billing_run("run_1") == "billing-run_1"
    assert process_ids.scheduled_billing_run("org_1", 3) == "billing-org_1-03"
    assert process_ids.billing_schedule("org_1", 31) == "billing-org_1-cycle-31"
    assert process_ids.collection("run_1") == "collection-run_1"
    assert process_ids.dunning("inv_1") == "dunning-inv_1"


def test_child_and_account_process_ids() -> None:
    assert process_ids.service_action("dunning-inv_1", "suspend", SUB) == f"dunning-inv_1:suspend:{SUB}"
    assert process_ids.service_action("billing-run_1", "suspend", SUB) == f"billing-run_1:suspend:{SUB}"
    assert process_ids.on_demand_access("svc_1") == "ondemand-svc_1"
    assert process_ids.account_verification("acc_1") == "account-verification-acc_1"
    assert process_ids.account_verification("acc_1", 7) == "account-verification-acc_1-v7"


def test_action_process_names() -> None:
    assert process_ids.action_process("suspend") == "SubscriptionSuspend"
    assert process_ids.action_process("regret") == "SubscriptionRegret"


def test_labels_leave_out_empty_ids_and_add_the_memo_extras() -> None:
    labels = ProcessLabels(
        process="Collection",
        summary="Collection of bill run run_1",
        organisation_id="org_1",
        account_id="",
        memo_extra={"billing_run_id": "run_1"},
    )
    assert labels.ids() == {"organisation_id": "org_1"}
    assert labels.memo() == {"organisation_id": "org_1", "billing_run_id": "run_1"}
