"""The current request's ID (and operation input), readable from any layer without passing them around.

Set by the request-ID middleware (and by commands, which mint their own), read by
the log filter and by the audit trail. A ContextVar keeps threads apart.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from typing import Any

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def get_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str | None = None) -> contextvars.Token[str]:
    """Binds a request ID (a new one when ``value`` is empty) and returns the reset token."""
    return _request_id.set(value or uuid.uuid4().hex)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


# The input of the API operation being served, as plain JSON values: the audit trail keeps it in every event
# the operation writes (records.md: an event's detail is "the operation's input and result"). Bound by the
# mutation base (``core.graphql.mutations``), the one door every mutation passes; None outside one.
_operation_input: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "operation_input", default=None
)


def get_operation_input() -> dict[str, Any] | None:
    return _operation_input.get()


@contextlib.contextmanager
def operation_input(value: dict[str, Any]) -> Iterator[None]:
    """Binds ``value`` as the current operation's input while the block runs."""
    token = _operation_input.set(value)
    try:
        yield
    finally:
        _operation_input.reset(token)
