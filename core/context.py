"""The current request's ID, readable from any layer without passing it around.

Set by the request-ID middleware (and by commands, which mint their own), read by
the log filter and by the audit trail. A ContextVar keeps threads apart.
"""

from __future__ import annotations

import contextvars
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def get_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None = None) -> contextvars.Token[str]:
    """Binds a request ID (a new one when ``value`` is empty) and returns the reset token."""
    return _request_id.set(value or uuid.uuid4().hex)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)
