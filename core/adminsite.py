"""The admin site: its list pages read the standby when that is safe, like GraphQL queries.

One place every admin view passes (``AdminSite.admin_view``), so no ModelAdmin
has to remember it. A list page (``changelist_view``, GET) reads the standby
when ``core.replica.read_alias`` allows: the staff member's own last write
(the commit position stored in the session by any admin POST) must be
replayed there, else the standby's lag must be under
``LEDGER_REPLICA_MAX_LAG_MS``. Everything else (change forms, actions, deletes,
any POST) reads and writes the primary. Without DATABASE_REPLICA_URL nothing
changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse

from core import replica
from core.routing import REPLICA_ALIAS, reads_from_replica

READ_AFTER_SESSION_KEY = "ledger_read_after"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def _lists_on_the_standby(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    lists = getattr(view, "__name__", "") == "changelist_view"

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not replica.replica_configured():
            return view(request, *args, **kwargs)
        if request.method not in SAFE_METHODS:
            response = view(request, *args, **kwargs)
            request.session[READ_AFTER_SESSION_KEY] = replica.commit_position()  # after the view's commit
            return response
        if not lists:
            return view(request, *args, **kwargs)
        token = replica.parse_token(request.session.get(READ_AFTER_SESSION_KEY))
        with reads_from_replica(replica.read_alias(token) == REPLICA_ALIAS):
            response = view(request, *args, **kwargs)
            render = getattr(response, "render", None)
            if render is not None and not response.is_rendered:  # type: ignore[attr-defined]
                render()  # the page's rows are read while rendering: inside the block
        return response

    return wrapped


class LedgerAdminSite(admin.AdminSite):
    # The lists get the whole width: at 1280 px the sidebar (a copy of the index) pushed columns off-screen.
    enable_nav_sidebar = False

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        return super().admin_view(_lists_on_the_standby(view), cacheable)


class LedgerAdminConfig(AdminConfig):
    default_site = "core.adminsite.LedgerAdminSite"
