"""Onboarding: create the subscription, charge what is due at activation, provision, activate, notify.

A failure after a side effect compensates in reverse (saga): provisioned services are terminated,
pending charges voided, and the subscription is left ``failed`` with the reason.

Since ``LOCAL_STEPS_PATCH`` the short database steps of the way forward (create, charges, device
reservation and hand-over, the prepaid debit, activation, the first invoice, the welcome notice) run
as local activities: in the workflow task that reaches them, recorded as markers, without a round
trip through the server's activity task queue each. Calls to peers (provisioning, the gateway's
collection) and the compensation stay ordinary activities. Since ``ONE_OPENING_STEP_PATCH`` the
creation and the activation charges are one local activity (one transaction). See bench/onboarding.py
for the figures.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.billing.io import BillingActivities, BillNow
    from activities.devices.io import (
        DeviceActivities,
        DispatchDeviceInput,
        ReleaseDeviceInput,
        ReservedDevice,
        ReserveDeviceInput,
    )
    from activities.payments.io import CollectInput, PaymentActivities
    from activities.provisioning.io import OrderInput, ProvisioningActivities
    from activities.subscriptions.io import (
        CreatedSubscription,
        FailInput,
        Notice,
        OnboardingInput,
        OnboardingResult,
        ServiceRef,
        SubscriptionActivities,
        SubscriptionRef,
    )
    from activities.wallets.io import PrepaidDebit, PrepaidDebitResult, WalletActivities
    from domain.provisioning import ProvisioningAction
    from workflows.common import (
        DB_RETRY,
        FIRST_COLLECT_RETRY,
        PERSISTENT_RETRY,
        PROVISION_RETRY,
        WELCOME_RETRY,
        ProcessStatus,
        ShowsStep,
        show_details,
    )
    from workflows.dunning import start_dunning
    from workflows.on_demand import access_windows, start_access
    from workflows.partners import start_memberships

PARTNER_MEMBERSHIPS_PATCH = "onboarding-partner-memberships"
LOCAL_STEPS_PATCH = "onboarding-local-steps"
ONE_OPENING_STEP_PATCH = "onboarding-one-opening-step"


def order_for(
    order: OnboardingInput | None,
    process_id: str,
    service: ServiceRef,
    action: ProvisioningAction,
    account_id: str,
    subscription_id: str,
    device: ReservedDevice | None = None,
    expires_at: datetime | None = None,
) -> OrderInput:
    return OrderInput(
        idempotency_key=f"{process_id}:{service.service_id}:{action.value}",
        action=action,
        service_kind=service.product_kind,
        account_id=account_id,
        subscription_id=subscription_id,
        service_id=service.service_id,
        plan_code=service.plan_code,
        characteristics=service.characteristics,
        device=device.model_dump() if device else None,
        expires_at=expires_at.isoformat() if expires_at else None,
    )


@workflow.defn(name="Onboarding")
class OnboardingWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "starting"
        self._subscription_id = ""
        self._error: str | None = None
        self._devices: dict[str, ReservedDevice] = {}
        self._local = False

    async def _db_step(
        self, method: Callable[..., Any], arg: Any, timeout: timedelta, retry: Any = DB_RETRY
    ) -> Any:
        """A short database step: a local activity on the patched path, an activity before it."""
        if self._local:
            return await workflow.execute_local_activity_method(
                method, arg, start_to_close_timeout=timeout, retry_policy=retry
            )
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=timeout, retry_policy=retry
        )

    @workflow.run
    async def run(self, order: OnboardingInput) -> OnboardingResult:
        self._subscription_id = order.subscription_id
        plans = ", ".join(service.plan_code for service in order.services) or "add-ons"
        self._describe(f"Onboarding of account {order.account_id} to {plans}")
        ref = SubscriptionRef(
            subscription_id=order.subscription_id, process_id=order.process_id, actor=order.actor
        )
        self._local = workflow.patched(LOCAL_STEPS_PATCH)
        self._step = "creating"
        # Since the patch, the subscription and its activation charges are one step (one transaction):
        # nothing to compensate if it fails, as when the creation alone failed before.
        opening = self._local and workflow.patched(ONE_OPENING_STEP_PATCH)
        created: CreatedSubscription = await self._db_step(
            SubscriptionActivities.open_subscription
            if opening
            else SubscriptionActivities.create_subscription,
            order,
            timedelta(seconds=30),
        )
        provisioned: list[ServiceRef] = []
        try:
            if not opening:
                self._step = "charging"
                await self._db_step(SubscriptionActivities.add_activation_charges, ref, timedelta(seconds=30))
            await self._reserve_devices(order, created.services)
            self._step = "provisioning"
            windows = access_windows(created.services)
            for service in created.services:
                show_details(self._about, f"provisioning {service.product_kind} ({service.plan_code})")
                await workflow.execute_activity_method(
                    ProvisioningActivities.provision_service,
                    order_for(
                        order,
                        order.process_id,
                        service,
                        ProvisioningAction.ACTIVATE,
                        order.account_id,
                        order.subscription_id,
                        self._devices.get(service.service_id),
                        windows.get(service.service_id),
                    ),
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=PROVISION_RETRY,
                )
                provisioned.append(service)
            await self._first_prepaid_debit(order)
        except (ActivityError, ApplicationError) as err:
            self._error = _reason(err) if isinstance(err, ActivityError) else err.message
            await self._compensate(order, ref, provisioned)
            return OnboardingResult(
                subscription_id=order.subscription_id, status="failed", reason=self._error
            )
        self._step = "activating"
        status: str = await self._db_step(
            SubscriptionActivities.activate_subscription, ref, timedelta(seconds=30)
        )
        await self._dispatch_devices(order)
        for service in created.services:  # on-demand plans: deprovisioned when the window ends
            if service.service_id in windows:
                device = self._devices.get(service.service_id)
                await start_access(
                    service,
                    account_id=order.account_id,
                    subscription_id=order.subscription_id,
                    expires_at=windows[service.service_id],
                    device=device.model_dump() if device else None,
                )
        partner_lines = [s.service_id for s in created.services if s.product_kind == "partner_service"]
        if partner_lines and workflow.patched(PARTNER_MEMBERSHIPS_PATCH):
            await self._partner_memberships(order, partner_lines)
        if order.invoice_now:
            await self._first_invoice(order)
        self._step = "notifying"
        try:
            await self._db_step(
                SubscriptionActivities.notify_subscriber,
                Notice(subscription_id=order.subscription_id, process_id=order.process_id, kind="welcome"),
                timedelta(seconds=30),
                WELCOME_RETRY,
            )
        except ActivityError as err:  # a welcome email never undoes an activation
            workflow.logger.warning("welcome notice for %s failed: %s", order.subscription_id, err)
        self._step = status
        return OnboardingResult(subscription_id=order.subscription_id, status=status)

    async def _partner_memberships(self, order: OnboardingInput, service_ids: list[str]) -> None:
        """The partner subscribers and their PartnerSignUps (not waited for: see workflows/partners.py)."""
        self._step = "signing_up_partners"
        await start_memberships(order.subscription_id, order.process_id, service_ids)

    async def _first_invoice(self, order: OnboardingInput) -> None:
        """Invoice the first period now and collect it; a failed collection goes to dunning, as any other."""
        self._step = "invoicing"
        invoice_ids: list[str] = await self._db_step(
            BillingActivities.bill_now,
            BillNow(subscription_id=order.subscription_id, up_to=order.start_date),
            timedelta(seconds=60),
        )
        self._step = "collecting"
        for invoice_id in invoice_ids:
            result = await workflow.execute_activity_method(
                PaymentActivities.collect_invoice,
                CollectInput(invoice_id=invoice_id, attempt=1),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=FIRST_COLLECT_RETRY,
            )
            if result.status in ("declined", "failed"):
                await start_dunning(invoice_id, order.account_id, order.organisation_id)

    async def _first_prepaid_debit(self, order: OnboardingInput) -> None:
        """A prepaid (wallet) term pays its first period before the services go live."""
        if order.billing_term not in ("prepaid", "voucher"):
            return
        self._step = "debiting_wallet"
        debit: PrepaidDebitResult = await self._db_step(
            WalletActivities.debit_prepaid_period,
            PrepaidDebit(subscription_id=order.subscription_id, on=order.start_date, include_pending=True),
            timedelta(seconds=30),
        )
        if debit.status == "insufficient_funds":
            raise ApplicationError(
                f"the {debit.currency} wallet holds {debit.balance_minor}, the first period costs "
                f"{debit.amount_minor} (minor units): top it up first",
                type="InsufficientFunds",
            )

    async def _reserve_devices(self, order: OnboardingInput, services: list[ServiceRef]) -> None:
        """A device for each service whose plan rents or sells one (picked from stock, held for it)."""
        wanted = [s for s in services if s.device_product and order.operator_id]
        if wanted:
            self._step = "reserving_devices"
        for service in wanted:
            self._devices[service.service_id] = await self._db_step(
                DeviceActivities.reserve_device,
                ReserveDeviceInput(
                    idempotency_key=f"{order.process_id}:{service.service_id}:reserve",
                    operator_id=order.operator_id or "",
                    subscription_id=order.subscription_id,
                    service_id=service.service_id,
                    product_code=service.device_product,
                    actor=order.actor,
                    process_id=order.process_id,
                ),
                timedelta(seconds=30),
            )

    async def _dispatch_devices(self, order: OnboardingInput) -> None:
        for service_id, device in self._devices.items():
            await self._db_step(
                DeviceActivities.dispatch_device,
                DispatchDeviceInput(
                    idempotency_key=f"{order.process_id}:{service_id}:dispatch",
                    device_id=device.device_id,
                    subscription_id=order.subscription_id,
                    service_id=service_id,
                    actor=order.actor,
                    process_id=order.process_id,
                ),
                timedelta(seconds=30),
            )

    async def _release_devices(self, order: OnboardingInput) -> None:
        for service_id, device in self._devices.items():
            await workflow.execute_activity_method(
                DeviceActivities.release_device,
                ReleaseDeviceInput(
                    idempotency_key=f"{order.process_id}:{service_id}:release",
                    device_id=device.device_id,
                    reservation_key=device.reservation_key,
                    actor=order.actor,
                    process_id=order.process_id,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DB_RETRY,
            )

    async def _compensate(
        self, order: OnboardingInput, ref: SubscriptionRef, provisioned: list[ServiceRef]
    ) -> None:
        self._step = "compensating"
        for service in reversed(provisioned):
            await workflow.execute_activity_method(
                ProvisioningActivities.provision_service,
                order_for(
                    order,
                    order.process_id,
                    service,
                    ProvisioningAction.TERMINATE,
                    order.account_id,
                    order.subscription_id,
                ),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=PERSISTENT_RETRY,
            )
        await self._release_devices(order)
        await workflow.execute_activity_method(
            SubscriptionActivities.fail_subscription,
            FailInput(**ref.model_dump(), reason=self._error or "onboarding failed"),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        self._step = "failed"

    @workflow.query(name="status")
    def status(self) -> ProcessStatus:
        return ProcessStatus(
            process="Onboarding", step=self._step, subscription_id=self._subscription_id, error=self._error
        )


def _reason(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or err)
