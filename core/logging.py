"""Log records that carry the request ID: JSON lines in production, plain text in development.

One line per event, with the request ID on every line, so that an operator can
follow one request from gunicorn's access line through the app's own lines to
its audit events. Fields passed with ``extra=`` (the money services log
``transaction_id``, ``type`` and ``outcome``) become fields of their own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.context import get_request_id

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "taskName"}

# gunicorn's access atoms worth a field of their own (gunicorn.glogging.Logger.atoms).
_ACCESS_ATOMS = {
    "m": "method",
    "U": "path",
    "q": "query",
    "s": "status",
    "B": "bytes",
    "h": "remote_addr",
    "a": "user_agent",
}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached with ``extra=``, in the order given."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")}


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Structured fields of a gunicorn access line (its args are the atoms mapping)."""
    atoms = record.args
    if record.name != "gunicorn.access" or not isinstance(atoms, Mapping):
        return {}
    fields: dict[str, Any] = {name: atoms.get(atom) for atom, name in _ACCESS_ATOMS.items()}
    if str(fields["status"]).isdigit():
        fields["status"] = int(fields["status"])
    duration_us = atoms.get("D")
    if isinstance(duration_us, int):
        fields["duration_ms"] = round(duration_us / 1000, 3)
    # The middleware's request ID left with the response; the context var is gone by now.
    request_id = atoms.get("{x-request-id}o")
    if request_id and request_id != "-":
        fields["request_id"] = request_id
    return fields


class RequestIdFilter(logging.Filter):
    """Stamps the current request's ID (or "-" outside a request) on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log collectors index without parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or get_request_id(),
            "message": record.getMessage(),
        }
        line.update(_access_fields(record))
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Development lines for a human: the usual prefix, then the extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = get_request_id()
        text = super().formatMessage(record)
        extras = extra_fields(record)
        if extras:
            text += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return text
