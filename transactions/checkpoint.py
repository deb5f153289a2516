"""Signed checkpoints: chain heads anchored outside the database (``ledger_checkpoint``).

The SHA-256 chain of entries (``transactions/hashing.py``) proves that nobody
changed history *without recomputing it*; whoever can write the tables (a
superuser, the tables' owner with the triggers disabled) can recompute it with
the same public function. A checkpoint records, at one instant, each account's
last sequence and the hash there, and digests of the transactions' and audit
events' unchanging columns, and is signed with HMAC-SHA256 under a key the
database never holds (``LEDGER_CHECKPOINT_KEY``). The operator keeps the file
away from the database (write-once storage, another machine). ``verify_ledger
--against FILE`` then proves that nothing before that instant changed: every
account's chain, recomputed from its first entry, reaches the signed hash at
the signed sequence, and every recorded transaction and audit event hashes as
it did. The entry hash itself is unchanged: outsiders may recompute it.

Keys: ``LEDGER_CHECKPOINT_KEY="k2:<secret>,k1:<old secret>"``. The first key signs;
each checkpoint names its key id, so older checkpoints verify while their key
is still listed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from transactions.hashing import GENESIS_HASH, HASHED_COLUMNS, rehash
from transactions.models import Entry, Transaction
from transactions.verification import Check, Finding, Outcome, ledger_snapshot, verify

FORMAT = "ledger-checkpoint/1"
KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MIN_SECRET = 32  # characters; e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"
BLOCK = 1024  # ids per digest: a changed row is located to within this many ids
CHUNK = 5000

# Columns that never change once written (status, failure_reason, completed_at do: not here).
TRANSACTION_COLUMNS = (
    "id",
    "sender_id",
    "receiver_id",
    "amount",
    "type",
    "description",
    "idempotency_scope",
    "idempotency_key",
    "request_fingerprint",
    "created_at",
    "reverses_id",
)
AUDIT_COLUMNS = (
    "id",
    "actor_id",
    "actor_label",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "request_id",
    "payload",
    "created_at",
)


class CheckpointError(Exception):
    """No checkpoint can be written or trusted: a missing or malformed key, a bad signature, a bad file."""


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    secret: bytes


def configured_keys(value: str | None = None) -> list[SigningKey]:
    """Parses ``LEDGER_CHECKPOINT_KEY``: ``id:secret`` pairs, comma-separated; never echoes a secret."""
    raw = settings.LEDGER_CHECKPOINT_KEY if value is None else value
    keys: list[SigningKey] = []
    for position, item in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not item:
            continue
        key_id, colon, secret = item.partition(":")
        if not colon or not KEY_ID.fullmatch(key_id):
            raise CheckpointError(
                f"LEDGER_CHECKPOINT_KEY item {position} is not id:secret (id: letters, digits, _ . -, up to 64)"
            )
        if len(secret) < MIN_SECRET:
            raise CheckpointError(f"LEDGER_CHECKPOINT_KEY {key_id}: the secret needs at least {MIN_SECRET} characters")
        if any(key.key_id == key_id for key in keys):
            raise CheckpointError(f"LEDGER_CHECKPOINT_KEY lists the key id {key_id} twice")
        keys.append(SigningKey(key_id, secret.encode()))
    if not keys:
        raise CheckpointError(
            "LEDGER_CHECKPOINT_KEY is not set: checkpoints are signed with a key from the environment"
        )
    return keys


# --- Canonical forms -------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _signed_bytes(key_id: str, body: dict[str, Any]) -> bytes:
    return _canonical({"format": FORMAT, "key_id": key_id, "body": body}).encode()


def _signature(key: SigningKey, body: dict[str, Any]) -> str:
    return hmac.new(key.secret, _signed_bytes(key.key_id, body), hashlib.sha256).hexdigest()


# --- Digests of the rows that never change ---------------------------------------------


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    """Ascending ids as [first, last] runs: ids a rolled-back or not yet committed insert took leave gaps."""
    runs: list[list[int]] = []
    for pk in ids:
        if runs and pk == runs[-1][1] + 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def _in_ranges(rows: Iterable[tuple[Any, ...]], ranges: Sequence[Sequence[int]]) -> Iterator[tuple[Any, ...]]:
    """The rows (ascending by id) whose id the ranges cover: rows committed later stay out."""
    position = 0
    for row in rows:
        while position < len(ranges) and row[0] > ranges[position][1]:
            position += 1
        if position == len(ranges):
            return
        if row[0] >= ranges[position][0]:
            yield row


def _blocks(rows: Iterable[tuple[Any, ...]]) -> dict[int, tuple[int, str]]:
    """Per block of ``BLOCK`` ids: how many rows and the SHA-256 of their canonical lines."""
    result: dict[int, tuple[int, str]] = {}
    block: int | None = None
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        index = row[0] // BLOCK
        if index != block:
            if block is not None:
                result[block] = (count, digest.hexdigest())
            block, digest, count = index, hashlib.sha256(), 0
        digest.update(_canonical([_plain(value) for value in row]).encode() + b"\n")
        count += 1
    if block is not None:
        result[block] = (count, digest.hexdigest())
    return result


def _rows(model: type[Model], columns: Sequence[str], up_to: int | None = None) -> Iterator[tuple[Any, ...]]:
    rows = model._default_manager.order_by("pk")
    if up_to is not None:
        rows = rows.filter(pk__lte=up_to)
    return rows.values_list(*columns).iterator(chunk_size=CHUNK)


def _table_state(model: type[Model], columns: Sequence[str]) -> dict[str, Any]:
    ids = _ranges(pk for (pk,) in model._default_manager.order_by("pk").values_list("pk").iterator(chunk_size=CHUNK))
    blocks = _blocks(_rows(model, columns))
    return {"ids": ids, "blocks": [[index, count, digest] for index, (count, digest) in sorted(blocks.items())]}


# --- Writing ----------------------------------------------------------------------------


def take() -> dict[str, Any]:
    """The checkpoint's body, read in the caller's snapshot (``ledger_snapshot``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.account_id, e.sequence, e.hash FROM {Entry._meta.db_table} e JOIN "
            f"(SELECT account_id, MAX(sequence) AS last FROM {Entry._meta.db_table} GROUP BY account_id) m "
            "ON m.account_id = e.account_id AND m.last = e.sequence"
        )
        heads = {account_id: (sequence, digest) for account_id, sequence, digest in cursor.fetchall()}
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    accounts = [[pk, *heads.get(pk, (0, GENESIS_HASH))] for pk in account_ids]
    transactions = _table_state(Transaction, TRANSACTION_COLUMNS)
    events = _table_state(AuditEvent, AUDIT_COLUMNS)
    return {
        "taken_at": _plain(timezone.now()),
        "accounts": accounts,
        "totals": {
            "accounts": len(accounts),
            "entries": sum(sequence for _, sequence, _ in accounts),
            "transactions": sum(count for _, count, _ in transactions["blocks"]),
            "audit_events": sum(count for _, count, _ in events["blocks"]),
        },
        "transactions": transactions,
        "audit_events": events,
    }


def sign(body: dict[str, Any], key: SigningKey) -> str:
    """The checkpoint file's text: the body, the key id and the HMAC-SHA256 over both."""
    document = {"format": FORMAT, "key_id": key.key_id, "signature": _signature(key, body), "body": body}
    return _canonical(document) + "\n"


def write_checkpoint() -> tuple[str | None, dict[str, Any] | None, list[Outcome]]:
    """Verifies the ledger and, if every invariant holds, takes and signs a checkpoint, in one snapshot.

    Returns (file text, body, breached outcomes): a ledger that does not verify is
    not signed, since signing would vouch for the breach.
    """
    key = configured_keys()[0]
    with ledger_snapshot():
        breached = [outcome for outcome in verify() if not outcome.finding.ok]
        if breached:
            return None, None, breached
        body = take()
    return sign(body, key), body, []


# --- Reading and verifying ---------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    key_id: str
    taken_at: str
    accounts: list[list[Any]]
    transactions: dict[str, Any]
    audit_events: dict[str, Any]
    totals: dict[str, int]


def load(text: str, keys: list[SigningKey] | None = None) -> Checkpoint:
    """Parses a checkpoint file and checks its signature before trusting a byte of it."""
    try:
        document = json.loads(text)
    except ValueError:
        raise CheckpointError("not a checkpoint file (not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"not a checkpoint file (format is not {FORMAT})")
    key_id, signature, body = document.get("key_id"), document.get("signature"), document.get("body")
    if not isinstance(key_id, str) or not isinstance(signature, str) or not isinstance(body, dict):
        raise CheckpointError("not a checkpoint file (key_id, signature or body missing)")
    known = {key.key_id: key for key in (keys if keys is not None else configured_keys())}
    if key_id not in known:
        raise CheckpointError(f"signed with key {key_id!r}, which LEDGER_CHECKPOINT_KEY does not list")
    if not hmac.compare_digest(_signature(known[key_id], body), signature):
        raise CheckpointError(f"bad signature: the file was changed or not signed with key {key_id!r}")
    try:
        return Checkpoint(
            key_id=key_id,
            taken_at=str(body["taken_at"]),
            accounts=[[int(pk), int(sequence), str(digest)] for pk, sequence, digest in body["accounts"]],
            transactions=body["transactions"],
            audit_events=body["audit_events"],
            totals={name: int(value) for name, value in body["totals"].items()},
        )
    except (KeyError, TypeError, ValueError):
        raise CheckpointError("a signed checkpoint of an unknown layout") from None


def entries_unchanged(checkpoint: Checkpoint) -> Finding:
    """Each account's chain, recomputed from genesis, reaches the signed hash at the signed sequence.

    The stored hashes are not trusted: whoever rewrote an entry recomputed them.
    """
    anchors = {pk: (sequence, digest) for pk, sequence, digest in checkpoint.accounts}
    finding = Finding(0, "entries")
    reached: dict[int, str] = {}
    current: int | None = None
    recomputed = GENESIS_HASH
    for row in Entry.objects.order_by("account_id", "sequence").values_list(*HASHED_COLUMNS).iterator(chunk_size=CHUNK):
        account_id, sequence = row[0], row[1]
        if account_id != current:
            current, recomputed = account_id, GENESIS_HASH
        anchor = anchors.get(account_id)
        if anchor is None or sequence > anchor[0]:
            continue  # after the checkpoint: the plain chain check covers it
        finding.checked += 1
        recomputed = rehash(recomputed, row)
        if sequence == anchor[0]:
            reached[account_id] = recomputed
    existing = set(Account.objects.filter(pk__in=list(anchors)).values_list("pk", flat=True))
    for pk, (sequence, digest) in sorted(anchors.items()):
        if pk not in existing:
            finding.offend(f"account {pk}: in the checkpoint, missing now")
        elif sequence and reached.get(pk) != digest:
            finding.offend(f"account {pk}: its entries up to sequence {sequence} differ from the checkpoint")
    return finding


def _rows_unchanged(model: type[Model], columns: Sequence[str], state: dict[str, Any], what: str) -> Finding:
    ranges: list[list[int]] = state["ids"]
    signed = {int(index): (int(count), str(digest)) for index, count, digest in state["blocks"]}
    finding = Finding(sum(count for count, _ in signed.values()), what)
    up_to = ranges[-1][1] if ranges else 0
    now = _blocks(_in_ranges(_rows(model, columns, up_to), ranges)) if ranges else {}
    for index in sorted(set(signed) | set(now)):
        if signed.get(index) != now.get(index):
            first, last = index * BLOCK, index * BLOCK + BLOCK - 1
            was, is_ = signed.get(index, (0, ""))[0], now.get(index, (0, ""))[0]
            detail = f"{was} then, {is_} now" if was != is_ else "changed"
            finding.offend(f"{what} with ids {first}..{last}: {detail}")
    return finding


def checks_against(checkpoint: Checkpoint) -> list[Check]:
    """The checks ``verify_ledger --against`` adds: nothing before the checkpoint changed."""
    when = f"checkpoint {checkpoint.taken_at}, key {checkpoint.key_id}"
    return [
        Check(f"entries up to the {when} are unchanged", lambda: entries_unchanged(checkpoint)),
        Check(
            "transactions up to the checkpoint are unchanged",
            lambda: _rows_unchanged(Transaction, TRANSACTION_COLUMNS, checkpoint.transactions, "transactions"),
        ),
        Check(
            "audit events up to the checkpoint are unchanged",
            lambda: _rows_unchanged(AuditEvent, AUDIT_COLUMNS, checkpoint.audit_events, "audit events"),
        ),
    ]
