"""The built-in templates and triggers an operator gets until it saves its own (``GET
/v1/notification-templates/defaults`` lists them, so an operator can start from them).

Templates are per (event type, language); SMS and push use the short ``sms`` text. English is the fallback
language. Default triggers: an issued invoice by email (legally required: ignores quiet hours, PDF attached),
a failed payment by email, a partner's sign-up link by email and SMS.
"""

from __future__ import annotations

from dataclasses import dataclass

from activities.notifications.templates import Parts


@dataclass(frozen=True)
class DefaultTemplate:
    subject: str
    text: str
    sms: str

    def parts(self, channel: str) -> Parts:
        if channel in ("email", "webhook"):  # an integrator gets the full text
            return Parts(self.subject, self.text)
        return Parts(self.subject, self.sms)


DEFAULT_TEMPLATES: dict[tuple[str, str], DefaultTemplate] = {
    ("invoice.issued", "en"): DefaultTemplate(
        "Your invoice {{ data.number }}",
        "Hello {{ account.display_name }},\n\nYour invoice {{ data.number }} of"
        " {{ money(data.total_minor, data.currency) }} is attached. It is due on {{ data.due_date }}.\n\n"
        "{{ organisation.name }}\n",
        "{{ organisation.name }}: invoice {{ data.number }}, {{ money(data.total_minor, data.currency) }},"
        " due {{ data.due_date }}.",
    ),
    ("invoice.issued", "es"): DefaultTemplate(
        "Su factura {{ data.number }}",
        "Hola {{ account.display_name }}:\n\nAdjuntamos su factura {{ data.number }} por"
        " {{ money(data.total_minor, data.currency) }}. Vence el {{ data.due_date }}.\n\n"
        "{{ organisation.name }}\n",
        "{{ organisation.name }}: factura {{ data.number }}, {{ money(data.total_minor, data.currency) }},"
        " vence el {{ data.due_date }}.",
    ),
    ("payment.failed", "en"): DefaultTemplate(
        "Your payment did not go through",
        "Hello {{ account.display_name }},\n\nYour payment of {{ money(data.amount_minor, data.currency) }}"
        " failed. Please check your payment method.\n",
        "Your payment of {{ money(data.amount_minor, data.currency) }} failed.",
    ),
    ("payment.failed", "es"): DefaultTemplate(
        "Su pago no se ha realizado",
        "Hola {{ account.display_name }}:\n\nSu pago de {{ money(data.amount_minor, data.currency) }}"
        " ha fallado. Revise su medio de pago.\n",
        "Su pago de {{ money(data.amount_minor, data.currency) }} ha fallado.",
    ),
    ("dunning.step", "en"): DefaultTemplate(
        "Invoice {{ data.invoice_number }} is unpaid",
        "Invoice {{ data.invoice_number }} still has {{ money(data.open_minor, data.currency) }} to pay."
        " Please pay it now to keep your services.\n",
        "Invoice {{ data.invoice_number }}: {{ money(data.open_minor, data.currency) }} unpaid.",
    ),
    ("dunning.step", "es"): DefaultTemplate(
        "La factura {{ data.invoice_number }} está pendiente",
        "La factura {{ data.invoice_number }} tiene {{ money(data.open_minor, data.currency) }} pendientes."
        " Páguela ahora para mantener sus servicios.\n",
        "Factura {{ data.invoice_number }}: {{ money(data.open_minor, data.currency) }} pendiente.",
    ),
    ("wallet.low_balance", "en"): DefaultTemplate(
        "Your {{ data.currency }} wallet balance is low",
        "Hello {{ account.display_name }},\n\nYour wallet balance is"
        " {{ money(data.balance_minor, data.currency) }}. Top up to keep your prepaid services running.\n",
        "Your wallet balance is {{ money(data.balance_minor, data.currency) }}. Top up soon.",
    ),
    ("partner.signup_link", "en"): DefaultTemplate(
        "Activate your {{ data.provider }} membership",
        "Hello {{ account.display_name }},\n\nSign up here: {{ data.url }}\n",
        "Activate {{ data.provider }}: {{ data.url }}",
    ),
    ("partner.signup_link", "es"): DefaultTemplate(
        "Active su suscripción a {{ data.provider }}",
        "Hola {{ account.display_name }}:\n\nRegístrese aquí: {{ data.url }}\n",
        "Active {{ data.provider }}: {{ data.url }}",
    ),
    ("ticket.created", "en"): DefaultTemplate(
        "We received your request {{ data.id }}",
        "Hello {{ account.display_name }},\n\nWe have received your request {{ data.id }} and will answer it"
        " soon.\n\n{{ organisation.name }}\n",
        "{{ organisation.name }}: request {{ data.id }} received.",
    ),
    ("ticket.created", "es"): DefaultTemplate(
        "Hemos recibido su solicitud {{ data.id }}",
        "Hola {{ account.display_name }}:\n\nHemos recibido su solicitud {{ data.id }} y le responderemos"
        " pronto.\n\n{{ organisation.name }}\n",
        "{{ organisation.name }}: solicitud {{ data.id }} recibida.",
    ),
    ("ticket.updated", "en"): DefaultTemplate(
        "Your request {{ data.id }} was updated",
        "Hello {{ account.display_name }},\n\nYour request {{ data.id }} has news; it is now"
        " {{ data.status | replace('_', ' ') }}.\n\n{{ organisation.name }}\n",
        "{{ organisation.name }}: request {{ data.id }} is {{ data.status | replace('_', ' ') }}.",
    ),
    ("ticket.updated", "es"): DefaultTemplate(
        "Su solicitud {{ data.id }} tiene novedades",
        "Hola {{ account.display_name }}:\n\nSu solicitud {{ data.id }} tiene novedades; su estado es"
        " {{ data.status | replace('_', ' ') }}.\n\n{{ organisation.name }}\n",
        "{{ organisation.name }}: solicitud {{ data.id }}: {{ data.status | replace('_', ' ') }}.",
    ),
}

GENERIC = DefaultTemplate(
    "{{ organisation.name }}: {{ event.type }}",
    "Hello {{ account.display_name }},\n\n{{ event.type }} ({{ event.id }}).\n",
    "{{ organisation.name }}: {{ event.type }}",
)
"""For an event type without a built-in template (a ticket update): plain but never failing."""


def default_template(event_type: str, language: str) -> DefaultTemplate:
    return (
        DEFAULT_TEMPLATES.get((event_type, language)) or DEFAULT_TEMPLATES.get((event_type, "en")) or GENERIC
    )


@dataclass(frozen=True)
class DefaultTrigger:
    event_pattern: str
    channels: tuple[str, ...]
    ignore_quiet_hours: bool = False
    marketing: bool = False


DEFAULT_TRIGGERS: tuple[DefaultTrigger, ...] = (
    DefaultTrigger("invoice.issued", ("email",), ignore_quiet_hours=True),
    DefaultTrigger("payment.failed", ("email",)),
    DefaultTrigger("partner.signup_link", ("email", "sms")),
)
