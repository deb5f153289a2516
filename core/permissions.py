"""One question every entry point asks: may this request do that?

Authentication (``access``) puts ``request.user`` and, for API keys,
``request.api_key`` on the request. A read-only key can only read, whatever
its user's permissions say.
"""

from __future__ import annotations

from typing import Any


def has_permission(request: Any, perm: str) -> bool:
    """``perm`` is a Django permission ("transactions.add_transaction")."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    api_key = getattr(request, "api_key", None)
    if api_key is not None and api_key.read_only and not perm.partition(".")[2].startswith("view_"):
        return False
    return bool(user.has_perm(perm))


def actor_may(actor: Any, perm: str) -> bool:
    """The services' question, asked whatever door the call came through (API, admin, command).

    ``actor`` is what every entry point passes to a service: the request's
    user, or ``None`` / a ``"system:..."`` label. Actor-less calls come from
    operator commands, workers, seeding and tests, which run with shell access
    to the settings and the database and are trusted as such; nothing a client
    sends can make one. A user needs the permission itself (an inactive or
    anonymous user has none). A read-only API key never gets this far: every
    mutation's own permission is a write permission, which ``has_permission``
    refuses to such a key before any service runs.
    """
    if actor is None or isinstance(actor, str):
        return True
    return bool(getattr(actor, "is_active", False) and actor.has_perm(perm))
