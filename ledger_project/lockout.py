"""The page an admin sign-in gets once django-axes has locked its username and address.

django-axes counts failed sign-ins per username and client address (settings.py,
``AXES_*``; the address is the client's even behind nginx, see
ledger_project/proxied.py). At the limit the login view answers this page, 429
with ``Retry-After``, in the admin's own look, instead of the login form; the
right password is refused too until the cool-off has passed. API keys never
pass through Django's ``authenticate()``, so they are not counted or locked.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template import engines

_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block title %}Sign-in locked | {{ site_title }}{% endblock %}
{% block content_title %}<h1>Sign-in locked</h1>{% endblock %}
{% block breadcrumbs %}{% endblock %}
{% block nav-sidebar %}{% endblock %}
{% block content %}
<p class="errornote">Too many failed sign-ins for this username from your address
({{ failure_limit }} in a row). Sign-in is locked for {{ minutes }} minute{{ minutes|pluralize }};
every further attempt in that time, even with the right password, is refused and restarts the wait.</p>
<p>If you have forgotten the password, ask an administrator to reset it
(<code>manage.py changepassword</code>) and to clear the lock
(<code>manage.py axes_reset_username &lt;username&gt;</code>).</p>
{% endblock %}"""
)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: 429, a ``Retry-After`` of the cool-off, and a page that says what to do."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    context = {
        **admin.site.each_context(request),
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": max(1, -(-seconds // 60)),
    }
    response = HttpResponse(_PAGE.render(context, request), status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
