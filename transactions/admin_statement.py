"""The admin's statement download: ``/admin/accounts/account/<pk>/statement.csv?since=YYYY-MM-DD&until=YYYY-MM-DD``.

Its own view and template piece (the account page links to it), so the
account admin's code is untouched. Staff need ``accounts.view_account`` and
``transactions.view_transaction``; the dates are days in the admin's time zone,
both included.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from accounts.models import Account
from transactions.statement import statement_csv

PERMISSIONS = ("accounts.view_account", "transactions.view_transaction")


def _day(value: str, end: bool) -> datetime | None:
    if not value:
        return None
    day = date.fromisoformat(value)  # ValueError: answered 400 below
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def statement_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    if not request.user.has_perms(PERMISSIONS):
        raise PermissionDenied
    account = Account.objects.filter(pk=pk).first()
    if account is None:
        raise Http404("No such account.")
    try:
        since = _day(request.GET.get("since", ""), end=False)
        until = _day(request.GET.get("until", ""), end=True)
    except ValueError:
        return HttpResponse("since and until are dates: YYYY-MM-DD.", status=400, content_type="text/plain")
    response = StreamingHttpResponse(statement_csv(account, since, until), content_type="text/csv; charset=utf-8")
    name = f"statement-{account.pk}-{request.GET.get('since') or 'start'}-{request.GET.get('until') or 'now'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path(
        "admin/accounts/account/<int:pk>/statement.csv",
        admin.site.admin_view(statement_view),
        name="account_statement_csv",
    )
]
