"""The admin's list pages read the standby when safe; everything else, and every write, the primary.

As in test_read_after.py: a fresh process with DATABASE_REPLICA_URL set, both
aliases on the test database, told apart by which alias's session read the
listed table.
"""

from __future__ import annotations

import pytest

from tests.core.replica_probe import run_probe

PROBE = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

staff = User.objects.create_superuser("probe-admin-reads", password="x")
for alias in ("default", "replica"):
    connections[alias].force_debug_cursor = True
client = Client()
client.force_login(staff)

def readers(response, table, marker=""):
    # marker: the list's COUNT(*), not the session's user lookup that every request makes on the primary
    assert response.status_code in (200, 302), response.status_code
    found = [
        alias for alias in ("default", "replica")
        if any(f'"{table}"' in q["sql"] and marker in q["sql"] for q in connections[alias].queries)
    ]
    for alias in ("default", "replica"):
        connections[alias].queries_log.clear()
    return found

result = {}
result["list_before"] = readers(client.get("/admin/auth/user/", secure=True), "auth_user", "COUNT(*)")
result["change_form"] = readers(client.get(f"/admin/auth/user/{staff.pk}/change/", secure=True), "auth_user")
added = client.post(
    "/admin/auth/user/add/",
    {"username": "added-by-staff", "password1": "a-long-pass-phrase-1", "password2": "a-long-pass-phrase-1",
     "usable_password": "true"},
    secure=True,
)
result["add_status"] = added.status_code
result["add"] = readers(added, "auth_user", "INSERT")
result["token"] = client.session.get("ledger_read_after")
listed = client.get("/admin/auth/user/", secure=True)
result["list_after"] = readers(listed, "auth_user", "COUNT(*)")
result["own_write_listed"] = b"added-by-staff" in listed.content
print(json.dumps(result))
"""


def probe(**env: str) -> dict[str, object]:
    return run_probe(PROBE, **env)


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_list_pages_read_the_standby_change_forms_and_writes_the_primary() -> None:
    result = probe()
    assert result["list_before"] == ["replica"]
    assert result["change_form"] == ["default"]
    assert result["add_status"] == 302  # saved, redirected
    assert result["add"] == ["default"]  # a POST reads and writes the primary
    assert isinstance(result["token"], str) and "/" in result["token"]  # the commit position of the write
    assert result["list_after"] == ["replica"]  # the token was replayed there (the same server)
    assert result["own_write_listed"] is True


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_list_pages_read_the_primary_when_the_standby_lags_and_no_write_of_theirs_is_replayed() -> None:
    result = probe(LEDGER_REPLICA_MAX_LAG_MS="0")  # no lag is under 0 ms
    assert result["list_before"] == ["default"]
    assert result["list_after"] == ["replica"]  # with a token the position is checked, not the lag
