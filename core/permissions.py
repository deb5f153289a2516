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
