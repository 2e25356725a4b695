"""The pure rules of notifications: trigger matching, quiet hours in the subscriber's zone, SMS segments,
suppression, message keys; and the sandboxed templates (line and reason of what does not render)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from activities.notifications.templates import Parts, check, render_one, sample_context
from domain import notifications as rules
from domain.notifications import TemplateRejected


def test_trigger_matches_exact_family_and_everything() -> None:
    assert rules.trigger_matches("invoice.issued", "invoice.issued")
    assert not rules.trigger_matches("invoice.issued", "invoice.voided")
    assert rules.trigger_matches("ticket.*", "ticket.updated")
    assert not rules.trigger_matches("ticket.*", "tickets.updated")
    assert rules.trigger_matches("*", "partner.signup_link")
    assert rules.best_trigger(["*", "ticket.*", "ticket.resolved"], "ticket.resolved") == "ticket.resolved"
    assert rules.best_trigger(["*", "ticket.*"], "ticket.opened") == "ticket.*"
    assert rules.best_trigger(["invoice.issued"], "payment.failed") is None


@pytest.mark.parametrize("bad", ["", "Invoice.Issued", ".x", "a b", "x" * 65])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        rules.check_pattern(bad)


def test_quiet_hours_defer_to_the_local_end_in_the_subscribers_zone() -> None:
    # 23:30 in Madrid (CET, UTC+1) on 2026-11-30 is 22:30 UTC: quiet 22:00-08:00 ends 08:00 local = 07:00 UTC
    at = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    assert rules.defer_until(at, "Europe/Madrid", time(22), time(8)) == datetime(2026, 12, 1, 7, tzinfo=UTC)
    # 06:00 local the next morning: same day's 08:00
    early = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert rules.defer_until(early, "Europe/Madrid", time(22), time(8)) == datetime(
        2026, 12, 1, 7, tzinfo=UTC
    )
    # noon: goes now; no quiet hours: goes now
    assert (
        rules.defer_until(datetime(2026, 12, 1, 11, tzinfo=UTC), "Europe/Madrid", time(22), time(8)) is None
    )
    assert rules.defer_until(at, "Europe/Madrid", None, None) is None
    # the same UTC instant is not quiet in Mexico City (16:30 local)
    assert rules.defer_until(at, "America/Mexico_City", time(22), time(8)) is None


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    # Night of 2026-03-28/29 in Madrid: clocks go from CET to CEST at 02:00; 08:00 local is 06:00 UTC
    at = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 00:00 local
    assert rules.defer_until(at, "Europe/Madrid", time(22), time(8)) == datetime(2026, 3, 29, 6, tzinfo=UTC)


def test_quiet_hours_within_a_day() -> None:
    assert rules.in_quiet_hours(time(13), time(12), time(14))
    assert not rules.in_quiet_hours(time(14), time(12), time(14))
    assert not rules.in_quiet_hours(time(3), time(5), time(5))


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # an extension character takes two septets: 160
        ("€" * 81, "gsm7", 2),
        ("a" * 152 + "€", "gsm7", 1),  # 154 septets fit in one
        ("a" * 152 + "€" + "a" * 8, "gsm7", 2),  # 162 septets: the € is not split (153 | 9)
        ("ñ" * 160, "gsm7", 1),  # ñ is in the basic GSM-7 table
        ("á" * 70, "ucs2", 1),  # á is not
        ("á" * 71, "ucs2", 2),
        ("á" * 134, "ucs2", 2),
        ("á" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "ucs2", 2),
    ],
)
def test_sms_segments(text: str, encoding: str, segments: int) -> None:
    assert rules.sms_encoding(text) == encoding
    assert rules.sms_segments(text) == segments


def test_suppression_reasons() -> None:
    kw = {"marketing": True, "marketing_opt_out": True, "recipient": "+34600000000"}
    assert (
        rules.suppression("sms", event_type="offer.x", chosen_channels=["email"], **kw) == "channel_opted_out"
    )
    assert rules.suppression("sms", event_type="offer.x", chosen_channels=None, **kw) == "marketing_opt_out"
    # legally required: never a marketing opt-out
    assert rules.suppression("sms", event_type="invoice.issued", chosen_channels=None, **kw) is None
    assert rules.suppression("sms", event_type="dunning.step", chosen_channels=None, **kw) is None
    # but a channel the subscriber refused is never used
    assert rules.suppression("sms", event_type="invoice.issued", chosen_channels=["email"], **kw) == (
        "channel_opted_out"
    )
    assert (
        rules.suppression(
            "sms",
            event_type="x.y",
            marketing=False,
            chosen_channels=None,
            marketing_opt_out=False,
            recipient=None,
        )
        == "no_recipient"
    )


def test_message_key_is_stable_and_distinct() -> None:
    a = rules.message_key("evt_1", "ntr_1", "email", "Ana@Example.com")
    assert a == rules.message_key("evt_1", "ntr_1", "email", "ana@example.com ")
    assert a != rules.message_key("evt_1", "ntr_1", "sms", "ana@example.com")
    assert len(a) == 40


def test_retry_delay_grows_and_is_capped() -> None:
    assert [rules.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert rules.retry_delay(30).total_seconds() == 6 * 3600


def test_a_template_renders_with_the_sample_data() -> None:
    out = check(
        Parts("Factura {{ data.number }}", "Total: {{ money(data.total_minor, data.currency) }}"),
        "invoice.issued",
        language="es",
    )
    assert out.subject == "Factura INV-2026-000123"
    assert out.text == "Total: 24,20 €"


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateRejected) as caught:
        check(Parts("ok", "line one\nline two {{ data.number \nline three"), "invoice.issued")
    assert caught.value.field == "body_text"
    assert caught.value.line in (2, 3)
    assert "syntax error" in caught.value.reason


def test_unknown_variable_names_the_line() -> None:
    with pytest.raises(TemplateRejected) as caught:
        check(Parts("ok", "Hello\n{{ account.display_name }}\n{{ data.nonexistent }}"), "invoice.issued")
    assert (caught.value.field, caught.value.line) == ("body_text", 3)
    assert "unknown variable" in caught.value.reason and "nonexistent" in caught.value.reason


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ money.__globals__ }}",
        "{{ data.__class__.__init__.__globals__['os'] }}",
        "{{ 'x' * 1000000000 }}",
        "{{ 2 ** 1000000 }}",
        "{% for i in range(10**9) %}{% endfor %}",
    ],
)
def test_reaching_python_internals_is_refused(escape: str) -> None:
    with pytest.raises(TemplateRejected) as caught:
        check(Parts("ok", "fine\n" + escape), "invoice.issued")
    assert caught.value.line == 2
    assert "not allowed" in caught.value.reason or "unknown variable" in caught.value.reason


def test_html_is_escaped_text_is_not() -> None:
    context = sample_context("invoice.issued", {"number": "<b>1</b>"})
    assert render_one("body_html", "{{ data.number }}", context, html=True) == "&lt;b&gt;1&lt;/b&gt;"
    assert render_one("body_text", "{{ data.number }}", context) == "<b>1</b>"


def test_extra_sample_data_checks_another_areas_event() -> None:
    with pytest.raises(TemplateRejected):
        check(Parts("Ticket {{ data.number }}", "x"), "ticket.updated")
    out = check(Parts("Ticket {{ data.number }}", "x"), "ticket.updated", {"number": "T-1"})
    assert out.subject == "Ticket T-1"


def test_every_built_in_template_renders_with_its_sample_data() -> None:
    from activities.notifications.defaults import DEFAULT_TEMPLATES

    for (event_type, language), template in DEFAULT_TEMPLATES.items():
        for channel in ("email", "sms"):
            out = check(template.parts(channel), event_type, language=language)
            assert out.subject and out.text, (event_type, language, channel)


@pytest.mark.parametrize(
    ("event_type", "data", "told"),
    [
        ("ticket.created", {}, True),
        ("ticket.updated", {"change": "status"}, True),
        ("ticket.updated", {"change": "comment", "public": True}, True),
        ("ticket.updated", {"change": "comment", "public": False}, False),
        ("ticket.updated", {"change": "assignment"}, False),
        ("ticket.sla_warning", {}, False),
        ("ticket.breached", {}, False),
        ("ticket.escalated", {"supervisor": "lead@example.com"}, False),
        ("invoice.issued", {}, True),
    ],
)
def test_a_tickets_internal_life_is_never_the_subscribers(
    event_type: str, data: dict[str, object], told: bool
) -> None:
    assert rules.for_subscriber(event_type, data) is told
