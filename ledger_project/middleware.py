"""Every request gets an ID (on each log line, in the audit trail, in the X-Request-ID header); bearer API
requests skip the middleware that serves sessions."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from contextlib import suppress
from contextvars import Token
from typing import Any

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

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


# --- the lean path of a bearer request (issue 16) ---------------------------------------------------

# The endpoint's paths (ledger_project/urls.py): only there does a key stand for the caller.
API_PATHS = frozenset({"/graphql", "/graphql/"})


def bearer_api_request(request: HttpRequest) -> bool:
    """A request to the API carrying an ``Authorization`` header: authenticated by its key alone.

    ``access.authentication`` never reads the session of such a request (a
    wrong key is refused even with a session cookie), so what the session,
    CSRF, auth and messages middleware prepare for it is unused: they step
    aside (django-axes' costs one ``getattr`` and stays). Anywhere else (the admin) they run as always.
    """
    return "HTTP_AUTHORIZATION" in request.META and request.path_info in API_PATHS


class _SkippedForBearer(MiddlewareMixin):
    """Passes a bearer API request straight on; any other request gets the parent middleware."""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if bearer_api_request(request):
            return self.get_response(request)  # type: ignore[return-value]
        return super().__call__(request)  # type: ignore[return-value]


class SessionMiddleware(_SkippedForBearer, sessions.SessionMiddleware):
    """Django's, skipped for bearer API requests."""


class AuthenticationMiddleware(_SkippedForBearer, auth.AuthenticationMiddleware):
    """Django's, skipped for bearer API requests: the key sets ``request.user``."""


class MessageMiddleware(_SkippedForBearer, messages.MessageMiddleware):
    """Django's, skipped for bearer API requests."""
