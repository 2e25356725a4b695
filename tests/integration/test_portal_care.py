"""The portal's rewards and care pages, in English and Spanish, with the subscriber's own data: redeeming a
voucher (and a wrong code shown as an alert), the wallet's history, offers, points, a support request with
a file (its public thread, never an internal note; a reply; closing) and the preferences form. Forms
without the session's CSRF token are refused; signed-out visitors are sent to log in."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.care.activities import CareActivities
from activities.loyalty import points
from activities.notifications import settings as rules_store
from api.app import create_app
from models.accounts import Account
from models.base import unit_of_work
from models.care import TicketAttachment
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import make_account
from tests.support.care_support import make_care
from tests.support.factories import Tenant
from tests.support.loyalty_support import programme
from tests.support.subscribers import SignedIn, sign_in

TODAY = date(2026, 6, 17)
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]


@pytest.fixture
async def portal(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    queue = settings.model_copy(update={"task_queue": f"portal-care-{uuid.uuid4().hex[:8]}"})
    async with build_worker(dev_env.client, queue, activities=CareActivities(settings).all()):
        app = create_app(queue, temporal_client=dev_env.client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def form(signed: SignedIn, **fields: str) -> dict[str, str]:
    return {"csrf_token": signed.csrf_token, "idempotency_key": uuid.uuid4().hex, **fields}


def alert(html: str) -> str:
    found = re.search(r'<p role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert found, html[:2000]
    return found.group(1).strip()


def status_note(html: str) -> str:
    found = re.search(r'<p role="status"[^>]*>(.*?)</p>', html, re.S)
    assert found, html[:2000]
    return found.group(1).strip()


async def codes(api: httpx.AsyncClient, tenant: Tenant, count: int, value: int) -> list[str]:
    body = {"value_minor": value, "currency": "EUR", "expires_on": "2027-06-17", "count": count}
    lot = await api.post("/v1/voucher-lots", json=body, headers=tenant.post_headers())
    await api.post(f"/v1/voucher-lots/{lot.json()['id']}/activate", headers=tenant.post_headers())
    return list(lot.json()["codes"])


async def test_vouchers_wallet_offers_and_points_pages_in_both_languages(
    portal: httpx.AsyncClient, database_url: str
) -> None:
    api = portal
    care = make_care(database_url)
    tenant = care.tenant
    first, second = await codes(api, tenant, 2, 1050)
    mine = sign_in(database_url, care.account_id)
    jar = mine.cookies

    signed_out = await api.get("/portal/wallet")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/portal/login")
    empty = await api.get("/portal/wallet?lang=en", cookies=jar)
    assert "You have no wallet yet" in empty.text

    redeemed = await api.post("/portal/vouchers?lang=es", data=form(mine, code=first), cookies=jar)
    assert redeemed.status_code == 200, redeemed.text
    assert status_note(redeemed.text) == "Se han añadido 10,50 € a tu monedero. Tu saldo es 10,50 €."
    wrong = await api.post(
        "/portal/vouchers?lang=en", data=form(mine, code="ZZZZ-ZZZZ-ZZZZ-ZZZZ"), cookies=jar
    )
    assert wrong.status_code == 404
    assert alert(wrong.text) == "No voucher has this code. Check it and try again."
    used = await api.post("/portal/vouchers?lang=es", data=form(mine, code=first), cookies=jar)
    assert (used.status_code, alert(used.text)) == (409, "Este bono ya se ha canjeado.")
    forged = await api.post("/portal/vouchers", data={"code": second, "csrf_token": "nope"}, cookies=jar)
    assert forged.status_code == 403
    en_redeem = await api.post("/portal/vouchers?lang=en", data=form(mine, code=second), cookies=jar)
    assert status_note(en_redeem.text) == "€10.50 added to your wallet. Your balance is €21.00."

    wallet_es = await api.get("/portal/wallet?lang=es", cookies=jar)
    assert '<html lang="es">' in wallet_es.text and "Saldo: 21,00 €" in wallet_es.text
    assert wallet_es.text.count("10,50 €") == 3  # two movements and the first balance after
    wallet_en = await api.get("/portal/wallet?lang=en", cookies=jar)
    assert "Balance: €21.00" in wallet_en.text and "Movements in EUR" in wallet_en.text

    offer = {
        "code": f"o-{uuid.uuid4().hex[:8]}",
        "name": "Portal summer bonus",
        "kind": "wallet_credit",
        "currency": "EUR",
        "value_minor": 500,
        "starts_on": "2026-06-01",
        "ends_on": "2026-06-30",
        "channels": ["portal"],
    }
    made = await api.post("/v1/offers", json=offer, headers=tenant.post_headers())
    assert made.status_code == 201, made.text
    listed = await api.get("/portal/offers?lang=es", cookies=jar)
    assert "Portal summer bonus" in listed.text and "Aceptar esta oferta" in listed.text
    taken = await api.post(f"/portal/offers/{made.json()['id']}/accept?lang=en", data=form(mine), cookies=jar)
    assert taken.status_code == 200, taken.text
    assert status_note(taken.text) == f"Offer {offer['code']} taken."
    assert "Portal summer bonus" not in taken.text
    twice = await api.post(f"/portal/offers/{made.json()['id']}/accept?lang=es", data=form(mine), cookies=jar)
    assert (twice.status_code, alert(twice.text)) == (409, "Ya has aceptado esta oferta.")

    programme(database_url, tenant.organisation_id, value="0.5", expiry_months=12)
    with unit_of_work(database_url) as session:
        earn = points.Earn(care.account_id, 300, f"portal:{care.account_id}", date(2027, 1, 1))
        points.earn_many(session, tenant.organisation_id, [earn], date(2026, 1, 1))
    page_es = await api.get("/portal/points?lang=es", cookies=jar)
    assert "Tienes 300 puntos." in page_es.text
    beyond = await api.post(
        "/portal/points?lang=es", data=form(mine, points="400", reward="voucher"), cookies=jar
    )
    assert (beyond.status_code, alert(beyond.text)) == (409, "No tienes tantos puntos.")
    assert "Tienes 300 puntos." in beyond.text
    spent = await api.post(
        "/portal/points?lang=en", data=form(mine, points="101", reward="wallet_credit"), cookies=jar
    )
    assert status_note(spent.text) == "101 points redeemed for €0.51."
    assert "You have 199 points." in spent.text
    final = await api.get("/portal/wallet?lang=en", cookies=jar)
    assert "Balance: €26.51" in final.text


async def test_support_requests_and_preferences_pages(portal: httpx.AsyncClient, database_url: str) -> None:
    api = portal
    care = make_care(database_url, code="no_signal")
    tenant = care.tenant
    opened = await api.patch(
        f"/v1/ticket-categories/{care.category}", json={"open_to_subscribers": True}, headers=tenant.auth
    )
    assert opened.status_code == 200
    mine = sign_in(database_url, care.account_id)
    stranger = sign_in(database_url, make_account(database_url, tenant.organisation_id))
    jar = mine.cookies

    new = await api.get("/portal/tickets/new?lang=es", cookies=jar)
    assert "¿Sobre qué es?" in new.text and 'value="no_signal"' in new.text
    assert '<label for="ticket-attachment">' in new.text
    fields = form(mine, category="no_signal", subject="Sin señal", description="Desde el lunes")
    too_big = await api.post(
        "/portal/tickets?lang=es",
        data=fields,
        files={"attachment": ("big.txt", b"a" * (512 * 1024 + 1), "text/plain")},
        cookies=jar,
    )
    assert (too_big.status_code, alert(too_big.text)) == (
        413,
        "El archivo es demasiado grande (512 KiB como máximo).",
    )
    assert "Sin señal" in too_big.text  # the form keeps what was typed, and its key (sent again: one request)
    assert f'value="{fields["idempotency_key"]}"' in too_big.text
    raised = await api.post(
        "/portal/tickets?lang=es",
        data=fields,
        files={"attachment": ("router.txt", b"lights off", "text/plain")},
        cookies=jar,
    )
    assert raised.status_code == 303, raised.text
    ticket_url = raised.headers["location"].split("?")[0]
    ticket_id = ticket_url.rsplit("/", 1)[1]
    with unit_of_work(database_url) as session:
        files = session.execute(
            select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id)
        ).scalars()
        assert [(f.filename, f.size) for f in files] == [("router.txt", 10)]

    note = {"body": "Internal: VIP customer", "public": False}
    answer = {"body": "Please restart the router", "public": True}
    for body in (note, answer):
        added = await api.post(f"/v1/tickets/{ticket_id}/comments", json=body, headers=tenant.post_headers())
        assert added.status_code == 201
    for target in ("open", "waiting_on_customer"):
        await api.post(
            f"/v1/tickets/{ticket_id}/transitions", json={"status": target}, headers=tenant.post_headers()
        )

    detail = await api.get(f"{ticket_url}?lang=es", cookies=jar)
    assert "Sin señal" in detail.text and "Esperando tu respuesta" in detail.text
    assert "Please restart the router" in detail.text and "Archivo: router.txt" in detail.text
    assert "VIP" not in detail.text
    replied = await api.post(
        f"{ticket_url}/comments", data=form(mine, body="Ya lo he reiniciado"), cookies=jar
    )
    assert replied.status_code == 303
    after = await api.get(f"{ticket_url}?lang=en", cookies=jar)
    assert "Ya lo he reiniciado" in after.text and "In progress" in after.text
    listed = await api.get("/portal/tickets?lang=en", cookies=jar)
    assert f'href="/portal/tickets/{ticket_id}"' in listed.text
    theirs = await api.get(ticket_url, cookies=stranger.cookies)
    assert theirs.status_code == 404 and ticket_id not in theirs.text
    their_reply = await api.post(
        f"{ticket_url}/comments", data=form(stranger, body="hi"), cookies=stranger.cookies
    )
    assert their_reply.status_code == 404
    no_csrf = await api.post(f"{ticket_url}/close", data={"idempotency_key": "k"}, cookies=jar)
    assert no_csrf.status_code == 403
    closed = await api.post(f"{ticket_url}/close", data=form(mine), cookies=jar)
    assert closed.status_code == 303
    final = await api.get(f"{ticket_url}?lang=es", cookies=jar)
    assert "Esta solicitud está cerrada." in final.text and "reply-body" not in final.text

    prefs = await api.get("/portal/profile?lang=es", cookies=jar)
    assert "No quiero recibir ofertas ni novedades" in prefs.text and "la ley lo exige" in prefs.text
    saved = await api.post(
        "/portal/profile?lang=en",
        data=form(mine, channel_email="on", marketing_opt_out="on", language="es"),
        cookies=jar,
    )
    assert status_note(saved.text) == "Your preferences are saved."
    assert 'id="marketing-opt-out" name="marketing_opt_out" value="on" checked' in saved.text
    with unit_of_work(database_url) as session:
        chosen = rules_store.preferences_of(session, care.account_id)
        language = session.execute(select(Account.language).where(Account.id == care.account_id)).scalar_one()
    assert (chosen.channels, chosen.marketing_opt_out, language) == (["email"], True, "es")
