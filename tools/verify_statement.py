#!/usr/bin/env python3
"""Re-checks an account's hash chain from an exported statement, outside the bank: no Django, no database.

Usage: python3 verify_statement.py statement.json

``statement.json`` is the ``data`` (or the whole response) of this query,
paged in ``sequence`` order and concatenated (the edges of every page):

    query($id: ID!, $after: String) { account(id: $id) { id entries(first: 100, after: $after) {
      edges { node { sequence amount balanceAfter createdAt hash prevHash transaction { id } } }
      pageInfo { hasNextPage endCursor } } } }

Each entry's hash is SHA-256, as 64 lower-case hex digits, of the UTF-8 bytes of

    prevHash|accountNumber|sequence|transactionNumber|amountInCentavos|balanceAfterInCentavos|createdAt

where the numbers are the decimal integers behind the global IDs (an ID is
base64 of "Account:<n>" or "Transaction:<n>"), amounts are signed integer
centavos ("-12.50" is -1250), and createdAt is the instant in UTC written
YYYY-MM-DDTHH:MM:SS.ffffffZ. The first entry's prevHash is 64 zeros; every
later one's is the hash of the entry before it (a statement that starts
later takes its first prevHash as given). docs/HASHES.md is the
specification. Exit status 0: the chain holds; 1: it does not (the first
broken entry is named); 2: the file is not a statement.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
_AMOUNT = re.compile(r"(-?)([0-9]+)\.([0-9]{2})")


def number_of(global_id: str, kind: str) -> int:
    """The integer behind a global ID of ``kind`` ("Account:12" in base64)."""
    name, _, raw = base64.b64decode(global_id).decode("utf-8").partition(":")
    if name != kind or not raw.isdigit():
        raise ValueError(f"not a {kind} ID: {global_id!r}")
    return int(raw)


def centavos(amount: str) -> int:
    """ "-12.50" as -1250, exactly (never through a float)."""
    found = _AMOUNT.fullmatch(amount)
    if found is None:
        raise ValueError(f"not an amount: {amount!r}")
    sign, units, cents = found.groups()
    value = int(units) * 100 + int(cents)
    return -value if sign else value


def instant(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(prev_hash: str, account: int, entry: dict[str, Any]) -> str:
    canonical = "|".join(
        [
            prev_hash,
            str(account),
            str(int(entry["sequence"])),
            str(number_of(entry["transaction"]["id"], "Transaction")),
            str(centavos(entry["amount"])),
            str(centavos(entry["balanceAfter"])),
            instant(entry["createdAt"]),
        ]
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check(statement: dict[str, Any]) -> list[str]:
    """The problems found, first break first; [] when the chain holds from sequence 1."""
    data = statement.get("data", statement)
    account_data = data["account"]
    account = number_of(account_data["id"], "Account")
    entries = [edge["node"] for edge in account_data["entries"]["edges"]]
    # A statement that starts later (a date range) chains from its first prevHash, taken as given.
    first = int(entries[0]["sequence"]) if entries else 1
    previous = GENESIS if first == 1 else entries[0]["prevHash"]
    for expected_sequence, entry in enumerate(entries, start=first):
        where = f"entry sequence {entry['sequence']}"
        if entry["sequence"] != expected_sequence:
            return [f"{where}: expected sequence {expected_sequence} (an entry is missing or out of order)"]
        if entry["prevHash"] != previous:
            return [f"{where}: prevHash {entry['prevHash']} is not the previous entry's hash {previous}"]
        computed = entry_hash(previous, account, entry)
        if computed != entry["hash"]:
            return [f"{where}: hash {entry['hash']} does not match its content (computed {computed})"]
        previous = computed
    return []


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as file:
            statement = json.load(file)
        problems = check(statement)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"not a statement: {error}", file=sys.stderr)
        return 2
    if problems:
        print("BROKEN: " + problems[0])
        return 1
    count = len(statement.get("data", statement)["account"]["entries"]["edges"])
    print(f"OK: {count} entries, the chain holds")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
