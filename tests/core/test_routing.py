"""ReplicaRouter: the standby serves flagged reads only; writes, transactions and the rest stay on the primary.

The settings are the real ones, loaded in a fresh process with DATABASE_REPLICA_URL set
(the router is installed only then). Both aliases point at the test database, told
apart by their connection's application_name, which PostgreSQL reports back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.db import connections, transaction
from accounts.models import Account
from core.routing import ReplicaRouter, reads_from_replica

def served_by(read):
    # Which server connection ran the ORM query: the alias whose session ran it.
    before = {alias: len(connections[alias].queries) for alias in ("default", "replica")}
    read()
    return [alias for alias in ("default", "replica") if len(connections[alias].queries) > before[alias]]

for alias in ("default", "replica"):
    connections[alias].force_debug_cursor = True

count = lambda: Account.objects.count()
result = {"outside": served_by(count)}
with reads_from_replica():
    result["flagged"] = served_by(count)
    with transaction.atomic():
        result["flagged_in_transaction"] = served_by(count)
    account = Account.objects.get(pk=0)
    result["instance_db"] = account._state.db
    with reads_from_replica(False):
        result["flag_turned_off"] = served_by(count)
result["after"] = served_by(count)
# An instance read on the standby does not pull its relations from it once the flag is gone.
result["relation_after"] = served_by(lambda: list(account.sent_transactions.all()[:1]))
result["write_to"] = ReplicaRouter().db_for_write(Account, instance=account)
result["migrate"] = {alias: ReplicaRouter().allow_migrate(alias, "accounts") for alias in ("default", "replica")}
with connections["replica"].cursor() as cursor:
    cursor.execute("SELECT current_setting('application_name')")
    result["replica_session"] = cursor.fetchone()[0]
print(json.dumps(result))
"""


@pytest.mark.usefixtures("live_db")
def test_only_flagged_reads_outside_a_transaction_go_to_the_replica() -> None:
    real = connection.settings_dict
    base = f"postgres://{real['USER']}@{real['HOST']}:{real['PORT']}/{real['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ledger_project.settings",
        "SECRET_KEY": "test-only-not-secret",
        "DATABASE_URL": f"{base}?application_name=ledger-primary",
        "DATABASE_REPLICA_URL": f"{base}?application_name=ledger-replica",
    }
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["outside"] == ["default"]
    assert result["flagged"] == ["replica"]
    assert result["flagged_in_transaction"] == ["default"]
    assert result["instance_db"] == "replica"
    assert result["flag_turned_off"] == ["default"]
    assert result["after"] == ["default"]
    assert result["relation_after"] == ["default"]
    assert result["write_to"] == "default"
    assert result["migrate"] == {"default": True, "replica": False}
    assert result["replica_session"] == "ledger-replica"


def test_without_a_replica_alias_the_flag_changes_nothing() -> None:
    from accounts.models import Account
    from core.routing import ReplicaRouter, reads_from_replica, replica_reads_enabled

    with reads_from_replica():
        assert not replica_reads_enabled()
        assert ReplicaRouter().db_for_read(Account) == "default"
