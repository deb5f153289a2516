"""Slow clients cannot take the workers (issue 9, class 4): the production stack buffers requests first.

Against gunicorn alone (gthread), 30 sockets dribbling headers and 8 dribbling a
declared 100 KB body, one byte at a time, held every worker thread, and a valid
key's requests went unanswered for as long as they lasted. The same attack runs
here against the stack ``make serve`` starts (real processes, real sockets, the
loopback only) while a valid key asks ``{ __typename }`` on fresh connections:
every answer must come, and quickly.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from access.services import api_key_create
from tests.ops.live import production_server

pytestmark = pytest.mark.postgres_only

SLOW_HEADER_SOCKETS = 30
SLOW_BODY_SOCKETS = 8
DECLARED_BODY = 100 * 1024
DRIP_INTERVAL = 0.25  # seconds between two bytes on each slow socket
ATTACK_SECONDS = 6.0
ANSWER_WITHIN = 2.0  # seconds, for each of the valid key's requests


@contextmanager
def slowloris(host: str, port: int, token: str) -> Iterator[list[socket.socket]]:
    """Opens the slow sockets and drips one byte into each every DRIP_INTERVAL until the block ends.

    The slow bodies carry the valid key: authentication passes before the body is
    read, so each one would hold a thread that has already done work, the worst case.
    """
    opened: list[socket.socket] = []
    stop = threading.Event()
    with ExitStack() as closing:
        for i in range(SLOW_HEADER_SOCKETS):
            sock = closing.enter_context(socket.create_connection((host, port), timeout=5))
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-%d: " % i)
            opened.append(sock)
        head = (
            f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {DECLARED_BODY}\r\n\r\n{{"
        ).encode()
        for _ in range(SLOW_BODY_SOCKETS):
            sock = closing.enter_context(socket.create_connection((host, port), timeout=5))
            sock.sendall(head)
            opened.append(sock)

        def drip() -> None:
            while not stop.wait(DRIP_INTERVAL):
                for sock in opened:
                    with contextlib.suppress(OSError):  # the server hung up on this one: its right
                        sock.send(b" ")

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        try:
            yield opened
        finally:
            stop.set()
            dripper.join(timeout=5)


def typename(host: str, port: int, token: str) -> tuple[int, bytes, float]:
    """One ``{ __typename }`` on a new connection: status, body, seconds it took."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, port, timeout=ANSWER_WITHIN + 3)
    try:
        connection.request(
            "POST",
            "/graphql",
            json.dumps({"query": "{ __typename }"}),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, response.read(), time.monotonic() - started
    except OSError as error:  # a timeout: the server never answered
        return 0, repr(error).encode(), time.monotonic() - started
    finally:
        connection.close()


def test_slow_headers_and_bodies_do_not_starve_a_valid_keys_requests(transactional_db: None) -> None:
    user = get_user_model().objects.create_user("slow-clients-probe", password="unused-Pa55word")
    _, token = api_key_create(user=user)

    with production_server("slow-clients") as server:
        url = urlsplit(server.url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        assert typename(host, port, token)[0] == 200  # warm: both workers imported the app

        with slowloris(host, port, token):
            time.sleep(1.0)  # every slow socket is connected and dripping
            answers = []
            deadline = time.monotonic() + ATTACK_SECONDS
            while time.monotonic() < deadline:
                answers.append(typename(host, port, token))
                time.sleep(0.2)

    assert len(answers) >= 10, answers
    slow = [(status, round(seconds, 2)) for status, _, seconds in answers if status != 200 or seconds >= ANSWER_WITHIN]
    assert not slow, f"answers that failed or took {ANSWER_WITHIN} s or more during the attack: {slow}"
    assert all(json.loads(body)["data"] == {"__typename": "Query"} for _, body, _ in answers)
