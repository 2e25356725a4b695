"""Configuration, read once from the environment (``MULTIBILL_*``, ``DATABASE_URL``, ``TEMPORAL_ADDRESS``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.sepa_vault import INSECURE_DEV_DATA_KEY

INSECURE_DEV_SECRET = "multibill-dev-secret-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """Every knob of a Multibill process. Nothing creates engines or clients at import time."""

    model_config = SettingsConfigDict(env_prefix="MULTIBILL_", extra="ignore")

    environment: str = Field(default="development", description="development | test | production")
    home: Path = Field(default=Path(".multibill"), description="where embedded state is kept")
    simulators: str = Field(
        default="",
        description="`multibill up` starts these peers' simulators (netflix, mobile_money, mvno, sms or all)",
    )
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = "default"
    task_queue: str = "multibill"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str = INSECURE_DEV_SECRET
    data_key: str = Field(
        default=INSECURE_DEV_DATA_KEY, description="seals stored personal data (SEPA IBANs); keep it stable"
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_sender: str = "Multibill <no-reply@multibill.local>"
    notifier: str = "smtp"  # the channel notices go through: smtp or a plug-in's (multibill.notifiers)
    max_body_bytes: int = 1_048_576
    max_bulk_body_bytes: int = Field(
        default=16 * 1_048_576, description="body limit for bulk endpoints (usage batches, CDR uploads)"
    )
    verification_hours: int = 48
    portal_operator: str | None = Field(
        default=None,
        description="the operator (org_…) whose portal answers when no branding host matches the request's"
        " Host; unset: the only operator in the database",
    )
    process_wait_seconds: float = Field(
        default=60.0,
        gt=0,
        description="how long a route waits for the outcome of a short process (collect now, a refund, a card"
        " top-up, a provisioning re-run) before answering 503 process_pending",
    )
    # Provisioning adapters (runtime/provisioning.py); each is registered only when configured.
    radius_enabled: bool = Field(default=False, description="write broadband services to FreeRADIUS SQL")
    radius_database_url: str | None = Field(default=None, description="FreeRADIUS's database; default ours")
    radius_nas_address: str | None = Field(default=None, description="host:port for Disconnect-Messages")
    radius_nas_secret: str = Field(default="", description="the RADIUS secret shared with the NAS")
    radius_timeout_seconds: float = 3.0
    provisioning_password_secret: str | None = Field(
        default=None, description="derives subscriber passwords (RADIUS, SIP); defaults to secret_key"
    )
    ott_base_url: str | None = Field(default=None, description="entitlement API of the CAS/OTT platform")
    ott_api_key: str = ""
    ott_timeout_seconds: float = 5.0
    mvno_base_url: str | None = Field(default=None, description="the host network's MVNO API; enables it")
    mvno_api_key: str = ""
    mvno_timeout_seconds: float = 5.0
    mvno_wait_seconds: float = Field(
        default=5.0, ge=0, description="how long an order waits for the host's outcome before it is retried"
    )
    mvno_callback_secret: str = Field(
        default="", description="verifies the host's signed callbacks; unset: callbacks are refused"
    )
    mvno_callback_url: str | None = Field(
        default=None,
        description="where the host calls back with outcomes; default (with a secret) "
        "<public_url>/v1/provisioning/callbacks/mvno",
    )
    voip_domain: str | None = Field(default=None, description="SIP domain; enables the Kamailio adapter")
    voip_database_url: str | None = Field(default=None, description="Kamailio's database; default ours")
    # Payment gateways (runtime/payments.py): cash always; Stripe when an API key is set.
    stripe_api_key: str | None = Field(default=None, description="sk_…; enables the Stripe gateway")
    stripe_api_base: str | None = Field(default=None, description="another API host (localstripe in tests)")
    stripe_webhook_secret: str | None = Field(default=None, description="whsec_…; verifies Stripe webhooks")
    stripe_publishable_key: str | None = Field(
        default=None, description="pk_…; Stripe.js in the portal pays and saves cards with it"
    )
    stripe_js_url: str = Field(
        default="https://js.stripe.com/v3/", description="where the portal loads Stripe.js"
    )
    stripe_timeout_seconds: float = 20.0
    # Mobile money push payments (integrations/payments/mobile_money): enabled when the base URL is set.
    mobile_money_base_url: str | None = Field(default=None, description="the push-payment API; enables it")
    mobile_money_consumer_key: str = ""
    mobile_money_consumer_secret: str = ""
    mobile_money_callback_secret: str = Field(default="", description="verifies the gateway's callbacks")
    mobile_money_callback_url: str | None = Field(
        default=None,
        description="where the gateway calls back; default <public_url>/v1/webhooks/mobile_money",
    )
    mobile_money_timeout_seconds: float = 10.0
    collection_batch_size: int = Field(default=100, ge=1, description="invoices per collection activity")
    # Monthly partitions (models/partitions.py; the daily PartitionMaintenance workflow).
    partitions_ahead_months: int = Field(
        default=3, ge=1, le=24, description="months of partitions kept ready beyond the current one"
    )
    usage_retention_months: int | None = Field(
        default=None,
        ge=1,
        description="drop raw usage-event months older than this many months once every event in them is"
        " rated or rejected (rated usage, invoices and the ledger are kept); unset: keep everything",
    )
    idempotency_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="days a POST's stored response is kept for a repeat of its Idempotency-Key (the daily"
        " PartitionMaintenance prunes older ones; the same key sent after that is a new request)",
    )
    payments_pause_after_gateway_seconds: float = Field(
        default=0.0, description="TEST ONLY: sleep between a gateway charge and recording it"
    )
    billing_hold_page_file: Path | None = Field(
        default=None,
        description="TEST ONLY (ignored in production): while this file exists, a bill-run page that has"
        " committed waits before completing, so a test can kill the worker there",
    )
    # No personal data in clear in Temporal (runtime/codec.py, api/routes/codec.py).
    payload_keys: str | None = Field(
        default=None,
        description="`<key id>:<base64 32 bytes>,…` sealing Temporal payloads (AES-256-GCM): the first seals,"
        " all open; unset uses a public development key (refused in production)",
    )
    codec_organisations: list[str] = Field(
        default_factory=list,
        description="operator organisations whose admin API keys may call /codec/decode and /codec/encode"
        " (the staff who run Temporal); empty: nobody",
    )
    codec_trust_loopback: bool = Field(
        default=False,
        description="DEVELOPMENT ONLY (ignored otherwise): the codec answers loopback callers without a"
        " key, so the dev server's UI (which sends none) reads payloads; `multibill up` sets it",
    )
    codec_cors_origins: list[str] = Field(
        default_factory=list,
        description="browser origins allowed to call /codec/decode and /codec/encode (the Temporal UI's,"
        ' e.g. ["http://127.0.0.1:8233"])',
    )
    # Observability (runtime/logs.py, runtime/telemetry.py, api/metrics.py; traces: the standard OTEL_* vars).
    log_format: Literal["json", "console"] = Field(
        default="json", description="json: one object a line (default); console: readable (`multibill up`)"
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    worker_metrics_address: str = Field(
        default="", description="host:port where the worker serves Temporal SDK metrics; empty: none"
    )
    metrics_token: str | None = Field(
        default=None, description="when set, GET /metrics needs `Authorization: Bearer <token>`"
    )
    metrics_cache_seconds: float = Field(
        default=15.0, ge=0, description="how long /metrics reuses its database and Temporal figures"
    )
    metrics_timeout_seconds: float = Field(
        default=2.0, gt=0, description="the longest /metrics waits for Temporal or a database query"
    )

    # Production deployment (deploy/README.md): Temporal over TLS, SMTP submission, proxies, shutdown.
    temporal_tls: bool = Field(
        default=False, description="TLS to Temporal; implied by a CA or client certificate or an API key"
    )
    temporal_tls_ca_file: Path | None = Field(default=None, description="PEM CA of Temporal's server cert")
    temporal_tls_cert_file: Path | None = Field(default=None, description="PEM client certificate (mTLS)")
    temporal_tls_key_file: Path | None = Field(default=None, description="PEM client private key (mTLS)")
    temporal_tls_server_name: str | None = Field(default=None, description="server name to verify (SNI)")
    temporal_api_key: str | None = Field(default=None, description="Temporal Cloud API key (implies TLS)")
    smtp_starttls: bool = Field(default=False, description="STARTTLS before sending (port 587)")
    smtp_username: str | None = Field(default=None, description="SMTP login; none: no AUTH")
    smtp_password: str = ""
    smtp_tls_ca_file: Path | None = Field(default=None, description="PEM CA of the SMTP server")
    smtp_timeout_seconds: float = 15.0
    # Notifications' SMS channel (integrations/notify/sms): unset sms_url means no SMS is sent (failed).
    sms_url: str | None = Field(default=None, description="base URL of the HTTP SMS gateway")
    sms_api_key: str = ""
    sms_sender: str = Field(default="Multibill", description="sender id shown on the subscriber's phone")
    sms_callback_secret: str = Field(default="", description="signs the gateway's delivery reports")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="comma-separated IPs or CIDRs (or *) whose X-Forwarded-Proto/Host/For are believed:"
        " the ingress controller's",
    )
    worker_graceful_shutdown_seconds: float = Field(
        default=90.0, ge=0, description="on SIGTERM, how long running activities may take to finish"
    )

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_driver(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else value

    def require_safe_secret(self) -> None:
        """Refuse the development secrets in production."""
        if self.environment == "production" and self.secret_key == INSECURE_DEV_SECRET:
            raise RuntimeError(
                "MULTIBILL_SECRET_KEY is the development default; set a long random value for production"
            )
        if self.environment == "production" and self.data_key == INSECURE_DEV_DATA_KEY:
            raise RuntimeError(
                "MULTIBILL_DATA_KEY is the development default; set a long random value for production"
            )
        from runtime.codec import require_production_payload_keys

        require_production_payload_keys(self)


def normalise_database_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and pin the psycopg2 driver SQLAlchemy uses."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
