"""The issue's whole flow in Chromium against a real stack (`multibill up` with localstripe): a new
subscriber signs up, confirms the e-mail from the mail sink, logs in, subscribes, upgrades after seeing
the quote, pays the first invoice with a card through localstripe's Stripe.js, tops up the wallet, raises
a ticket and logs out; in English on a desktop and in Spanish on a phone-size screen.

Every page is screenshotted (tests/artifacts/flow-…), checked by axe-core and by the page guard; their
findings are gathered and reported together at the end, so one run shows every page's problems.
Subscribing is the plan's Subscribe button on /portal/subscriptions (the Onboarding process behind it).
"""

from __future__ import annotations

import email
import re
import uuid
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import (
    DESKTOP,
    PageGuard,
    assert_accessible,
    new_context,
    phone_context,
    screenshot,
)
from tests.support.eventually import eventually
from tests.support.localstripe import GOOD_CARD
from tests.support.portal_stack import PortalStack

PASSWORD = "correct horse battery staple 42"
UPGRADE_TO = "demo-fibre-600"
FIRST_PLAN = "demo-tv-basic"


@dataclass
class Flow:
    page: Page
    stack: PortalStack
    name: str
    guard: PageGuard = field(default_factory=PageGuard)
    findings: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.stack.base_url}{path}"

    def check(self, step: str) -> None:
        """Screenshot, axe and the guard on the page as it is now; findings are kept for the end."""
        self.page.wait_for_load_state("networkidle")
        screenshot(self.page, f"flow-{self.name}-{step}")
        try:
            assert_accessible(self.page, step)
        except AssertionError as exc:
            self.findings.append(str(exc))
        if self.guard.problems:
            self.findings.append(f"{step}: " + "; ".join(self.guard.problems))
            self.guard.problems.clear()


def mail_to(mail_dir: Path, address: str) -> Message:
    def found() -> list[Message]:
        messages = [email.message_from_bytes(p.read_bytes()) for p in sorted(mail_dir.glob("*.eml"))]
        return [m for m in messages if address in str(m["To"])]

    return eventually(found, timeout=60, interval=0.5, what=f"an e-mail to {address}")[0]


def text_of(message: Message) -> str:
    parts = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    return "".join(bytes(p.get_payload(decode=True)).decode() for p in parts)


def sign_up_and_confirm(flow: Flow, address: str, lang: str) -> None:
    page = flow.page
    page.goto(flow.url(f"/portal/?lang={lang}"))
    flow.check("landing")
    page.locator("#sign-up").click()
    page.wait_for_url("**/portal/signup")
    flow.check("signup")
    page.fill("#given_name", "Ana")
    page.fill("#family_name", "Ruiz")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.locator("#signup-form button[type=submit]").click()
    page.wait_for_selector("#sent-message")
    flow.check("signup-sent")

    link = re.search(r"(https?://\S+/portal/verify/\S+)", text_of(mail_to(flow.stack.mail_dir, address)))
    assert link, "no confirmation link in the e-mail"
    page.goto(link.group(1))
    flow.check("verify")
    page.locator("#verify-form button").click()
    page.wait_for_selector("#verify-message")
    assert page.locator("#verify-form").count() == 0
    flow.check("verified")


def log_in(flow: Flow, address: str) -> None:
    page = flow.page
    page.goto(flow.url("/portal/login"))
    flow.check("login")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    eventually(lambda: page.locator("#services").count(), timeout=30, what="the dashboard after login")
    flow.check("dashboard-new")


def subscribe(flow: Flow) -> str:
    """Subscribe by the plan's Subscribe button on the subscriptions page, then wait for the Onboarding
    process to make it active (the page says it is being set up until then)."""
    page = flow.page
    page.goto(flow.url("/portal/subscriptions"))
    flow.check("subscriptions-new")
    page.locator(f"[data-plan='{FIRST_PLAN}'] form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/portal/subscriptions\?started=.+"))
    page.wait_for_selector("#subscribe-started")
    started = page.url.split("started=")[1]
    flow.check("subscribe-started")

    def active() -> str | None:
        page.goto(flow.url("/portal/subscriptions"))
        row = page.locator(f"#subscriptions [data-subscription='{started}']")
        return started if row.count() and row.get_attribute("data-status") == "active" else None

    subscription = eventually(active, timeout=90, interval=1, what="the subscription active on its page")
    flow.check("subscriptions-active")
    page.goto(flow.url("/portal/"))
    row = page.locator(f"#services [data-subscription='{subscription}']")
    assert row.count() == 1 and row.get_attribute("data-status") == "active"
    flow.check("dashboard-subscribed")
    return str(subscription)


def upgrade(flow: Flow, subscription: str) -> None:
    page = flow.page
    page.goto(flow.url(f"/portal/subscriptions/{subscription}"))
    flow.check("subscription")
    page.select_option("#plan", UPGRADE_TO)
    page.locator("form[action$='/quote'] button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/quote$"))
    flow.check("quote")
    page.locator("form[action$='/changes'] button[type=submit]").click()
    page.wait_for_selector("[role=status]")
    flow.check("upgraded")


def bill_run_for(stack: PortalStack, subscription: str) -> None:
    """The operator's bill run of the subscription's cycle (what its schedule would start): the demo
    plans are billed by the cycle, not at activation."""
    with stack.api() as api:
        found = api.get(f"/v1/subscriptions/{subscription}")
        assert found.status_code == 200, found.text
        bill_day = int(found.json()["bill_day"])
        started = api.post(
            "/v1/billing-runs",
            json={"bill_day": 31 if bill_day > 28 else bill_day},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert started.status_code == 202, started.text


def pay_first_invoice(flow: Flow, subscription: str) -> None:
    page = flow.page
    bill_run_for(flow.stack, subscription)

    def open_invoice() -> str | None:
        page.goto(flow.url("/portal/"))
        row = page.locator("#open-invoices [data-invoice]")
        return row.first.get_attribute("data-invoice") if row.count() else None

    invoice = eventually(open_invoice, timeout=90, interval=1, what="an open invoice on the dashboard")
    page.goto(flow.url(f"/portal/invoices/{invoice}/pay"))
    enter_card(page)
    flow.check("pay")
    status = card_outcome(page, "the payment's outcome")
    flow.check("paid")
    assert status == page.locator("#card-form").get_attribute("data-succeeded"), status


def card_outcome(page: Page, what: str) -> str:
    """Submit the card form and wait for its outcome (the status line stops saying it is working)."""
    working = page.locator("#card-form").get_attribute("data-working")
    page.locator("#card-form button[type=submit]").click()
    return str(
        eventually(
            lambda: page.locator("#status").inner_text(),
            until=lambda text: bool(text) and text != working,
            timeout=90,
            interval=0.5,
            what=what,
        )
    )


def enter_card(page: Page) -> None:
    """localstripe's stand-in for Stripe.js mounts plain inputs named by placeholder in #card."""
    page.wait_for_selector("#card input[placeholder=number]")
    for placeholder, value in (
        ("number", GOOD_CARD),
        ("exp_month", "12"),
        ("exp_year", "31"),
        ("cvc", "123"),
        ("postal_code", "28013"),
    ):
        page.fill(f"#card input[placeholder={placeholder}]", value)


def top_up(flow: Flow) -> None:
    page = flow.page
    page.goto(flow.url("/portal/wallet/top-up"))
    page.fill("#amount", "20")
    enter_card(page)
    flow.check("top-up")
    status = card_outcome(page, "the top-up's outcome")
    flow.check("topped-up")
    assert "20" in status, status  # "Your wallet now holds 20.00 EUR" (the first top-up)


def raise_ticket(flow: Flow) -> None:
    page = flow.page
    page.goto(flow.url("/portal/tickets/new"))
    flow.check("ticket-new")
    assert page.locator("#ticket-category").count(), "no ticket category is open to subscribers"
    page.fill("#ticket-subject", "My router blinks red")
    page.fill("#ticket-description", "Since this morning.")
    page.locator("form[action='/portal/tickets'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "My router blinks red" in page.content()
    flow.check("ticket")


def log_out(flow: Flow) -> None:
    page = flow.page
    page.goto(flow.url("/portal/"))
    page.locator("details.menu summary").click()
    page.locator("form[action='/portal/logout'] button").click()
    page.wait_for_url("**/portal/login**")
    flow.check("logged-out")
    page.goto(flow.url("/portal/"))
    assert page.locator("#sign-up").count() == 1  # signed out again


def open_ticket_category(stack: PortalStack) -> None:
    """Setup by the operator's staff: a calendar, a queue and a category subscribers may raise tickets in."""
    with stack.api() as api:

        def post(path: str, body: dict[str, Any]) -> str:
            made = api.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
            assert made.status_code == 201, made.text
            return str(made.json()["id"])

        week = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        calendar = post(
            "/v1/business-calendars",
            {"name": "Always", "timezone": "Europe/Madrid", "working_hours": week},
        )
        queue = post("/v1/ticket-queues", {"name": "Front line"})
        post(
            "/v1/ticket-categories",
            {
                "code": f"help_{uuid.uuid4().hex[:6]}",
                "name": "Technical help",
                "queue_id": queue,
                "calendar_id": calendar,
                "first_response_minutes": 60,
                "resolution_minutes": 480,
                "open_to_subscribers": True,
            },
        )


@pytest.mark.parametrize(
    ("lang", "view"),
    [pytest.param("en", "desktop", id="en-desktop"), pytest.param("es", "phone", id="es-phone")],
)
def test_the_whole_flow(portal_stack: PortalStack, browser: Browser, lang: str, view: str) -> None:
    options: dict[str, Any] = {"locale": "es-ES" if lang == "es" else "en-GB"}
    manager = (
        phone_context(browser, **options) if view == "phone" else new_context(browser, DESKTOP, **options)
    )
    open_ticket_category(portal_stack)
    with manager as context:
        page = context.new_page()
        flow = Flow(page, portal_stack, f"{lang}-{view}")
        flow.guard.attach(page)
        address = f"flow-{uuid.uuid4().hex[:8]}@example.com"
        sign_up_and_confirm(flow, address, lang)
        log_in(flow, address)
        subscription = subscribe(flow)
        upgrade(flow, subscription)
        pay_first_invoice(flow, subscription)
        top_up(flow)
        raise_ticket(flow)
        log_out(flow)
    assert not flow.findings, "problems on the flow's pages:\n" + "\n".join(flow.findings)
