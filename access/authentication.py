"""Who is calling the API: a bearer API key, or a logged-in Django session (then CSRF applies).

An ``Authorization`` header, whatever it holds, means key authentication:
a wrong key is refused even when a session cookie rides along, so a client
never silently acts as someone else. A key costs one SQL statement (the key
with its user, joined); nothing is cached, so a revocation takes effect on
the key's next request. Without the header, Django's session (read by
``AuthenticationMiddleware``) is used, and a request that can write must pass
Django's CSRF check, exactly as an admin form would: the endpoint itself is
``csrf_exempt`` only so that key requests need no token.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from access.selectors import api_key_for_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class NotAuthenticated(Exception):
    """No usable credentials: the request must not run (HTTP 401)."""


class CsrfFailed(Exception):
    """A session request that can write came without a valid CSRF token (HTTP 403)."""


def authenticate(request: HttpRequest) -> None:
    """Sets ``request.user`` and ``request.api_key`` (None for a session), or raises."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        key = api_key_for_token(token=token.strip()) if scheme.lower() == "bearer" else None
        if key is None:
            raise NotAuthenticated("Unknown or revoked API key: send `Authorization: Bearer <api key>`.")
        request.user = key.user
        request.api_key = key  # type: ignore[attr-defined]
        return
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated("Authentication required: send `Authorization: Bearer <api key>`.")
    request.api_key = None  # type: ignore[attr-defined]
    if request.method not in SAFE_METHODS and _csrf_refusal(request) is not None:
        raise CsrfFailed("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.")


def _csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Django's own CSRF check (token, Origin and Referer), as its middleware runs it for a view that is not exempt."""

    def unused(_request: HttpRequest) -> HttpResponse:  # the middleware's next layer is never called here
        raise AssertionError

    check: Any = CsrfViewMiddleware(unused)
    return check.process_view(request, _protected_view, (), {})


def _protected_view(request: HttpRequest) -> HttpResponse:  # a stand-in callback without ``csrf_exempt``
    raise AssertionError
