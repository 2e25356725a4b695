"""Metrics and traces of the worker and the API: the Temporal runtime that serves the SDK's metrics, and
OpenTelemetry tracing (FastAPI, Temporal, SQLAlchemy) with the OTLP exporter.

**Worker metrics.** With ``MULTIBILL_WORKER_METRICS_ADDRESS=host:port`` the worker's Temporal runtime
serves the SDK's own metrics (workflow and activity task latencies, slots, polls, sticky cache...) at
``http://host:port/metrics`` for Prometheus, named the Prometheus way (``temporal_`` prefix, ``_total``
counters, durations in ``_seconds``). Empty (the default): no metrics server.

**Traces** are off unless one of the standard variables asks for them: ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console``;
``none`` turns them off, as does ``OTEL_SDK_DISABLED=true``). The exporter then reads the other
``OTEL_*`` variables itself (headers, timeout, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``...).
When on, one trace runs from the HTTP request (FastAPI's instrumentation) through the Temporal client's
StartWorkflow into RunWorkflow, StartActivity and RunActivity on the worker (``TracingInterceptor``), and
the SQL statements of each step (SQLAlchemy's instrumentation).

``configure_tracing`` is called once by ``multibill api`` and ``multibill worker`` before anything
imports ``models`` (the SQLAlchemy instrumentation wraps ``create_engine``); tests hand it a provider of
their own (an in-memory exporter) and instrument the engine they use with ``instrument_engine``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from temporalio.client import Interceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from runtime.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy import Engine

logger = logging.getLogger("multibill.telemetry")

_EXPORTERS = ("otlp", "console")
_provider: TracerProvider | None = None
"""The tracer provider of this process, once tracing is configured (None: tracing is off)."""

# The SQLAlchemy instrumentation declares SQLAlchemy < 2.1 and refuses 2.1 unless told; the engine events it
# listens to are unchanged in 2.1 (tests/integration/test_tracing.py proves its spans).
SKIP_DEP_CHECK = True

# Requests that are not worth a trace: scrapes and probes, every few seconds.
UNTRACED_URLS = "/metrics,/healthz"


def worker_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving the SDK's metrics for Prometheus, or None when the setting is empty."""
    address = settings.worker_metrics_address.strip()
    if not address:
        return None
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RuntimeError(
            f"MULTIBILL_WORKER_METRICS_ADDRESS={address!r} is not host:port (e.g. 0.0.0.0:9464); "
            "leave it empty to serve no worker metrics"
        )
    metrics = PrometheusConfig(
        bind_address=address, counters_total_suffix=True, unit_suffix=True, durations_as_seconds=True
    )
    return Runtime(telemetry=TelemetryConfig(metrics=metrics))  # labelled service_name="temporal-core-sdk"


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard OTEL_* variables ask for traces (off by default)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return bool(exporter or endpoint)


def _exporter(environ: Mapping[str, str]) -> Any:
    names = [n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    unknown = [n for n in names if n not in _EXPORTERS]
    if unknown or len(names) != 1:
        raise RuntimeError(
            f"OTEL_TRACES_EXPORTER={environ.get('OTEL_TRACES_EXPORTER')!r}: Multibill exports traces "
            f"with one of {', '.join(_EXPORTERS)} (or none)"
        )
    if names[0] == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout... from OTEL_EXPORTER_OTLP_*


def configure_tracing(
    service_name: str, *, provider: TracerProvider | None = None, environ: Mapping[str, str] = os.environ
) -> TracerProvider | None:
    """Turn tracing on for this process when OTEL_* asks for it (or a provider is given); None when off.

    Without ``provider``: a provider exporting in batches to OTLP (or the console), made the global one
    so libraries that trace on their own join the same traces, and SQLAlchemy's ``create_engine``
    instrumented (call this before ``models`` is imported; the engines made earlier are not traced).
    """
    global _provider
    if provider is None:
        if not tracing_requested(environ):
            return None
        from opentelemetry import trace
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({SERVICE_NAME: environ.get("OTEL_SERVICE_NAME") or service_name})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(_exporter(environ)))
        trace.set_tracer_provider(provider)
        if "models.base" in sys.modules:
            logger.warning(
                "tracing was configured after models were imported: SQL statements may go untraced"
            )
        SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=SKIP_DEP_CHECK)
    _provider = provider
    return provider


def tracer_provider() -> TracerProvider | None:
    """The provider ``configure_tracing`` set up, or None when this process does not trace."""
    return _provider


def reset_tracing() -> None:
    """Forget the configured provider (tests that configured one of their own)."""
    global _provider
    _provider = None


def client_interceptors() -> list[Interceptor]:
    """The Temporal client's interceptors: tracing when it is on. A worker built on the client uses them."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(_provider.get_tracer("multibill.temporal"))]


def instrument_api(app: FastAPI) -> None:
    """FastAPI's instrumentation on ``app`` (one server span per request, named by its route template),
    when tracing is on; /metrics and /healthz are not traced."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=UNTRACED_URLS,
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message too
    )


def instrument_engine(engine: Engine) -> Any:
    """Trace one existing engine's statements (tests: an engine made before tracing was configured).

    Returns the instrumentation's engine tracer; ``uninstrument_engines`` removes what it added."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    if _provider is None:
        raise RuntimeError("configure_tracing first: there is no tracer provider to trace the engine with")
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    return instrumentor.instrument(engine=engine, tracer_provider=_provider, skip_dep_check=SKIP_DEP_CHECK)


def uninstrument_engines() -> None:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().uninstrument()
