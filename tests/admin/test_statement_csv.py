"""The staff statement download: CSV of an account's entries over a date range (issue 14, item 6)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from core.adminkit import money
from tests.factories import make_account
from transactions.services import TransferSpec, transaction_reverse, transfer_batch_create, transfer_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(settlement: Account) -> Account:
    alice, bob, carol = (
        make_account(50_000, name="Alice"),
        make_account(1_000, name="Bob"),
        make_account(0, name="Carol"),
    )
    first = transfer_create(
        spec=TransferSpec(alice.pk, bob.pk, 1_250, "PIX", "rent", metadata=(("pix.e2e", "E1"), ("ref", "a,b")))
    ).transaction
    transfer_batch_create(specs=[TransferSpec(alice.pk, carol.pk, 333 + i, "TRANSFER") for i in range(5)])
    transfer_create(spec=TransferSpec(bob.pk, alice.pk, 99, "PIX"))
    assert first is not None
    transaction_reverse(transaction_id=first.pk)
    alice.refresh_from_db()
    return alice


def download(client: Client, account: Account, **dates: str) -> list[dict[str, str]]:
    response = client.get(f"/admin/accounts/account/{account.pk}/statement.csv", dates)
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="statement-')
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


def test_the_statements_amounts_add_up_to_the_balance_change(viewer_client: Client, alice: Account) -> None:
    rows = download(viewer_client, alice)
    assert [int(r["sequence"]) for r in rows] == list(range(1, alice.entry_count + 1))
    opening = Decimal(rows[0]["balance_after"]) - Decimal(rows[0]["amount"])
    total = sum(Decimal(r["amount"]) for r in rows)
    assert opening == 0 and opening + total == Decimal(rows[-1]["balance_after"])
    alice.refresh_from_db()
    assert Decimal(rows[-1]["balance_after"]) * 100 == alice.balance
    running = opening
    for row in rows:  # each row's running balance is the one before plus its amount
        running += Decimal(row["amount"])
        assert Decimal(row["balance_after"]) == running


def test_each_row_names_its_counterparty_type_and_metadata(viewer_client: Client, alice: Account) -> None:
    rows = download(viewer_client, alice)
    rent = next(r for r in rows if r["description"] == "rent")
    assert (rent["counterparty_name"], rent["type"], rent["amount"]) == ("Bob", "PIX", "-12.50")
    assert rent["metadata"] == '[{"key": "pix.e2e", "value": "E1"}, {"key": "ref", "value": "a,b"}]'
    assert {r["counterparty_name"] for r in rows} == {"Settlement", "Bob", "Carol"}


def test_a_clients_text_never_reaches_a_spreadsheet_as_a_formula(viewer_client: Client, alice: Account) -> None:
    """CSV injection: a name or description starting like a formula is kept as text, amounts keep their sign."""
    mallory = make_account(0, name='=HYPERLINK("http://evil.example","x")')
    transfer_create(spec=TransferSpec(alice.pk, mallory.pk, 10, "PIX", "@SUM(1+1)"))
    row = download(viewer_client, alice)[-1]
    assert row["counterparty_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert (row["description"], row["amount"]) == ("'@SUM(1+1)", "-0.10")


def test_a_date_range_keeps_its_entries_and_still_adds_up(viewer_client: Client, alice: Account) -> None:
    today = timezone.localdate()
    rows = download(viewer_client, alice, since=str(today), until=str(today))
    assert len(rows) == alice.entry_count
    tomorrow = today + timedelta(days=1)
    assert download(viewer_client, alice, since=str(tomorrow)) == []
    opening = Decimal(rows[0]["balance_after"]) - Decimal(rows[0]["amount"])
    assert opening + sum(Decimal(r["amount"]) for r in rows) == Decimal(rows[-1]["balance_after"])


def test_bad_dates_and_missing_permissions_are_refused(viewer_client: Client, alice: Account) -> None:
    url = f"/admin/accounts/account/{alice.pk}/statement.csv"
    assert viewer_client.get(url, {"since": "yesterday"}).status_code == 400
    assert viewer_client.get("/admin/accounts/account/999999/statement.csv").status_code == 404
    assert Client().get(url).status_code == 302  # to the admin login


def test_the_account_page_offers_the_download(viewer_client: Client, alice: Account) -> None:
    page = viewer_client.get(f"/admin/accounts/account/{alice.pk}/change/").content.decode()
    assert f'action="/admin/accounts/account/{alice.pk}/statement.csv"' in page and "Download CSV" in page


def test_the_account_page_draws_its_balance_over_time(viewer_client: Client, alice: Account) -> None:
    page = viewer_client.get(f"/admin/accounts/account/{alice.pk}/change/").content.decode()
    assert '<svg id="balance-chart"' in page and f'data-points="{alice.entry_count}"' in page
    assert "<script" not in page.split('id="balance-over-time"')[1].split("</fieldset>")[0]  # drawn on the server
    assert f"now {money(alice.balance)}" in page


def test_an_account_without_entries_says_so(viewer_client: Client, settlement: Account) -> None:
    empty = make_account(0, name="Nobody")
    page = viewer_client.get(f"/admin/accounts/account/{empty.pk}/change/").content.decode()
    assert 'id="balance-chart-empty"' in page
