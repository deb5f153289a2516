"""The one place a GraphQL request's document is decided: by hash or by text, and whether the mode lets it run.

Every GraphQL request passes ``admit_document`` (the HTTP view calls it while
reading the request's parameters, before anything is parsed or run), so the
mode (``LEDGER_DOCUMENTS``) is checked here and nowhere else:

- ``open`` (the default): text runs as it always has; a document named by
  hash runs when stored, else ``PERSISTED_QUERY_NOT_FOUND``; Apollo's
  hash-plus-text registers the text (when the hash is its SHA-256, else
  ``BAD_REQUEST``) and runs it.
- ``trusted``: only stored, unrevoked documents run, named by hash or sent as
  their exact text; other text answers ``PERSISTED_QUERY_NOT_ALLOWED`` and
  nothing registers. A key made with ``--any-document`` may still send text.

A revoked document is refused by hash in both modes (``PERSISTED_QUERY_NOT_ALLOWED``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from core.graphql import errors as codes
from ledger_project.graphql_http import GRAPHQL_RESPONSE_JSON, HttpProblem
from trusted.models import SHA256_HEX, document_hash
from trusted.services import document_register
from trusted.store import Stored, store

OPEN, TRUSTED = "open", "trusted"
MODES = (OPEN, TRUSTED)
DOCUMENT_ID_PREFIX = "sha256:"


@dataclass(frozen=True)
class Named:
    """What a request sent: the hash it names (any of the three forms), the text it carries, either or both."""

    sha256: str | None
    text: str | None
    form: str  # documentId, doc_id, persistedQuery, or query


def request_fields(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """The request's document fields: from the JSON body (POST) or the URL (GET, ``extensions`` as JSON)."""
    if request.method != "GET":
        return data
    fields: dict[str, Any] = {key: request.GET.get(key) for key in ("query", "documentId", "doc_id")}
    extensions = request.GET.get("extensions")
    if extensions:
        try:
            fields["extensions"] = json.loads(extensions)
        except (ValueError, RecursionError):
            raise HttpProblem(400, codes.BAD_REQUEST, "`extensions` is not valid JSON.") from None
    return fields


def named_document(fields: dict[str, Any]) -> Named:
    """The hash and text a request sent, each form's shape checked (400 ``BAD_REQUEST`` when wrong)."""
    text = fields.get("query")
    if text is not None and not isinstance(text, str):
        raise HttpProblem(400, codes.BAD_REQUEST, "`query` must be a string.")
    text = text if text and text.strip() else None
    named: list[tuple[str, str]] = []
    document_id = fields.get("documentId")
    if document_id is not None:
        if not (isinstance(document_id, str) and document_id.startswith(DOCUMENT_ID_PREFIX)):
            raise HttpProblem(400, codes.BAD_REQUEST, "`documentId` must be `sha256:` and 64 lower-case hex digits.")
        named.append(("documentId", _hex(document_id[len(DOCUMENT_ID_PREFIX) :], "documentId")))
    doc_id = fields.get("doc_id")
    if doc_id is not None:
        named.append(("doc_id", _hex(doc_id, "doc_id")))
    extensions = fields.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is not None:
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise HttpProblem(400, codes.BAD_REQUEST, "`extensions.persistedQuery` must have `version: 1`.")
        named.append(("persistedQuery", _hex(persisted.get("sha256Hash"), "extensions.persistedQuery.sha256Hash")))
    if len({sha for _, sha in named}) > 1:
        raise HttpProblem(400, codes.BAD_REQUEST, "The request names two different documents.")
    if not named:
        return Named(None, text, "query")
    form, sha256 = named[0]
    if text is not None and form != "persistedQuery":
        raise HttpProblem(400, codes.BAD_REQUEST, f"Send `{form}` or `query`, not both.")
    return Named(sha256, text, form)


def _hex(value: Any, name: str) -> str:
    if not (isinstance(value, str) and SHA256_HEX.fullmatch(value)):
        raise HttpProblem(400, codes.BAD_REQUEST, f"`{name}` must be a SHA-256 in 64 lower-case hex digits.")
    return value


def admit_document(request: HttpRequest, data: dict[str, Any], media: str) -> tuple[str, Stored | None]:
    """The text to run and its stored document (None: a text this mode runs unstored), or the refusal.

    A refusal runs nothing: ``HttpProblem`` answers before parsing.
    """
    named = named_document(request_fields(request, data))
    trusted = settings.LEDGER_DOCUMENTS == TRUSTED
    key = getattr(request, "api_key", None)
    any_text = not trusted or bool(key is not None and key.any_document)
    if named.sha256 is None:
        return _by_text(named, any_text, media)
    return _by_hash(named, trusted, any_text, media)


def _by_text(named: Named, any_text: bool, media: str) -> tuple[str, Stored | None]:
    if named.text is None:
        raise HttpProblem(400, codes.BAD_REQUEST, "A GraphQL request needs a `query` string or a `documentId`.")
    if any_text:
        return named.text, None
    stored = store.lookup(document_hash(named.text))
    if stored is None or stored.revoked:
        raise not_allowed(media, "This API runs only its trusted documents: name one by its `documentId`.")
    return _used(stored)


def _by_hash(named: Named, trusted: bool, any_text: bool, media: str) -> tuple[str, Stored | None]:
    assert named.sha256 is not None
    if named.text is not None and document_hash(named.text) != named.sha256:
        raise HttpProblem(400, codes.BAD_REQUEST, "`sha256Hash` is not the SHA-256 of `query`.")
    stored = store.lookup(named.sha256)
    if stored is None and named.text is not None:
        if trusted and not any_text:
            raise not_allowed(media, "This API runs only its trusted documents; it registers none from requests.")
        if trusted:  # a key that may send any text: it runs, and registers nothing
            return named.text, None
        if not document_register(text=named.text, client="apq"):
            return named.text, None  # it does not validate: the text path answers its errors
        stored = store.lookup(named.sha256)
    if stored is None:
        raise problem(
            media, 400, codes.PERSISTED_QUERY_NOT_FOUND, f"PersistedQueryNotFound: no document sha256:{named.sha256}."
        )
    if stored.revoked:
        raise not_allowed(media, f"Document sha256:{named.sha256} is revoked.")
    return _used(stored)


def _used(stored: Stored) -> tuple[str, Stored]:
    store.used(stored)
    return stored.text, stored


def not_allowed(media: str, message: str) -> HttpProblem:
    return problem(media, 403, codes.PERSISTED_QUERY_NOT_ALLOWED, message)


def problem(media: str, status: int, code: str, message: str) -> HttpProblem:
    """A request error: ``status`` under application/graphql-response+json, 200 under application/json."""
    return HttpProblem(status if media == GRAPHQL_RESPONSE_JSON else 200, code, message)
