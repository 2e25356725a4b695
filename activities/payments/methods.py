"""Payment methods of an account: register a card at its gateway, list, choose the default.

A card is registered with a token made by the gateway's client-side form (Stripe.js ``pm_…``, or a
plug-in gateway's own) through ``MethodRegistrar.register_method`` (integrations/payments/base.py);
Multibill creates the gateway customer once per account, attaches the card and stores only the token
and display data (brand, last 4, expiry). The default is unique per account (partial unique index).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from domain.errors import NotFound, RuleViolation
from domain.ids import new_id
from domain.principal import Principal
from integrations.payments.base import (
    GatewayRegistry,
    GatewayUnavailable,
    MethodRegistrar,
    MethodRegistration,
    MethodRejected,
)
from models.base import unit_of_work
from models.payments import AccountPaymentSettings, PaymentMethod


class GatewayDown(RuleViolation):
    status = 503


def settings_row(session: Session, account_id: str) -> AccountPaymentSettings:
    row = session.get(AccountPaymentSettings, account_id, with_for_update=True)
    if row is None:
        row = AccountPaymentSettings(account_id=account_id, auto_collect=True, gateway_customer={})
        session.add(row)
        session.flush()
    return row


def list_methods(session: Session, principal: Principal, account_id: str) -> list[PaymentMethod]:
    visible_account(session, principal, account_id)
    stmt = (
        select(PaymentMethod)
        .where(PaymentMethod.account_id == account_id, PaymentMethod.status == "active")
        .order_by(PaymentMethod.id)
    )
    return list(session.execute(stmt).scalars())


def make_default(session: Session, method: PaymentMethod) -> None:
    session.execute(
        update(PaymentMethod)
        .where(PaymentMethod.account_id == method.account_id, PaymentMethod.id != method.id)
        .values(is_default=False)
    )
    session.flush()
    method.is_default = True
    session.flush()


def set_default(session: Session, principal: Principal, account_id: str, method_id: str) -> PaymentMethod:
    visible_account(session, principal, account_id, lock=True)
    method = session.get(PaymentMethod, method_id)
    if method is None or method.account_id != account_id or method.status != "active":
        raise NotFound("payment_method", method_id)
    make_default(session, method)
    return method


def register_card(
    url: str,
    gateways: GatewayRegistry,
    principal: Principal,
    account_id: str,
    *,
    token: str,
    gateway_name: str = "stripe",
    make_it_default: bool = True,
    auto_collect: bool | None = None,
) -> PaymentMethod:
    """Attach the card at the gateway (outside any transaction), then store token and display data."""
    try:
        gateway = gateways.get(gateway_name)
    except LookupError:
        raise RuleViolation("gateway_not_configured", f"no {gateway_name} gateway is configured") from None
    if not isinstance(gateway, MethodRegistrar):
        raise RuleViolation("gateway_has_no_cards", f"the {gateway_name} gateway does not keep cards")
    with unit_of_work(url) as session:
        account = visible_account(session, principal, account_id, lock=True)
        customer = settings_row(session, account_id).gateway_customer.get(gateway_name)
        email, name = account.email, account.display_name
    try:
        card = gateway.register_method(
            MethodRegistration(account_id=account_id, email=email, name=name, token=token, customer=customer)
        )
    except MethodRejected as exc:
        raise RuleViolation(exc.code, exc.message, field="token") from exc
    except GatewayUnavailable as exc:
        raise GatewayDown("gateway_unavailable", str(exc)) from exc
    with unit_of_work(url) as session:
        visible_account(session, principal, account_id, lock=True)
        row = settings_row(session, account_id)
        row.gateway_customer = {**row.gateway_customer, gateway_name: card.customer}
        if auto_collect is not None:
            row.auto_collect = auto_collect
        existing = session.execute(
            select(PaymentMethod).where(
                PaymentMethod.account_id == account_id,
                PaymentMethod.gateway == gateway_name,
                PaymentMethod.gateway_token == card.token,
                PaymentMethod.status == "active",
            )
        ).scalar_one_or_none()
        method = existing or PaymentMethod(
            id=new_id("pmt"),
            account_id=account_id,
            kind=getattr(gateway, "method_kind", "card"),  # mobile money: a phone number
            gateway=gateway_name,
            gateway_token=card.token,
            gateway_customer=card.customer,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            details={},
            is_default=False,
            status="active",
        )
        if existing is None:
            session.add(method)
            session.flush()
        has_default = session.execute(
            select(PaymentMethod.id).where(
                PaymentMethod.account_id == account_id,
                PaymentMethod.is_default.is_(True),
                PaymentMethod.status == "active",
            )
        ).first()
        if make_it_default or has_default is None:
            make_default(session, method)
        return method


def add_offline_method(session: Session, principal: Principal, account_id: str, kind: str) -> PaymentMethod:
    """A method with nothing to register at a gateway (cash at an outlet)."""
    visible_account(session, principal, account_id, lock=True)
    method = PaymentMethod(
        id=new_id("pmt"),
        account_id=account_id,
        kind=kind,
        gateway=kind,
        details={},
        is_default=False,
        status="active",
    )
    session.add(method)
    session.flush()
    return method


def set_auto_collect(session: Session, principal: Principal, account_id: str, on: bool) -> None:
    visible_account(session, principal, account_id, lock=True)
    settings_row(session, account_id).auto_collect = on
