"""The stored documents this process knows: by hash, compiled and measured once, their uses counted in batches.

Per process, each stored document is parsed and validated once (the verdict
depends on the schema alone) and its cost measured once per combination of
the variable values the cost model reads (``core.graphql.cost.estimate_cost``'s
``reads``): a transfer, whose cost reads none of its variables, is measured
once. What a request still pays: one dictionary lookup, and the per-request
checks that depend on it (the limits, the backstops).

Revocation must reach every process: an entry is re-read from the database
when it is older than ``LEDGER_DOCUMENTS_RECHECK_SECONDS``, and the same
visit writes the uses counted since the last one (one UPDATE per document and
process per interval, never one per request). A revocation made in this
process (the admin, the command) is seen by it at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode

from core.graphql.cost import ALL_VARIABLES, Cost, estimate_cost
from core.graphql.documents import CachedDocument, DocumentCache, Rules
from trusted.models import TrustedDocument

MAX_COST_MEMOS = 64  # per document: past this, a document whose cost reads its variables is measured per request


@dataclass
class Stored:
    """One stored document as this process holds it."""

    sha256: str
    text: str
    revoked: bool
    checked_at: float
    pending_uses: int = 0
    compiled: dict[tuple[GraphQLSchema, Rules], CachedDocument] = field(default_factory=dict)
    # (operation name, variable names sent, the read variables' values) -> cost; the read names per operation.
    costs: dict[tuple[Any, ...], Cost] = field(default_factory=dict)
    reads: dict[str | None, list[tuple[str, ...]]] = field(default_factory=dict)


class DocumentStore:
    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[str, Stored] = OrderedDict()
        self.lock = threading.Lock()

    def lookup(self, sha256: str) -> Stored | None:
        """The stored document named ``sha256`` (revoked or not), or None when the database has none."""
        with self.lock:
            stored = self.entries.get(sha256)
            if stored is not None:
                self.entries.move_to_end(sha256)
        if stored is not None and time.monotonic() - stored.checked_at < settings.LEDGER_DOCUMENTS_RECHECK_SECONDS:
            return stored
        return self._load(sha256, stored)

    def _load(self, sha256: str, known: Stored | None) -> Stored | None:
        if known is not None:
            self._write_uses(known)
        row = TrustedDocument.objects.filter(sha256=sha256).values_list("text", "revoked_at").first()
        if row is None:
            self.forget(sha256)
            return None
        text, revoked_at = row
        with self.lock:
            stored = self.entries.get(sha256)
            if stored is None or stored.text != text:
                stored = self.entries[sha256] = Stored(sha256, text, revoked_at is not None, time.monotonic())
                while len(self.entries) > self.max_entries:
                    _, evicted = self.entries.popitem(last=False)
                    self._write_uses(evicted)
            else:
                stored.revoked, stored.checked_at = revoked_at is not None, time.monotonic()
        return stored

    def used(self, stored: Stored) -> None:
        with self.lock:
            stored.pending_uses += 1

    def _write_uses(self, stored: Stored) -> None:
        with self.lock:
            uses, stored.pending_uses = stored.pending_uses, 0
        if uses:
            TrustedDocument.objects.filter(sha256=stored.sha256).update(
                use_count=F("use_count") + uses, last_used_at=timezone.now()
            )

    def flush(self) -> None:
        """Writes every use counted so far (the next recheck would; tests and a stopping process need it now)."""
        with self.lock:
            entries = list(self.entries.values())
        for stored in entries:
            self._write_uses(stored)

    def compiled(self, stored: Stored, schema: GraphQLSchema, rules: Rules) -> CachedDocument:
        """The document parsed and validated, once per process (and schema, and rule set)."""
        key = (schema, rules)
        outcome = stored.compiled.get(key)
        if outcome is None:
            outcome = stored.compiled[key] = DocumentCache.compile(schema, stored.text, rules)
        return outcome

    def cost(
        self,
        stored: Stored,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
    ) -> Cost | GraphQLError:
        """``estimate_cost``, memoized on the values of the variables it reads (none, for most operations)."""
        name = operation.name.value if operation.name else None
        sent = tuple(sorted(variables or ()))
        for reads in stored.reads.get(name, ()):
            known = stored.costs.get((name, sent, reads, _values(variables, reads)))
            if known is not None:
                return known
        read: set[str] = set()
        cost = estimate_cost(schema, document, operation, variables, reads=read)
        if isinstance(cost, Cost) and ALL_VARIABLES not in read and len(stored.costs) < MAX_COST_MEMOS:
            names = tuple(sorted(read))
            with self.lock:
                known_reads = stored.reads.setdefault(name, [])
                if names not in known_reads:
                    known_reads.append(names)
                stored.costs[(name, sent, names, _values(variables, names))] = cost
        return cost

    def forget(self, sha256: str) -> None:
        with self.lock:
            self.entries.pop(sha256, None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def _values(variables: dict[str, Any] | None, names: tuple[str, ...]) -> str:
    """The values of ``names`` in ``variables``, as one comparable string (absent and null differ)."""
    present = variables or {}
    return json.dumps([[name in present, present.get(name)] for name in names], sort_keys=True, default=str)


store = DocumentStore()
