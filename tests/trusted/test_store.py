"""trusted-documents.md, The store: import_documents and its checks, the admin (list, usage, revoke), key flag."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from access.models import ApiKey
from audit.models import AuditEvent
from tests.trusted.conftest import ACCOUNTS, TRANSFER, stored
from trusted.models import TrustedDocument, document_hash
from trusted.store import store

pytestmark = pytest.mark.django_db


def relay_file(tmp_path: Path, entries: dict[str, str]) -> Path:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(entries))
    return path


def apollo_manifest(tmp_path: Path, texts: list[str]) -> Path:
    path = tmp_path / "persisted-query-manifest.json"
    operations = [
        {"id": document_hash(text), "name": f"Op{i}", "type": "query", "body": text} for i, text in enumerate(texts)
    ]
    path.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}))
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_documents", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_reads_relay_compilers_file_and_prints_what_it_added(tmp_path: Path) -> None:
    path = relay_file(tmp_path, {document_hash(text): text for text in (ACCOUNTS, TRANSFER)})
    out, _ = run(str(path), "--client", "mobile-1.4")
    assert {(d.sha256, d.text, d.client) for d in TrustedDocument.objects.all()} == {
        (document_hash(ACCOUNTS), ACCOUNTS, "mobile-1.4"),
        (document_hash(TRANSFER), TRANSFER, "mobile-1.4"),
    }
    assert f"added sha256:{document_hash(ACCOUNTS)}" in out and f"added sha256:{document_hash(TRANSFER)}" in out
    assert "2 added, 0 already stored" in out
    assert AuditEvent.objects.filter(action="importDocuments").count() == 1


def test_import_reads_an_apollo_manifest(tmp_path: Path) -> None:
    out, _ = run(str(apollo_manifest(tmp_path, [ACCOUNTS])), "--client", "web")
    assert TrustedDocument.objects.get().sha256 == document_hash(ACCOUNTS)
    assert "1 added" in out


def test_importing_the_same_file_twice_adds_nothing(tmp_path: Path) -> None:
    path = relay_file(tmp_path, {document_hash(ACCOUNTS): ACCOUNTS})
    run(str(path), "--client", "web")
    out, _ = run(str(path), "--client", "web")
    assert TrustedDocument.objects.count() == 1
    assert "0 added, 1 already stored" in out and "added sha256" not in out


def test_import_refuses_an_entry_whose_hash_is_not_its_texts_and_adds_nothing(tmp_path: Path) -> None:
    path = relay_file(tmp_path, {document_hash(ACCOUNTS): ACCOUNTS, document_hash("{ other }"): TRANSFER})
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 refused: nothing imported"):
        call_command("import_documents", str(path), "--client", "web", stdout=io.StringIO(), stderr=err)
    assert "not the SHA-256 of its text" in err.getvalue()
    assert not TrustedDocument.objects.exists()


def test_import_refuses_a_text_that_does_not_validate_against_the_schema(tmp_path: Path) -> None:
    bad = "query Old { accounts(first: 1) { edges { node { nickname } } } }"
    path = apollo_manifest(tmp_path, [ACCOUNTS, bad])
    err = io.StringIO()
    with pytest.raises(CommandError, match="refused"):
        call_command("import_documents", str(path), "--client", "web", stdout=io.StringIO(), stderr=err)
    assert "nickname" in err.getvalue()
    assert not TrustedDocument.objects.exists()


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[1, 2]", b'{"abc": 3}', b'{"format": "apollo-persisted-query-manifest", "version": 2}'],
)
def test_import_refuses_a_file_of_neither_format(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(content)
    with pytest.raises(CommandError):
        run(str(path), "--client", "web")
    assert not TrustedDocument.objects.exists()


def test_import_leaves_a_revoked_document_revoked(tmp_path: Path) -> None:
    document = stored(ACCOUNTS)
    TrustedDocument.objects.filter(pk=document.pk).update(revoked_at="2026-01-01T00:00:00Z")
    _, err = run(str(relay_file(tmp_path, {document.sha256: ACCOUNTS})), "--client", "web")
    document.refresh_from_db()
    assert document.revoked_at is not None and "left revoked" in err


# --- the admin -----------------------------------------------------------------------------------------------


@pytest.fixture
def staff(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def test_the_admin_lists_documents_with_their_usage(staff: Client, api: Any) -> None:
    document = stored(ACCOUNTS, client="mobile-1.4")
    for _ in range(3):
        api.post_raw(json.dumps({"doc_id": document.sha256}))
    store.flush()
    page = staff.get("/admin/trusted/trusteddocument/").content.decode()
    assert "query Accounts" in page and "mobile-1.4" in page
    assert '<td class="field-use_count">3</td>' in page


def test_the_admin_revokes_and_the_document_is_refused(
    staff: Client, api: Any, django_capture_on_commit_callbacks: Any
) -> None:
    document = stored(ACCOUNTS)
    assert "errors" not in api.post_raw(json.dumps({"doc_id": document.sha256})).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/trusted/trusteddocument/", {"action": "revoke", "_selected_action": [document.pk]}
        )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.revoked_at is not None
    assert AuditEvent.objects.filter(action="revokeDocument").count() == 1
    body = api.post_raw(json.dumps({"doc_id": document.sha256})).json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["PERSISTED_QUERY_NOT_ALLOWED"]


def test_the_admin_neither_adds_nor_deletes_documents(staff: Client) -> None:
    document = stored(ACCOUNTS)
    assert staff.get("/admin/trusted/trusteddocument/add/").status_code == 403
    assert staff.get(f"/admin/trusted/trusteddocument/{document.pk}/delete/").status_code == 403


# --- the key flag ----------------------------------------------------------------------------------------------


def test_create_api_key_any_document_makes_a_key_that_may_send_text(superuser: User) -> None:
    out = io.StringIO()
    call_command("create_api_key", "bank", "--any-document", stdout=out, stderr=io.StringIO())
    call_command("create_api_key", "bank", stdout=io.StringIO(), stderr=io.StringIO())
    assert list(ApiKey.objects.order_by("pk").values_list("any_document", flat=True)) == [True, False]
