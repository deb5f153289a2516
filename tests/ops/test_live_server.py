"""What production serving does end to end: gunicorn, several workers, JSON access logs, /metrics."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import ensure_settlement_account
from tests.factories import make_account
from tests.ops.live import gunicorn_server
from transactions.services import TransferSpec, transfer_create

pytestmark = pytest.mark.postgres_only


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def test_gunicorn_serves_the_app_with_json_access_logs_and_aggregated_metrics(transactional_db: None) -> None:
    ensure_settlement_account()
    alice, bob = make_account(100_000), make_account()
    transfer_create(spec=TransferSpec(sender_id=alice.pk, receiver_id=bob.pk, amount=100, type="TED"))

    with gunicorn_server("ops-live") as server:
        status, headers, _ = get(server.url + "/admin/login/?from=ops-test")
        assert status == 200
        for _ in range(6):  # spread over both workers
            get(server.url + "/static/admin/css/base.css")
        status, _, body = get(server.url + "/metrics")
        assert status == 200
        text = body.decode()
        log = server.log_text()

    assert "ledger_settlement_lag_seconds" in text
    assert "ledger_settlement_due_transactions 1.0" in text
    access = [json.loads(line) for line in log.splitlines() if '"gunicorn.access"' in line]
    assert access, log
    login = next(line for line in access if line["query"] == "from=ops-test")
    assert (login["method"], login["path"], login["status"]) == ("GET", "/admin/login/", 200)
    assert isinstance(login["duration_ms"], float)
    # The request-ID middleware's header and the access line carry the same ID.
    assert headers["X-Request-ID"]
    assert login["request_id"] == headers["X-Request-ID"]
