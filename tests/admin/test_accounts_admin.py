"""The accounts admin: formatted money, search, filters, latest entries, balance at a date."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts.admin import parse_instant
from accounts.models import Account
from core.adminkit import instant, money
from core.documents import format_document
from tests.factories import make_account
from transactions.services import TransferSpec, transfer_create

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/account/"
INSTANT = re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\b")


def page(account: Account) -> str:
    return f"/admin/accounts/account/{account.pk}/change/"


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(0, "0.00"), (5, "0.05"), (123450, "1,234.50"), (-1000, "-10.00"), (99_999_999_999_999, "999,999,999,999.99")],
)
def test_money_is_grouped_with_two_decimals(cents: int, shown: str) -> None:
    assert money(cents) == shown


def test_list_shows_balance_held_and_available_formatted(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(123_450, name="Alice Souza"), make_account(name="Bruno Lima")
    transfer_create(spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=20_000, type="TED"))
    body = text(admin_client.get(CHANGELIST))
    rows = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", body, re.S) if "Alice Souza" in row]
    assert len(rows) == 1
    cells = rows[0]
    assert "1,234.50" in cells  # balance
    assert "200.00" in cells  # held by the pending TED
    assert "1,034.50" in cells  # available
    assert format_document(alice.document) in cells and alice.document not in cells  # 100.000.001-08
    assert cells.count('class="ledger-amount"') == 3  # right-aligned, tabular (ledger/admin.css)


@pytest.mark.parametrize(
    ("document", "shown"),
    [
        ("52998224725", "529.982.247-25"),
        ("11222333000181", "11.222.333/0001-81"),
        ("12ABC34501DE35", "12.ABC.345/01DE-35"),
    ],
)
def test_documents_are_shown_as_people_write_them(document: str, shown: str) -> None:
    assert format_document(document) == shown


def test_one_date_format_with_the_time_zone_on_lists_and_pages(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(50_000), make_account()
    transfer_create(spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=1_250, type="PIX"))
    for url in (CHANGELIST, page(alice), "/admin/transactions/transaction/", "/admin/audit/auditevent/"):
        body = text(admin_client.get(url))
        assert INSTANT.search(body), url
        assert not re.search(r"\b(a\.m\.|p\.m\.|midnight|noon)\b", body), url
    assert instant(datetime(2026, 11, 25, 14, 30, 5, tzinfo=UTC)) == "2026-11-25 14:30:05 UTC"


def test_account_entries_show_counterparty_type_and_description(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(50_000, name="Alice Souza"), make_account(name="Bruno Lima")
    transfer_create(
        spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=1_250, type="PIX", description="Rent")
    )
    body = text(admin_client.get(page(alice)))
    start = body.index("id='latest-entries'")
    table = body[start : body.index("</table>", start)]
    headers = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table)
    assert headers == [
        "#",
        "Posted at",
        "Transaction",
        "Type",
        "Counterparty",
        "Description",
        "Amount",
        "Balance after",
    ]
    rows = re.findall(r"<tr><td>(\d+)</td>(.*?)</tr>", table, re.S)
    by_sequence = {int(sequence): re.sub(r"<[^>]+>", "|", cells) for sequence, cells in rows}
    assert "PIX" in by_sequence[2] and "Bruno Lima" in by_sequence[2] and "Rent" in by_sequence[2]
    assert "DEPOSIT" in by_sequence[1] and "Settlement" in by_sequence[1] and "Initial deposit" in by_sequence[1]
    assert "Bruno Lima" not in by_sequence[1]


def test_balance_at_a_date_is_a_date_time_picker_beside_the_balances(admin_client: Client, settlement: Account) -> None:
    alice = make_account(100)
    body = text(admin_client.get(page(alice)))
    picker = re.search(r'<input type="datetime-local"[^>]*name="at"[^>]*form="balance-at-form"', body)
    assert picker is not None
    money_at, picker_at, counters_at = (
        body.index(">Money<"),
        body.index(">Balance at a date<"),
        body.index(">Counters<"),
    )
    assert money_at < picker_at < counters_at
    assert '<form id="balance-at-form" method="get">' in body


def test_search_by_name_or_document_and_filter_by_kind(admin_client: Client, settlement: Account) -> None:
    _alice, bob = make_account(name="Alice Souza"), make_account(name="Bruno Lima")
    by_name = text(admin_client.get(CHANGELIST, {"q": "alice"}))
    assert "Alice Souza" in by_name and "Bruno Lima" not in by_name
    by_document = text(admin_client.get(CHANGELIST, {"q": bob.document}))
    assert "Bruno Lima" in by_document and "Alice Souza" not in by_document
    d = bob.document
    punctuated = f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"
    assert "Bruno Lima" in text(admin_client.get(CHANGELIST, {"q": punctuated}))
    settlement_only = text(admin_client.get(CHANGELIST, {"kind__exact": "SETTLEMENT"}))
    assert "Settlement" in settlement_only and "Alice Souza" not in settlement_only


def test_account_page_lists_its_latest_entries(admin_client: Client, settlement: Account) -> None:
    alice, bob = make_account(50_000), make_account()
    result = transfer_create(spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=1_250, type="PIX"))
    assert result.transaction is not None
    body = text(admin_client.get(page(alice)))
    assert "Latest 20 entries" in body
    assert f"/admin/transactions/transaction/{result.transaction.pk}/change/" in body
    assert "-12.50" in body and "487.50" in body  # the transfer's entry and the balance after it
    assert "500.00" in body  # the initial deposit's balance after
    assert f"?account__id__exact={alice.pk}" in body


def test_balance_at_a_date_is_computed_from_the_entries(admin_client: Client, settlement: Account) -> None:
    before = timezone.now()
    alice, bob = make_account(100_000), make_account()
    after_deposit = timezone.now()
    transfer_create(spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=30_000, type="PIX"))
    after_transfer = timezone.now()

    def balance_shown(at: str) -> str:
        body = text(admin_client.get(page(alice), {"at": at}))
        match = re.search(r'id="balance-at-result">.*?<strong>(.*?)</strong>', body, re.S)
        assert match is not None, body
        return match.group(1)

    assert balance_shown(before.isoformat()) == "0.00"
    assert balance_shown(after_deposit.isoformat()) == "1,000.00"
    assert balance_shown(after_transfer.isoformat()) == "700.00"
    assert balance_shown(timezone.localdate().isoformat()) == "700.00"  # a date means the end of that day


def test_balance_at_a_date_explains_a_bad_date(admin_client: Client, settlement: Account) -> None:
    alice = make_account(100)
    body = text(admin_client.get(page(alice), {"at": "yesterday"}))
    assert "Pick a date and time" in body
    assert parse_instant("2026-02-30") is None
    assert parse_instant("2026-11-25T14:30") is not None


def test_nobody_adds_changes_or_deletes_accounts_in_the_admin(admin_client: Client, settlement: Account) -> None:
    alice = make_account(10_000)
    assert admin_client.get("/admin/accounts/account/add/").status_code == 403
    assert admin_client.get(f"/admin/accounts/account/{alice.pk}/delete/").status_code == 403
    response = admin_client.post(page(alice), {"name": "Mallory", "balance": "999999"})
    assert response.status_code == 403
    alice.refresh_from_db()
    assert (alice.name, alice.balance) != ("Mallory", 999999)
    body = text(admin_client.get(page(alice)))
    assert 'name="_save"' not in body  # a view page, no save button
    assert "/admin/accounts/account/add/" not in text(admin_client.get(CHANGELIST))


def test_staff_with_view_permission_see_accounts(viewer_client: Client, settlement: Account) -> None:
    alice = make_account(10_000)
    assert viewer_client.get(CHANGELIST).status_code == 200
    assert viewer_client.get(page(alice)).status_code == 200


def test_account_list_query_count_does_not_grow_with_rows(
    admin_client: Client, settlement: Account, django_assert_max_num_queries: object
) -> None:
    for _ in range(3):
        make_account(1_000)
    with django_assert_max_num_queries(12) as few:  # type: ignore[operator]
        admin_client.get(CHANGELIST)
    for _ in range(30):
        make_account(1_000)
    with django_assert_max_num_queries(len(few.captured_queries)):  # type: ignore[operator]
        admin_client.get(CHANGELIST)
