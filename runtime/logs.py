"""Logs of the API and the worker: one JSON object a line (for log collectors), or readable lines.

``MULTIBILL_LOG_FORMAT`` chooses: ``json`` (the default: containers, CI, anything a machine reads) or
``console`` (coloured, aligned lines; ``multibill up`` sets it for the API and worker it starts, so
``make run``'s logs read well). ``MULTIBILL_LOG_LEVEL`` sets the level (INFO).

Every record, from our loggers, the libraries' and Temporal's, goes through structlog's formatter on the
standard library's root logger, and carries what is known where it was logged:

* ``request_id`` and ``organisation_id``: bound per request (``open_request`` by the API's RequestContext,
  ``bind`` once the API key is known), in a context variable, so a route's threads carry them too;
* ``workflow_id`` (and ``run_id``, ``activity_type`` / ``workflow_type``): inside an activity, from its
  info; inside a workflow, from ``temporalio.workflow.logger``'s details (that logger is silent on replay);
* ``trace_id`` and ``span_id`` of the current OpenTelemetry span, when tracing is on.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TextIO

import structlog
from temporalio import activity, workflow

from runtime.settings import Settings

_context: ContextVar[dict[str, Any] | None] = ContextVar("multibill_log_context", default=None)

_TEMPORAL_KEYS = ("workflow_id", "run_id", "workflow_type", "activity_type", "activity_id", "attempt")
_HANDLER_NAME = "multibill"


def open_request(request_id: str) -> Token[dict[str, Any] | None]:
    """A fresh log context for one request (``close_request`` with the token ends it); ``bind`` adds to
    it from anywhere the request runs (threads of sync routes and dependencies copy the context
    variable, and share this one dict)."""
    return _context.set({"request_id": request_id})


def close_request(token: Token[dict[str, Any] | None]) -> None:
    _context.reset(token)


@contextmanager
def bind_request(request_id: str) -> Iterator[dict[str, Any]]:
    """``open_request`` … ``close_request`` as a context manager."""
    token = open_request(request_id)
    try:
        yield bound()
    finally:
        close_request(token)


def bind(**fields: Any) -> None:
    """Add fields to the current request's log context (nothing outside a request)."""
    current = _context.get()
    if current is not None:
        current.update(fields)


def bound() -> dict[str, Any]:
    """What the current log context holds (a copy)."""
    return dict(_context.get() or {})


def _add_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in (_context.get() or {}).items():
        event.setdefault(key, value)
    return event


def _add_temporal(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The workflow (and activity) a record was logged in: Temporal's logger adapters put their details in
    ``extra``; a plain logger inside an activity gets them from the activity's info."""
    details = event.pop("temporal_workflow", None) or event.pop("temporal_activity", None)
    event.pop("temporal_activity", None)
    if details is None and activity.in_activity():
        info = activity.info()
        details = {
            "workflow_id": info.workflow_id,
            "run_id": info.workflow_run_id,
            "workflow_type": info.workflow_type,
            "activity_type": info.activity_type,
            "attempt": info.attempt,
        }
    if isinstance(details, dict):
        if "workflow_run_id" in details:
            details = {**details, "run_id": details["workflow_run_id"]}
        for key in _TEMPORAL_KEYS:
            if details.get(key) is not None:
                event.setdefault(key, details[key])
    return event


def _add_trace(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - a dependency, but logging must never fail
        return event
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def _drop_noise(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's coloured copy of the message
    return event


def _pre_chain() -> list[Any]:
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_noise,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        _add_temporal,
        _add_trace,
    ]


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of every record: JSON objects or readable lines."""
    if log_format == "json":
        renderer: Any = structlog.processors.JSONRenderer()
        last = [structlog.processors.format_exc_info, renderer]
    elif log_format == "console":
        # Plain tracebacks: rich's would print every frame's locals (URLs with passwords among them).
        console = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        last = [console]
    else:
        raise RuntimeError(f"MULTIBILL_LOG_FORMAT={log_format!r}: use json or console")
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *last],
    )


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) in the chosen format; idempotent (replaces its handler).

    structlog's own loggers (``structlog.get_logger()``) go through the same handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(settings.log_format))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_pre_chain(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # In JSON the workflow's and activity's details are fields: not repeated in the message too.
    details_in_message = settings.log_format != "json"
    workflow.logger.workflow_info_on_message = details_in_message
    activity.logger.activity_info_on_message = details_in_message
    return handler
