"""An account's statement for a date range, as CSV for staff (the admin's "Statement (CSV)" download).

One row per entry in posting order: the running balance (``balance_after``),
the counterparty, the transaction's type, description and metadata. The
amounts add up to the balance change over the range: the first row's
``balance_after - amount`` is the opening balance, the last row's
``balance_after`` the closing one (tests/admin/test_statement_csv.py).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

from accounts.models import Account
from core.metadata import entries_of
from core.money import format_amount
from transactions.models import Entry

HEADER = (
    "sequence",
    "posted_at_utc",
    "transaction_id",
    "type",
    "status",
    "counterparty_id",
    "counterparty_name",
    "counterparty_document",
    "description",
    "amount",
    "balance_after",
    "metadata",
)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: str) -> str:
    """A client's text (a name, a description, metadata) as a cell a spreadsheet shows and never evaluates.

    A cell starting with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel and LibreOffice
    (CSV injection, OWASP): such text gets a leading apostrophe. Amounts are ours and keep their sign.
    """
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def statement_rows(account: Account, since: datetime | None, until: datetime | None) -> Iterator[list[str]]:
    """The CSV rows (header first) of ``account``'s entries posted within [since, until]."""
    entries = Entry.objects.filter(account=account).select_related(
        "transaction", "transaction__sender", "transaction__receiver"
    )
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lte=until)
    yield list(HEADER)
    for entry in entries.order_by("sequence").iterator(chunk_size=2000):
        tx, other = entry.transaction, entry.counterparty
        yield [
            str(entry.sequence),
            entry.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            str(tx.pk),
            tx.type,
            tx.status,
            str(other.pk),
            as_text(other.name),
            other.document,
            as_text(tx.description),
            format_amount(entry.amount),
            format_amount(entry.balance_after),
            json.dumps(entries_of(tx.metadata), ensure_ascii=False) if tx.metadata else "",  # starts with "["
        ]


def statement_csv(account: Account, since: datetime | None, until: datetime | None) -> Iterator[str]:
    """``statement_rows`` as CSV text, a line at a time (a long statement streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in statement_rows(account, since, until):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
