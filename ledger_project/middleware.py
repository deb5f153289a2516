"""Every request gets an ID: on each log line, in the audit trail, and in the X-Request-ID header."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from contextlib import suppress
from contextvars import Token
from typing import Any

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from core.context import reset_request_id, set_request_id

# A caller's ID is kept when it is plainly an ID (a UUID, a trace ID): nothing that could forge a log line.
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_bound = threading.local()


class RequestIdMiddleware:
    """Binds the request ID for the whole request, and answers it in the ``X-Request-ID`` header.

    It stays bound until the response is closed (``request_finished``), not just
    until this middleware returns: Django logs "Bad Request: /graphql" and its
    kin after the middleware chain, and those lines need the ID most.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        token = set_request_id(incoming if SANE_ID.fullmatch(incoming) else None)
        tokens: list[Token[str]] = getattr(_bound, "tokens", [])
        _bound.tokens = [*tokens, token]
        response = self.get_response(request)
        response["X-Request-ID"] = token.var.get()
        return response


@receiver(request_finished)
def unbind_request_id(**kwargs: Any) -> None:
    tokens: list[Token[str]] = getattr(_bound, "tokens", [])
    if tokens:
        token = tokens.pop()
        with suppress(ValueError):  # closed from another context than it was bound in: nothing to undo there
            reset_request_id(token)
