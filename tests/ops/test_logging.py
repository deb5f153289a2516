"""Logs: JSON lines with the request ID in production, and money operations' IDs and outcomes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from core.context import reset_request_id, set_request_id
from core.logging import JsonFormatter, PlainFormatter, RequestIdFilter
from tests.factories import make_account
from transactions.services import TransferSpec, transfer_create


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Captures the ``ledger`` loggers through the production formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ledger")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_one_json_object_with_the_request_id_and_extra_fields(json_lines: io.StringIO) -> None:
    token = set_request_id("req-abc")
    try:
        logging.getLogger("ledger.money").info("transfer", extra={"transaction_id": 7, "outcome": "COMPLETED"})
    finally:
        reset_request_id(token)
    (line,) = records(json_lines)
    assert line["request_id"] == "req-abc"
    assert line["message"] == "transfer"
    assert line["level"] == "INFO"
    assert line["logger"] == "ledger.money"
    assert (line["transaction_id"], line["outcome"]) == (7, "COMPLETED")
    assert line["time"].endswith("+00:00")


def test_exceptions_stay_on_one_line(json_lines: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("ledger.test").exception("failed")
    (line,) = records(json_lines)
    assert "RuntimeError: boom" in line["exception"]
    assert len(json_lines.getvalue().strip().splitlines()) == 1


@pytest.mark.django_db
def test_a_transfer_logs_its_transaction_id_type_and_outcome(settlement: object, json_lines: io.StringIO) -> None:
    sender, receiver = make_account(10_000), make_account()
    json_lines.truncate(0)
    json_lines.seek(0)
    token = set_request_id("req-transfer")
    try:
        result = transfer_create(
            spec=TransferSpec(sender_id=sender.pk, receiver_id=receiver.pk, amount=2_500, type="PIX"), actor=None
        )
    finally:
        reset_request_id(token)
    assert result.transaction is not None
    lines = [line for line in records(json_lines) if line["message"] == "transfer"]
    assert lines, json_lines.getvalue()
    line = lines[-1]
    assert line["transaction_id"] == result.transaction.pk
    assert line["type"] == "PIX"
    assert line["outcome"] == "COMPLETED"
    assert line["request_id"] == "req-transfer"


def test_gunicorn_access_lines_become_fields_with_the_responses_request_id() -> None:
    atoms = {
        "m": "POST",
        "U": "/graphql",
        "q": "",
        "s": "200",
        "B": 512,
        "h": "10.0.0.1",
        "a": "curl/8",
        "D": 12_345,
        "{x-request-id}o": "0123abcd",
    }
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(m)s %(U)s", atoms, None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "POST /graphql"
    assert line["request_id"] == "0123abcd"
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == ("POST", "/graphql", 200, 12.345)


def test_development_lines_are_plain_text_with_the_extras() -> None:
    record = logging.LogRecord("ledger.money", logging.INFO, __file__, 1, "transfer", None, None)
    record.transaction_id = 9
    record.outcome = "PENDING"
    token = set_request_id("req-dev")
    try:
        text = PlainFormatter().format(record)
    finally:
        reset_request_id(token)
    assert "INFO [req-dev] ledger.money: transfer transaction_id=9 outcome=PENDING" in text
    assert not text.lstrip().startswith("{")
