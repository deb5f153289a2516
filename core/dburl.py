"""Database URLs, multi-host ones included, as Django ``DATABASES`` entries.

A highly available pair is reached by one URL naming both nodes,
``postgres://user@h1:p1,h2:p2/ledger?target_session_attrs=read-write``: libpq
tries the hosts in order and keeps the first that is the primary, so a failover
needs no configuration change. dj_database_url refuses such a netloc (it reads
one host and one port), so the host list is taken out here and handed to
Django as libpq wants it: ``HOST="h1,h2"`` and ``PORT="p1,p2"`` (psycopg passes
both through). Everything else (user, password, database, query options) is
still dj_database_url's, so a single-host URL parses exactly as before.

Behind a pooler in transaction mode (``pooler="pgbouncer"``, DATABASE_POOLER) each
transaction may run on another server connection, shared with other clients, so
nothing may live in the session: see ``pooled``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dj_database_url

DEFAULT_POSTGRES_PORT = "5432"
# A syntactically valid stand-in for the host list while dj_database_url reads the rest.
_PLACEHOLDER_HOST = "multi-host.invalid"
POOLERS = ("pgbouncer",)
# Connection options that need a session of their own, refused behind a pooler, and why.
_SESSION_OPTIONS = {
    "prepare_threshold": "psycopg would prepare named statements on one server connection and run "
    "them on another (pgbouncer 1.18 has no prepared-statement support in transaction mode)",
    "options": "pgbouncer refuses the `options` startup parameter; a setting the app needs goes on the "
    "role (ALTER ROLE ... SET) or into the transaction (SET LOCAL)",
    "assume_role": "SET ROLE lasts for the session, which other clients' transactions would share",
    "target_session_attrs": "pgbouncer 1.18 caches the server's in_hot_standby from its first connection "
    "(pgbouncer issue #859), so libpq would take a demoted node for the primary; let the pooler follow "
    "the primary (deploy/pgbouncer/pgbouncer.sh up --ha) and name only it",
}


class DatabaseURLError(ValueError):
    """A DATABASE_URL that cannot name a database; the message says which part is wrong."""


def parse_database_url(
    url: str,
    *,
    conn_max_age: int = 600,
    conn_health_checks: bool = True,
    test_options: dict[str, Any] | None = None,
    pooler: str = "",
) -> dict[str, Any]:
    """A ``DATABASES`` entry for ``url``; several comma-separated hosts are kept in order.

    ``conn_health_checks`` defaults on: a persistent connection to a node that has
    since died or been demoted is noticed at the next request and replaced.
    ``pooler`` names the transaction-mode pooler ``url`` points at, if any (``pooled``).
    """
    return pooled(_parse(url, conn_max_age, conn_health_checks, test_options), pooler)


def pooled(config: dict[str, Any], pooler: str) -> dict[str, Any]:
    """``config`` made safe for a transaction-mode pooler (``pooler`` empty: unchanged).

    In transaction mode each transaction may get another server connection, one
    that other clients use too: server-side cursors that outlive a transaction
    (Django's WITH HOLD cursors under autocommit) and named prepared statements
    would be looked for on the wrong server, and session settings would leak to
    other clients. So server-side cursors are off, prepared statements are off
    (``prepare_threshold=None``, also Django's default), and connection options
    that live in the session are refused with the reason rather than ignored.
    """
    if not pooler:
        return config
    if pooler not in POOLERS:
        raise DatabaseURLError(f"DATABASE_POOLER={pooler!r}: the pooler this app knows is {', '.join(POOLERS)}")
    if not str(config.get("ENGINE", "")).endswith("postgresql"):
        raise DatabaseURLError("DATABASE_POOLER needs a PostgreSQL DATABASE_URL")
    options = dict(config.get("OPTIONS") or {})
    for name, why in _SESSION_OPTIONS.items():
        if name in options:
            raise DatabaseURLError(f"DATABASE_URL option {name!r} cannot be used behind {pooler}: {why}")
    options["prepare_threshold"] = None
    return {**config, "OPTIONS": options, "DISABLE_SERVER_SIDE_CURSORS": True}


def _parse(
    url: str, conn_max_age: int, conn_health_checks: bool, test_options: dict[str, Any] | None
) -> dict[str, Any]:
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise DatabaseURLError("DATABASE_URL must look like postgres://user@host:port/name")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, hostlist = netloc.rpartition("@")
    options: dict[str, Any] = {"conn_max_age": conn_max_age, "conn_health_checks": conn_health_checks}
    if test_options:
        options["test_options"] = test_options
    if "," not in hostlist:
        return dict(dj_database_url.parse(url, **options))

    hosts, ports = zip(*(_split_host_port(entry) for entry in hostlist.split(",")), strict=True)
    config = dict(dj_database_url.parse(f"{scheme}://{userinfo}{at}{_PLACEHOLDER_HOST}{tail}", **options))
    config["HOST"] = ",".join(hosts)
    # libpq takes one port per host; a host written without one gets PostgreSQL's default.
    config["PORT"] = ",".join(port or DEFAULT_POSTGRES_PORT for port in ports) if any(ports) else ""
    return config


def _split_host_port(entry: str) -> tuple[str, str]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` as (host, port or "")."""
    if entry.startswith("["):
        host, bracket, after = entry[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise DatabaseURLError(f"DATABASE_URL: malformed IPv6 host {entry!r}")
        port = after[1:]
    else:
        host, _, port = entry.partition(":")
    host = unquote(host)
    if not host:
        raise DatabaseURLError("DATABASE_URL: an empty host in the host list")
    if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise DatabaseURLError(f"DATABASE_URL: port {port!r} of host {host!r} is not a port number")
    return host, port
