"""The transactions admin: list columns, filters, search, no N+1, the transaction page and the actions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from graphql_relay import to_global_id

from accounts.models import Account
from audit.models import AuditEvent
from tests.factories import make_account
from transactions.models import Entry, Transaction, TransactionStatus
from transactions.services import TransferSpec, transaction_reverse, transfer_create

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/transactions/transaction/"


def page(tx: Transaction) -> str:
    return f"/admin/transactions/transaction/{tx.pk}/change/"


def text(response: Any) -> str:
    return response.content.decode()


def transfer(sender: Account, receiver: Account, amount: int, kind: str = "PIX", key: str | None = None) -> Transaction:
    spec = TransferSpec(sender_id=sender.pk, receiver_id=receiver.pk, amount=amount, type=kind, idempotency_key=key)
    result = transfer_create(spec=spec)
    assert result.transaction is not None
    return result.transaction


def row_of(body: str, pk: int) -> str:
    match = re.search(rf"<tr>(?:(?!</tr>).)*?/admin/transactions/transaction/{pk}/change/.*?</tr>", body, re.S)
    assert match is not None, f"no row for transaction {pk}"
    return match.group(0)


def listed_ids(body: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'name="_selected_action" value="(\d+)"', body)}


def run_action(client: Client, action: str, *pks: int) -> str:
    response = client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"}, follow=True
    )
    assert response.status_code == 200
    return " | ".join(str(message) for message in response.context["messages"])


def test_list_shows_id_type_badge_parties_formatted_amount_and_time(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(500_000, name="Alice Souza"), make_account(name="Bruno Lima")
    tx = transfer(alice, bob, 123_450)
    row = row_of(text(admin_client.get(CHANGELIST)), tx.pk)
    assert "PIX" in row
    assert 'class="ledger-badge"' in row and "COMPLETED" in row
    assert "Alice Souza" in row and "Bruno Lima" in row
    assert "1,234.50" in row


def test_filters_by_status_and_type_and_a_date_hierarchy(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(500_000), make_account()
    pix, ted = transfer(alice, bob, 100, "PIX"), transfer(alice, bob, 100, "TED")
    body = text(admin_client.get(CHANGELIST, {"status__exact": "PENDING"}))
    assert listed_ids(body) == {ted.pk}
    body = text(admin_client.get(CHANGELIST, {"type__exact": "PIX"}))
    assert pix.pk in listed_ids(body) and ted.pk not in listed_ids(body)
    body = text(admin_client.get(CHANGELIST))
    assert '<nav class="toplinks">' in body  # the date hierarchy
    year = ted.created_at.year
    assert listed_ids(text(admin_client.get(CHANGELIST, {"created_at__year": year}))) >= {pix.pk, ted.pk}


def test_search_by_id_global_id_or_idempotency_key(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(500_000), make_account()
    first, keyed = transfer(alice, bob, 100), transfer(alice, bob, 200, key="order-42")
    assert listed_ids(text(admin_client.get(CHANGELIST, {"q": str(first.pk)}))) == {first.pk}
    assert listed_ids(text(admin_client.get(CHANGELIST, {"q": to_global_id("Transaction", first.pk)}))) == {first.pk}
    assert listed_ids(text(admin_client.get(CHANGELIST, {"q": "order-42"}))) == {keyed.pk}
    assert listed_ids(text(admin_client.get(CHANGELIST, {"q": "no-such-thing"}))) == set()


def test_search_reads_an_id_as_the_api_does_one_spelling_ascii_digits(
    admin_client: Client, settlement: Account
) -> None:
    """``core.graphql.node.parse_id`` decides: "Transaction:01" and "²" name nothing (the latter once crashed int())."""
    alice, bob = make_account(500_000), make_account()
    first = transfer(alice, bob, 100)
    for term in ("²", to_global_id("Transaction", f"0{first.pk}"), to_global_id("Account", first.pk)):
        response = admin_client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        assert listed_ids(text(response)) == set(), term


def test_changelist_makes_no_query_per_row(
    admin_client: Client, settlement: Account, django_assert_max_num_queries: Any
) -> None:
    alice, bob = make_account(10_000_000), make_account()
    for _ in range(3):
        transfer(alice, bob, 100)
    with django_assert_max_num_queries(15) as few:
        admin_client.get(CHANGELIST)
    for kind in ["PIX", "TED", "DOC", "TRANSFER"] * 12:
        transfer(alice, bob, 100, kind)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = text(admin_client.get(CHANGELIST))
    assert len(listed_ids(body)) > 50


def test_transaction_page_shows_entries_reversal_links_and_audit_trail(
    admin_client: Client, settlement: Account
) -> None:
    alice, bob = make_account(100_000), make_account()
    original = transfer(alice, bob, 25_000)
    _, reversal = transaction_reverse(transaction_id=original.pk, actor=None)

    body = text(admin_client.get(page(original)))
    assert "REVERTED" in body
    assert f'Reversed by <a href="/admin/transactions/transaction/{reversal.pk}/change/"' in body
    for entry in Entry.objects.filter(transaction=original):
        assert f"/admin/accounts/account/{entry.account_id}/change/" in body
    assert "-250.00" in body and "250.00" in body
    events = AuditEvent.objects.filter(object_type="Transaction", object_id=str(original.pk))
    assert {"createTransaction", "reverseTransaction"} <= set(events.values_list("action", flat=True))
    trail = body[body.index("Audit trail") :]
    assert "createTransaction" in trail and "reverseTransaction" in trail

    reversal_body = text(admin_client.get(page(reversal)))
    assert f'Reverses <a href="/admin/transactions/transaction/{original.pk}/change/"' in reversal_body


def test_pending_transaction_page_says_it_has_no_entries(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(100_000), make_account()
    body = text(admin_client.get(page(transfer(alice, bob, 100, "TED"))))
    assert "No entries: PENDING transactions post none." in body


def test_nothing_in_the_admin_adds_changes_or_deletes_ledger_rows(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(100_000), make_account()
    tx = transfer(alice, bob, 100)
    entry = Entry.objects.filter(transaction=tx).first()
    event = AuditEvent.objects.first()
    assert entry is not None and event is not None
    for url in (
        "/admin/transactions/transaction/add/",
        f"/admin/transactions/transaction/{tx.pk}/delete/",
        "/admin/transactions/entry/add/",
        f"/admin/transactions/entry/{entry.pk}/delete/",
        "/admin/audit/auditevent/add/",
        f"/admin/audit/auditevent/{event.pk}/delete/",
    ):
        assert admin_client.get(url).status_code == 403, url
    assert admin_client.post(page(tx), {"amount": "1"}).status_code == 403
    assert admin_client.post(f"/admin/transactions/entry/{entry.pk}/change/", {"amount": "1"}).status_code == 403
    # No bulk delete either: the only actions are the two that call services.
    body = text(admin_client.get(CHANGELIST))
    assert "delete_selected" not in body
    assert 'value="reverse_selected"' in body and 'value="cancel_selected"' in body


def test_reverse_action_calls_the_service_and_reports_each_outcome(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(100_000), make_account()
    done, pending = transfer(alice, bob, 10_000), transfer(alice, bob, 10_000, "TED")

    report = run_action(admin_client, "reverse_selected", done.pk, pending.pk)

    done.refresh_from_db()
    assert done.status == TransactionStatus.REVERTED
    reversal = Transaction.objects.get(reverses=done)
    assert f"Transaction {done.pk} reversed by REVERSAL {reversal.pk}." in report
    assert f"Transaction {pending.pk}: NOT_REVERSIBLE" in report
    event = AuditEvent.objects.filter(action="reverseTransaction", object_id=str(done.pk)).get()
    assert event.actor_label == "admin"  # the staff user is the actor


def test_reverse_action_reports_already_reverted(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(100_000), make_account()
    tx = transfer(alice, bob, 10_000)
    run_action(admin_client, "reverse_selected", tx.pk)
    report = run_action(admin_client, "reverse_selected", tx.pk)
    assert f"Transaction {tx.pk}: ALREADY_REVERTED" in report


def test_cancel_action_releases_pending_holds_and_refuses_the_rest(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(100_000), make_account()
    pending, done = transfer(alice, bob, 30_000, "TED"), transfer(alice, bob, 10_000)
    alice.refresh_from_db()
    assert alice.held == 30_000

    report = run_action(admin_client, "cancel_selected", pending.pk, done.pk)

    pending.refresh_from_db()
    alice.refresh_from_db()
    assert (pending.status, pending.failure_reason, alice.held) == ("FAILED", "CANCELLED", 0)
    assert f"Transaction {pending.pk} cancelled; its hold is released." in report
    assert f"Transaction {done.pk}: NOT_CANCELLABLE" in report


def test_staff_without_the_permissions_get_no_actions(viewer_client: Client, settlement: Account) -> None:
    alice, bob = make_account(100_000), make_account()
    tx = transfer(alice, bob, 100)
    body = text(viewer_client.get(CHANGELIST))
    assert "reverse_selected" not in body and "cancel_selected" not in body
    assert viewer_client.get(page(tx)).status_code == 200


def test_staff_with_reverse_permission_get_only_that_action(settlement: Account) -> None:
    user = get_user_model().objects.create_user(username="reverser", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_transaction", "reverse_transaction"]))
    client = Client()
    client.force_login(user)
    body = text(client.get(CHANGELIST))
    assert 'value="reverse_selected"' in body and "cancel_selected" not in body


def test_entry_list_filters_by_account_and_searches_by_document_or_transaction(
    admin_client: Client, settlement: Account, django_assert_max_num_queries: Any
) -> None:
    alice, bob = make_account(100_000), make_account()
    tx = transfer(alice, bob, 1_000)
    with django_assert_max_num_queries(12):
        response = admin_client.get("/admin/transactions/entry/", {"account__id__exact": alice.pk})
    assert response.status_code == 200
    rows = set(re.findall(r'href="/admin/transactions/entry/(\d+)/change/', text(response)))
    assert rows == {str(pk) for pk in Entry.objects.filter(account=alice).values_list("pk", flat=True)}
    by_document = text(admin_client.get("/admin/transactions/entry/", {"q": bob.document}))
    assert bob.document in by_document
    by_tx = text(admin_client.get("/admin/transactions/entry/", {"q": str(tx.pk)}))
    assert by_tx.count(f"/admin/transactions/transaction/{tx.pk}/change/") == 2
