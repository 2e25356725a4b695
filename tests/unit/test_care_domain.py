"""Customer care's pure rules: ticket moves, escalation policies and milestones, attachment checks."""

from __future__ import annotations

import pytest

from domain import care
from domain.care import EscalationLevel, EscalationPolicy, Target


def test_the_state_machine_allows_the_documented_moves_only() -> None:
    assert care.check_transition("new", "open") == care.TicketStatus.OPEN
    assert care.check_transition("waiting_on_customer", "open") == care.TicketStatus.OPEN
    assert care.check_transition("resolved", "open") == care.TicketStatus.OPEN
    assert care.is_reopen("resolved", "open") and not care.is_reopen("waiting_on_customer", "open")
    for current, target in (("new", "closed"), ("open", "new"), ("closed", "open"), ("open", "bogus")):
        with pytest.raises(care.TransitionRefused):
            care.check_transition(current, target)


def test_an_escalation_never_lowers_the_priority() -> None:
    assert care.raised("normal", "urgent") == "urgent"
    assert care.raised("urgent", "high") == "urgent"
    assert care.raised("low", None) == "low"


def test_milestones_of_a_policy() -> None:
    policy = EscalationPolicy(
        warn_percent=75,
        levels=[EscalationLevel(at_percent=100, priority="high"), EscalationLevel(at_percent=200)],
    )
    keys = [m.key for m in care.milestones(policy, first_response=True)]
    assert keys == [
        "first_response:warning:0",
        "first_response:breach:0",
        "resolution:warning:0",
        "resolution:breach:0",
        "resolution:escalation:1",
        "resolution:escalation:2",
    ]
    assert [m.target for m in care.milestones(policy, first_response=False)][:2] == [Target.RESOLUTION] * 2
    assert care.budget_at(3600, 75) == 2700 and care.budget_at(61, 80) == 48


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        care.check_policy(
            EscalationPolicy(levels=[EscalationLevel(at_percent=150), EscalationLevel(at_percent=100)])
        )
    with pytest.raises(ValueError):
        care.check_policy(EscalationPolicy(levels=[EscalationLevel(at_percent=100, priority="critical")]))


def test_attachments_are_checked_for_type_then_size() -> None:
    assert care.check_attachment("image/PNG; charset=binary", 10) == "image/png"
    with pytest.raises(care.AttachmentRefused) as refused:
        care.check_attachment("application/x-msdownload", 10)
    assert (refused.value.status, refused.value.code) == (415, "attachment_type_refused")
    with pytest.raises(care.AttachmentRefused) as big:
        care.check_attachment("application/pdf", care.MAX_ATTACHMENT_BYTES + 1)
    assert (big.value.status, big.value.code) == (413, "attachment_too_large")
    with pytest.raises(care.AttachmentRefused) as empty:
        care.check_attachment("text/plain", 0)
    assert empty.value.status == 422


@pytest.mark.parametrize(
    ("media", "content"),
    [
        ("application/pdf", b"%PDF-1.7\n..."),
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ("image/gif", b"GIF89a\x01\x00"),
        ("image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 "),
        ("text/plain", "Señal perdida desde el lunes".encode()),
        ("text/csv", b"date,minutes\n2026-11-02,14\n"),
    ],
)
def test_content_of_the_declared_type_is_accepted(media: str, content: bytes) -> None:
    care.check_content(media, content)


@pytest.mark.parametrize(
    ("media", "content"),
    [
        ("image/png", b"MZ\x90\x00\x03"),  # a Windows program sent as a picture
        ("application/pdf", b"<html><script>"),
        ("image/webp", b"RIFF\x24\x00\x00\x00AVI "),
        ("text/plain", b"MZ\x90\x00\x03\x00"),  # NUL bytes: not text
        ("text/csv", b"\xff\xfe\x00a"),  # not UTF-8
    ],
)
def test_content_that_is_not_the_declared_type_is_refused(media: str, content: bytes) -> None:
    with pytest.raises(care.AttachmentRefused) as refused:
        care.check_content(media, content)
    assert (refused.value.status, refused.value.code) == (415, "attachment_content_mismatch")
