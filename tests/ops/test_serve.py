"""``make serve`` and the image's command: nginx in front of granian, or gunicorn (ledger_project/serve.py).

The config the launcher writes, then the stack running as production runs it:
timeouts and the body cap at the proxy, the request ID in the access log,
the client's address (never a header the client wrote), /metrics summed across
workers, a graceful stop that finishes what it holds, and a stop of everything
when one half dies.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from access.services import api_key_create
from ledger_project import serve
from ledger_project.proxied import client_address
from tests.ops.live import free_port, nginx_binary, production_server
from tests.ops.support import BIN, ROOT, clean_env

# --- The config ------------------------------------------------------------------------


def test_timeouts_and_sizes_come_from_the_environment() -> None:
    config = serve.ServeConfig.from_env(
        {
            "HOST": "0.0.0.0",
            "PORT": "9001",
            "NGINX_CLIENT_HEADER_TIMEOUT": "7",
            "NGINX_CLIENT_BODY_TIMEOUT": "8",
            "NGINX_SEND_TIMEOUT": "9",
            "NGINX_KEEPALIVE_TIMEOUT": "11",
            "NGINX_PROXY_TIMEOUT": "12",
            "NGINX_WORKERS": "3",
            "NGINX_WORKER_CONNECTIONS": "999",
            "GUNICORN_GRACEFUL_TIMEOUT": "13",
        }
    )
    text = serve.render_nginx_conf(config, Path("/run/x"), Path("/run/x/app.sock"))
    for line in (
        "listen 0.0.0.0:9001;",
        "client_header_timeout 7s;",
        "client_body_timeout 8s;",
        "send_timeout 9s;",
        "keepalive_timeout 11s;",
        "proxy_read_timeout 12s;",
        "worker_processes 3;",
        "worker_connections 999;",
        "worker_shutdown_timeout 13s;",
        "server unix:/run/x/app.sock;",
    ):
        assert line in text, line


def _flags(command: list[str]) -> dict[str, str]:
    """Each ``--option value`` of a command line; a bare ``--flag`` has no entry."""
    return {name: value for name, value in itertools.pairwise(command) if name.startswith("--") and value[:2] != "--"}


def test_granian_is_the_default_app_server_with_every_setting_explicit(tmp_path: Path) -> None:
    config = serve.ServeConfig.from_env(
        {
            "GRANIAN_WORKERS": "3",
            "GRANIAN_BLOCKING_THREADS": "6",
            "GRANIAN_HTTP1_HEADER_READ_TIMEOUT": "20000",
            "GUNICORN_GRACEFUL_TIMEOUT": "13",
        }
    )
    assert config.app_server == "granian"
    command = serve.app_command(config, tmp_path / "app.sock")
    flags = _flags(command)
    assert command[1:5] == ["-m", "granian", "--interface", "wsgi"]
    assert command[-1] == "ledger_project.proxied:application"
    assert flags["--uds"] == str(tmp_path / "app.sock") and flags["--uds-permissions"] == "600"
    assert (flags["--workers"], flags["--blocking-threads"]) == ("3", "6")
    # Backpressure follows the threads: no request waits inside a worker for a thread.
    assert flags["--backpressure"] == "6"
    explicit = serve.ServeConfig.from_env({"GRANIAN_BLOCKING_THREADS": "6", "GRANIAN_BACKPRESSURE": "2"})
    assert _flags(serve.app_command(explicit, tmp_path / "app.sock"))["--backpressure"] == "2"
    assert flags["--http1-header-read-timeout"] == "20000"
    assert flags["--workers-kill-timeout"] == "13"
    assert "--no-access-log" in command and "--respawn-failed-workers" in command
    # nginx logs every request granian ran, since granian logs none.
    text = serve.render_nginx_conf(config, Path("/run/x"), Path("/run/x/app.sock"))
    assert "access_log /dev/stderr ledger_json;" in text


def test_gunicorn_is_one_setting_away_and_an_unknown_server_is_refused() -> None:
    config = serve.ServeConfig.from_env({"LEDGER_APP_SERVER": "gunicorn"})
    assert serve.app_command(config, Path("/run/x/app.sock")) == serve.gunicorn_command()
    text = serve.render_nginx_conf(config, Path("/run/x"), Path("/run/x/app.sock"))
    assert "access_log /dev/stderr ledger_json if=$ledger_refused_by_proxy;" in text
    with pytest.raises(ValueError, match="LEDGER_APP_SERVER"):
        serve.ServeConfig.from_env({"LEDGER_APP_SERVER": "uwsgi"})


def test_defaults_listen_on_the_loopback_with_short_client_timeouts() -> None:
    config = serve.ServeConfig.from_env({})
    assert config.listen == "127.0.0.1:8000"
    assert (config.client_header_timeout, config.client_body_timeout, config.send_timeout) == (10, 10, 30)
    assert serve.ServeConfig.from_env({"HOST": "::"}).listen == "[::]:8000"


def test_every_placeholder_is_filled_and_the_body_cap_is_the_apis() -> None:
    text = serve.render_nginx_conf(serve.ServeConfig(), Path("/run/x"), Path("/run/x/s.sock"))
    assert "@@" not in text
    assert "client_max_body_size 1m;" in text
    assert settings.LEDGER_MAX_BODY_BYTES == 1024 * 1024
    assert "proxy_request_buffering on;" in text
    # What the client says its address is, is replaced, never passed on.
    assert "proxy_set_header X-Real-IP $remote_addr;" in text


@pytest.mark.parametrize("idle", [2, 5, 30, 75, 300])
def test_nginx_drops_idle_upstream_connections_before_the_app_server_does(idle: int) -> None:
    gunicorn = serve.ServeConfig(app_server="gunicorn", gunicorn_keepalive=idle)
    # granian closes an idle connection when its header read timeout runs out.
    granian = serve.ServeConfig(app_server="granian", granian_header_read_timeout_ms=idle * 1000)
    for config in (gunicorn, granian):
        assert config.app_idle_timeout == idle
        assert 1 <= config.upstream_keepalive_timeout < idle


def test_the_app_server_behind_nginx_listens_only_on_the_private_socket(tmp_path: Path) -> None:
    config = serve.ServeConfig(app_server="gunicorn")
    env = serve.app_env(config, {"PROMETHEUS_MULTIPROC_DIR": ""}, tmp_path, tmp_path / "g.sock")
    assert env["GUNICORN_BIND"] == f"unix:{tmp_path / 'g.sock'}"
    # Several workers always sum their series: an empty setting gets the run directory.
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "prometheus")
    granian = serve.app_env(serve.ServeConfig(), {}, tmp_path, tmp_path / "g.sock")
    assert "GUNICORN_BIND" not in granian and granian["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "prometheus")
    assert "--uds" in serve.app_command(serve.ServeConfig(), tmp_path / "g.sock")


def test_a_new_start_counts_metrics_from_zero(tmp_path: Path) -> None:
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_4242.db").write_bytes(b"last run")
    (metrics / "README").write_text("not ours")
    serve.empty_metrics_dir({"PROMETHEUS_MULTIPROC_DIR": str(metrics)})
    assert sorted(path.name for path in metrics.iterdir()) == ["README"]


def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    nginx = nginx_binary()
    config = serve.ServeConfig.from_env({"NGINX_BIN": nginx, "PORT": str(free_port())})
    conf = tmp_path / "nginx.conf"
    conf.write_text(serve.render_nginx_conf(config, tmp_path, tmp_path / "app.sock"))
    result = subprocess.run(
        [*serve.nginx_command(config, tmp_path, conf), "-t"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_the_client_address_is_the_peers_and_nginxs_header_only_over_the_socket() -> None:
    assert client_address({"REMOTE_ADDR": "198.51.100.7", "HTTP_X_REAL_IP": "10.0.0.1"}) == "198.51.100.7"
    assert client_address({"REMOTE_ADDR": "", "HTTP_X_REAL_IP": "203.0.113.9"}) == "203.0.113.9"
    assert client_address({"REMOTE_ADDR": ""}) == ""


# --- The stack, running ----------------------------------------------------------------


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Message, bytes]:
    """Status, headers (names case-insensitive: granian sends them in lower case) and body."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _access_lines(log: str, logger: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.splitlines() if f'"logger": "{logger}"' in line]


@pytest.mark.postgres_only
@pytest.mark.parametrize("app_server", serve.APP_SERVERS)
def test_the_stack_serves_through_nginx_with_request_ids_client_addresses_and_summed_metrics(
    transactional_db: None, app_server: str
) -> None:
    user = get_user_model().objects.create_superuser("serve-check", password="unused-Pa55word")
    _, token = api_key_create(user=user)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    query = json.dumps({"query": "query Probe { __typename }", "operationName": "Probe"}).encode()

    scrape_token = "scrape-" + "t0ken" * 8
    with production_server(
        f"serve-stack-{app_server}",
        LEDGER_APP_SERVER=app_server,
        NGINX_CLIENT_HEADER_TIMEOUT="2",
        LEDGER_METRICS_TOKEN=scrape_token,
    ) as server:
        # A client that claims another address is still logged (and judged) by the one it has.
        status, headers, body = _post(server.url + "/graphql", query, {**auth, "X-Real-IP": "203.0.113.9"})
        assert status == 200 and json.loads(body)["data"] == {"__typename": "Query"}
        request_id = headers["X-Request-ID"]
        for _ in range(8):  # spread over both workers
            assert _post(server.url + "/graphql", query, auth)[0] == 200

        # Over the cap: nginx answers the API's own 413, and the app server never sees the request.
        status, _, body = _post(server.url + "/graphql", b"x" * (settings.LEDGER_MAX_BODY_BYTES + 1), auth)
        assert status == 413
        assert json.loads(body)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

        # Headers that never finish: closed after NGINX_CLIENT_HEADER_TIMEOUT.
        url = urlsplit(server.url)
        with socket.create_connection((url.hostname, url.port), timeout=10) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.monotonic()
            with contextlib.suppress(ConnectionResetError):  # reset_timedout_connection: an RST
                assert slow.recv(1024) == b""  # nginx hung up: 408, and no response is owed
            assert 1.5 <= time.monotonic() - started < 8

        # Every scrape arrives from nginx: with a token set, the loopback address alone is not enough.
        with pytest.raises(urllib.error.HTTPError) as hidden:
            urllib.request.urlopen(server.url + "/metrics", timeout=10)
        assert hidden.value.code == 404
        scrape = urllib.request.Request(server.url + "/metrics", headers={"Authorization": f"Bearer {scrape_token}"})
        with urllib.request.urlopen(scrape, timeout=10) as response:
            metrics = response.read().decode()
        log = server.log_text()

    # Whoever writes the line for a request the app ran, it carries the app's request ID.
    access = _access_lines(log, "gunicorn.access" if app_server == "gunicorn" else "nginx.access")
    probe = next(line for line in access if line["request_id"] == request_id)
    assert (probe["method"], probe["path"], probe["status"]) == ("POST", "/graphql", 200)
    assert probe["remote_addr"] == "127.0.0.1"
    assert isinstance(probe["duration_ms"], (int, float)) and probe["duration_ms"] < 10_000
    refused = _access_lines(log, "nginx.access")
    assert any(line["status"] == 413 and not line["request_id"] for line in refused)
    assert any(line["status"] == 408 for line in refused)
    if app_server == "gunicorn":
        assert not any(line["status"] == 413 for line in access)
    # Nine probes, whichever worker ran each, counted once each in one exposition.
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("ledger_graphql_request_seconds_count") and 'operation="Probe"' in line
    ]
    assert len(counted) == 1 and float(counted[0].rsplit(" ", 1)[1]) == 9


@pytest.mark.postgres_only
def test_sigterm_finishes_a_request_nginx_holds_then_stops_everything(transactional_db: None) -> None:
    user = get_user_model().objects.create_user("serve-graceful", password="unused-Pa55word")
    _, token = api_key_create(user=user)
    body = json.dumps({"query": "{ __typename }"}).encode()

    with production_server("serve-graceful") as server:
        url = urlsplit(server.url)
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        assert len(children) == 2  # granian's main process and nginx's master
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
        connection.putrequest("POST", "/graphql")
        for name, value in (
            ("Authorization", f"Bearer {token}"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ):
            connection.putheader(name, value)
        connection.endheaders(body[:5])  # half a request: nginx holds it, granian has not seen it
        time.sleep(0.5)

        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        connection.send(body[5:])
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["data"] == {"__typename": "Query"}
        connection.close()

        assert server.process.wait(timeout=30) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]


def test_when_nginx_cannot_start_the_app_server_is_stopped_and_the_launcher_fails(tmp_path: Path) -> None:
    nginx = nginx_binary()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run_dir = tmp_path / "run"
        env = clean_env(
            DEBUG="false",
            SECRET_KEY="k" * 50,
            HOST="127.0.0.1",
            PORT=str(port),
            NGINX_BIN=nginx,
            GRANIAN_WORKERS="1",
            GUNICORN_GRACEFUL_TIMEOUT="5",
            LEDGER_RUN_DIR=str(run_dir),
        )
        result = subprocess.run(
            [str(BIN / "python"), "-m", "ledger_project.serve"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert "nginx (exit" in result.stderr
    assert "Address already in use" in result.stderr
    # granian went with it: nothing listens on its socket any more.
    with socket.socket(socket.AF_UNIX) as probe, pytest.raises(OSError):
        probe.connect(str(run_dir / "app.sock"))
    assert os.stat(run_dir).st_mode & 0o077 == 0  # the socket's directory is the service user's alone
