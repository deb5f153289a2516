"""The writes of the document store: register (Apollo's hash-plus-text), import (a build's manifest), revoke."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_event_record
from trusted.models import SHA256_HEX, TrustedDocument, document_hash

CLIENT_NAME_LENGTH = 100


def validation_errors(text: str) -> list[str]:
    """The API's parse and validation errors for ``text`` (its depth rule included); [] when it is valid."""
    from graphene_django.settings import graphene_settings

    from core.graphql.documents import DocumentCache
    from ledger_project.views import LedgerGraphQLView  # the view's own rules: a stored document must pass them

    schema = graphene_settings.SCHEMA.graphql_schema
    outcome = DocumentCache.compile(schema, text, tuple(LedgerGraphQLView.validation_rules))
    return [error.message for error in outcome.errors]


def document_register(*, text: str, client: str) -> bool:
    """Stores ``text`` under its hash unless stored already; False (nothing stored) when it does not validate."""
    if validation_errors(text):
        return False
    try:
        with transaction.atomic():
            TrustedDocument.objects.get_or_create(
                sha256=document_hash(text), defaults={"text": text, "client": client[:CLIENT_NAME_LENGTH]}
            )
    except IntegrityError:  # registered at the same moment by another request: it is stored either way
        pass
    return True


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)  # already stored and revoked: left revoked
    refused: list[str] = field(default_factory=list)  # one line per refused entry; any refusal adds nothing


def documents_import(*, entries: list[tuple[str, str]], client: str, actor: Any = None) -> ImportReport:
    """Adds a build's documents, all or none: every entry's hash must be its text's SHA-256 and its text valid.

    An entry already stored is left as it is (importing the same file twice
    adds nothing; a revoked document stays revoked).
    """
    report = ImportReport()
    for sha256, text in entries:
        if not SHA256_HEX.fullmatch(sha256):
            report.refused.append(f"{sha256!r}: not a SHA-256 in lower-case hex")
        elif document_hash(text) != sha256:
            report.refused.append(f"{sha256}: not the SHA-256 of its text (that is {document_hash(text)})")
        else:
            report.refused += [f"{sha256}: {message}" for message in validation_errors(text)]
    if report.refused:
        return report
    with transaction.atomic():
        hashes = [sha256 for sha256, _ in entries]
        known = dict(TrustedDocument.objects.filter(sha256__in=hashes).values_list("sha256", "revoked_at"))
        new = {}
        for sha256, text in entries:
            if sha256 in known:
                (report.revoked if known[sha256] else report.present).append(sha256)
            elif sha256 not in new:
                new[sha256] = TrustedDocument(sha256=sha256, text=text, client=client[:CLIENT_NAME_LENGTH])
        TrustedDocument.objects.bulk_create(new.values())
        report.added = list(new)
        audit_event_record(
            actor=actor,
            action="importDocuments",
            outcome="OK",
            payload={"client": client, "added": len(report.added), "present": len(report.present)},
        )
    return report


@transaction.atomic
def document_revoke(*, document: TrustedDocument, actor: Any = None) -> bool:
    """Revokes the document (every process refuses it within ``LEDGER_DOCUMENTS_RECHECK_SECONDS``, this one at once)."""
    from trusted.store import store

    revoked = TrustedDocument.objects.filter(pk=document.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    document.refresh_from_db(fields=["revoked_at"])
    transaction.on_commit(lambda: store.forget(document.sha256))
    if revoked:
        audit_event_record(
            actor=actor, action="revokeDocument", outcome="OK", about=document, payload={"sha256": document.sha256}
        )
    return bool(revoked)
