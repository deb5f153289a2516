"""The audit trail in the admin: listed, searchable by request ID, linked to its object, read-only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Account
from audit.models import AuditEvent
from core.context import reset_request_id, set_request_id
from tests.factories import make_account

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audit/auditevent/"


def test_events_are_listed_with_a_link_to_their_object(admin_client: Client, settlement: Account) -> None:
    token = set_request_id("req-audit-1")
    try:
        alice = make_account(1_000)
    finally:
        reset_request_id(token)
    body = admin_client.get(CHANGELIST).content.decode()
    assert "createAccount" in body
    assert f'href="/admin/accounts/account/{alice.pk}/change/"' in body
    assert "req-audit-1" in body


def test_search_by_request_id(admin_client: Client, settlement: Account) -> None:
    token = set_request_id("req-find-me")
    try:
        make_account(1_000)
    finally:
        reset_request_id(token)
    make_account(1_000)
    body = admin_client.get(CHANGELIST, {"q": "req-find-me"}).content.decode()
    expected = {str(pk) for pk in AuditEvent.objects.filter(request_id="req-find-me").values_list("pk", flat=True)}
    assert expected
    assert set(re.findall(r'href="/admin/audit/auditevent/(\d+)/change/', body)) == expected


def test_event_page_shows_the_payload_and_cannot_be_edited(admin_client: Client, settlement: Account) -> None:
    make_account(1_000)
    event = AuditEvent.objects.filter(action="createAccount").first()
    assert event is not None
    url = f"/admin/audit/auditevent/{event.pk}/change/"
    body = admin_client.get(url).content.decode()
    assert "initial_balance" in body
    assert 'name="_save"' not in body
    assert admin_client.post(url, {"action": "forged"}).status_code == 403


def test_audit_list_query_count_is_bounded(
    admin_client: Client, settlement: Account, django_assert_max_num_queries: Any
) -> None:
    for _ in range(20):
        make_account(1_000)
    with django_assert_max_num_queries(12):
        assert admin_client.get(CHANGELIST).status_code == 200
