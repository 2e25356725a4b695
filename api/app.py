"""The FastAPI application: thin routes over workflows, activities and the database."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from temporalio.client import Client

from api.deps import ApiKeyCache, TemporalGateway
from api.docs import PROBLEM_RESPONSES, install_docs, operation_id
from api.errors import install_error_handlers
from api.forwarded import ForwardedHeaders
from api.metrics import install_metrics
from api.middleware import RequestContext, RequestGuard
from api.routes import (
    accounts,
    billing_runs,
    branding,
    care_setup,
    catalog,
    codec,
    credit_notes,
    devices,
    dunning,
    events,
    gateway_webhooks,
    health,
    invoices,
    loyalty,
    me,
    me_billing,
    me_care,
    me_rewards,
    me_sessions,
    notifications,
    oauth,
    offers,
    organisations,
    partner_charges,
    partners,
    payments,
    processes,
    provisioning,
    quotes,
    segments,
    sepa,
    statements,
    subscriber_auth,
    subscriptions,
    tickets,
    usage,
    verification,
    vouchers,
    wallets,
    webhooks,
)
from portal import auth_pages, billing_pages, care_pages, dashboard_pages, pwa, subscription_pages
from portal import routes as portal_routes
from portal.shell import install_portal_handlers
from runtime import telemetry
from runtime.payments import build_gateways
from runtime.plugins import disabled_plugins
from runtime.settings import Settings

DESCRIPTION = """
Multibill bills, collects and provisions video, broadband and telephony subscriptions.

* Authenticate with `Authorization: Bearer <API key>`; a key sees its organisation's subtree only.
* Every POST needs an `Idempotency-Key` header: the same key and body replay the first response,
  the same key with another body is answered 409 `idempotency_key_reused`.
* Errors are RFC 9457 `application/problem+json` with a stable `code`.
* Lists are paginated with `cursor` and `limit`; ids are prefixed (`acc_…`, `org_…`).
"""


class MultibillAPI(FastAPI):
    """FastAPI with RequestContext outside Starlette's ServerErrorMiddleware (see api.middleware), and
    outside what instrumentation wraps the stack in (OpenTelemetry's middleware)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        if self.middleware_stack is None:
            self.middleware_stack = RequestContext(self.build_middleware_stack())
        await self.middleware_stack(scope, receive, send)


def create_app(settings: Settings, *, temporal_client: Client | None = None) -> FastAPI:
    """Build the API. Tests may inject a connected ``temporal_client``; otherwise it connects lazily."""
    settings.require_safe_secret()
    app = MultibillAPI(
        title="Multibill API",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # served by api.docs from the package, not a CDN
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.temporal = TemporalGateway(settings, temporal_client)
    app.state.api_keys = ApiKeyCache()  # verified keys, trusted for API_KEY_CACHE_SECONDS (api.deps)
    # Plug-ins load at start-up: a gateway name claimed twice stops the API here; a broken one is reported.
    app.state.payment_gateways = build_gateways(settings)
    app.state.disabled_plugins = disabled_plugins(settings, app.state.payment_gateways)
    install_error_handlers(app)
    app.add_middleware(
        RequestGuard,
        max_bytes=settings.max_body_bytes,
        bulk_prefixes=("/v1/usage", "/codec/"),  # a history's payloads (2 MB each at most) in one batch
        bulk_max_bytes=settings.max_bulk_body_bytes,
    )
    app.add_middleware(codec.CodecCors, origins=settings.codec_cors_origins)
    install_metrics(app, settings)  # GET /metrics; its middleware counts requests outside RequestGuard
    telemetry.instrument_api(app)  # traces, when OTEL_* turned them on (runtime.telemetry)
    app.add_middleware(ForwardedHeaders, trusted=settings.forwarded_allow_ips)  # outermost: behind an ingress
    app.include_router(health.router)
    app.include_router(codec.router)  # the Temporal UI's codec endpoint (not in the public schema)
    for module in (
        organisations,
        accounts,
        catalog,
        quotes,
        subscriptions,
        processes,
        verification,
        devices,
        usage,
        provisioning,
        billing_runs,
        dunning,
        invoices,
        credit_notes,
        statements,
        payments,
        wallets,
        vouchers,
        sepa,
        webhooks,
        partners,
        notifications,
        gateway_webhooks,  # after payments: /v1/webhooks/stripe is matched first
        events,
        partner_charges,
        care_setup,
        tickets,
        segments,
        offers,
        loyalty,
        me,
        me_sessions,
        subscriber_auth,
        oauth,  # subscriber identity (#18)
        me_billing,
        me_rewards,
        me_care,
        branding,
    ):
        app.include_router(module.router, responses=PROBLEM_RESPONSES)
    app.include_router(portal_routes.router)
    app.include_router(auth_pages.router)
    app.include_router(subscription_pages.router)
    app.include_router(billing_pages.router)
    app.include_router(care_pages.router)
    app.include_router(dashboard_pages.router)
    app.include_router(pwa.router)
    install_portal_handlers(app)
    app.mount(
        "/portal/static", StaticFiles(directory=str(portal_routes.HERE / "static")), name="portal-static"
    )
    install_docs(app)
    return app
