"""``/metrics``: protected, multiprocess-aware, with the ledger's series and the settlement lag."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from access.services import api_key_create
from tests.factories import make_account
from tests.ops.support import PYTHON, ROOT, clean_env
from transactions.models import Transaction
from transactions.services import TransferSpec, transactions_settle_due, transfer_create


def scrape(client: Client, remote_addr: str = "127.0.0.1") -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", REMOTE_ADDR=remote_addr)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    families: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families


def transfer(sender: int, receiver: int, amount: int, kind: str) -> Transaction:
    result = transfer_create(spec=TransferSpec(sender_id=sender, receiver_id=receiver, amount=amount, type=kind))
    assert result.transaction is not None
    return result.transaction


@pytest.mark.django_db
def test_metrics_are_hidden_from_addresses_not_allowed(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    with override_settings(LEDGER_METRICS_ALLOWED_IPS=["10.0.0.0/8"]):
        assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


@pytest.mark.django_db
@override_settings(LEDGER_METRICS_ENABLED=False)
def test_metrics_can_be_switched_off(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


@pytest.mark.django_db
def test_metrics_answer_get_only(client: Client) -> None:
    assert client.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


@pytest.mark.django_db
def test_after_a_few_transfers_the_ledger_series_are_exposed(client: Client, settlement: object) -> None:
    before = scrape(client)["ledger_transfers"]
    key = ("ledger_transfers_total", (("outcome", "COMPLETED"), ("type", "PIX")))
    alice, bob = make_account(100_000), make_account()
    for _ in range(3):
        transfer(alice.pk, bob.pk, 1_000, "PIX")
    transfer(alice.pk, bob.pk, 1_000, "TED")
    transactions_settle_due()

    families = scrape(client)
    assert families["ledger_transfers"][key] - before.get(key, 0) == 3
    assert ("ledger_settled_total", ()) in families["ledger_settled"]
    # Declared series appear with their HELP and TYPE even before their first sample.
    assert "ledger_db_retries" in families
    assert "ledger_graphql_request_seconds" in families
    assert families["ledger_settlement_lag_seconds"][("ledger_settlement_lag_seconds", ())] == 0
    assert families["ledger_settlement_due_transactions"][("ledger_settlement_due_transactions", ())] == 0


@pytest.mark.django_db
def test_graphql_requests_are_timed_by_operation(client: Client, settlement: object, settings: object) -> None:
    settings.SECURE_SSL_REDIRECT = False  # type: ignore[attr-defined]
    user = get_user_model().objects.create_superuser("metrics-reader", password="x")
    _, token = api_key_create(user=user)
    response = client.post(
        "/graphql",
        json.dumps(
            {"query": "query TopAccounts { accounts(first: 1) { totalCount } }", "operationName": "TopAccounts"}
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    histogram = scrape(client)["ledger_graphql_request_seconds"]
    key = ("ledger_graphql_request_seconds_count", (("operation", "TopAccounts"), ("operation_type", "query")))
    assert histogram[key] >= 1


@pytest.mark.django_db
def test_settlement_lag_is_the_age_of_the_oldest_due_pending_transaction(client: Client, settlement: object) -> None:
    alice, bob = make_account(100_000), make_account()
    oldest = transfer(alice.pk, bob.pk, 1_000, "TED")
    transfer(alice.pk, bob.pk, 1_000, "DOC")
    later = transfer(alice.pk, bob.pk, 1_000, "TED")
    now = timezone.now()
    Transaction.objects.filter(pk=oldest.pk).update(due_at=now - timedelta(seconds=120))
    Transaction.objects.filter(pk=later.pk).update(due_at=now + timedelta(hours=1))  # not due yet

    families = scrape(client)
    lag = families["ledger_settlement_lag_seconds"][("ledger_settlement_lag_seconds", ())]
    assert 120 <= lag < 180
    assert families["ledger_settlement_due_transactions"][("ledger_settlement_due_transactions", ())] == 2

    transactions_settle_due()
    families = scrape(client)
    assert families["ledger_settlement_lag_seconds"][("ledger_settlement_lag_seconds", ())] == 0
    assert families["ledger_settlement_due_transactions"][("ledger_settlement_due_transactions", ())] == 0


@pytest.mark.django_db
def test_openmetrics_is_served_when_asked_for(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers={"Accept": "application/openmetrics-text"})
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


_COUNT_IN_CHILD = """
import django
django.setup()
from core import metrics
metrics.TRANSFERS.labels("PIX", "COMPLETED").inc({n})
"""
_SCRAPE = """
import django
django.setup()
from prometheus_client import generate_latest
from ledger_project.metrics import build_registry
import ledger_project.metrics as m
m.SettlementQueueCollector.collect = lambda self: iter(())  # no database in this child
print(generate_latest(build_registry()).decode())
"""


def test_multiprocess_mode_sums_every_workers_counters(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = clean_env(
        DJANGO_SETTINGS_MODULE="ledger_project.settings",
        DEBUG="false",
        SECRET_KEY="k" * 50,
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    )
    for n in (2, 5):  # two "workers", each its own process
        subprocess.run([PYTHON, "-c", _COUNT_IN_CHILD.format(n=n)], cwd=ROOT, env=env, check=True, timeout=60)
    out = subprocess.run(
        [PYTHON, "-c", _SCRAPE], cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert 'ledger_transfers_total{outcome="COMPLETED",type="PIX"} 7.0' in out


METRICS_TOKEN = "scrape-" + "t0ken" * 8


@pytest.mark.django_db
@override_settings(LEDGER_METRICS_TOKEN=METRICS_TOKEN)
def test_with_a_token_set_only_the_bearer_token_scrapes_whatever_the_address(client: Client) -> None:
    # Behind a proxy every request has the proxy's address: the allow-list is not consulted.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    for wrong in (
        f"Basic {METRICS_TOKEN}",
        f"Bearer {METRICS_TOKEN[:-1]}",
        f"Bearer {METRICS_TOKEN}x",
        "Bearer ",
        METRICS_TOKEN,
    ):
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers={"Authorization": wrong})
        assert response.status_code == 404, wrong
    for right in (f"Bearer {METRICS_TOKEN}", f"bearer  {METRICS_TOKEN} "):
        response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", headers={"Authorization": right})
        assert response.status_code == 200, right
        assert b"ledger_settlement_lag_seconds" in response.content


@pytest.mark.django_db
@override_settings(LEDGER_METRICS_TOKEN=METRICS_TOKEN, LEDGER_METRICS_ENABLED=False)
def test_switched_off_metrics_stay_off_with_the_token(client: Client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 404
