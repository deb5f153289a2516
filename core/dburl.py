"""Database URLs, multi-host ones included, as Django ``DATABASES`` entries.

A highly available pair is reached by one URL naming both nodes,
``postgres://user@h1:p1,h2:p2/ledger?target_session_attrs=read-write``: libpq
tries the hosts in order and keeps the first that is the primary, so a failover
needs no configuration change. dj_database_url refuses such a netloc (it reads
one host and one port), so the host list is taken out here and handed to
Django as libpq wants it: ``HOST="h1,h2"`` and ``PORT="p1,p2"`` (psycopg passes
both through). Everything else (user, password, database, query options) is
still dj_database_url's, so a single-host URL parses exactly as before.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import dj_database_url

DEFAULT_POSTGRES_PORT = "5432"
# A syntactically valid stand-in for the host list while dj_database_url reads the rest.
_PLACEHOLDER_HOST = "multi-host.invalid"


class DatabaseURLError(ValueError):
    """A DATABASE_URL that cannot name a database; the message says which part is wrong."""


def parse_database_url(
    url: str,
    *,
    conn_max_age: int = 600,
    conn_health_checks: bool = True,
    test_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``DATABASES`` entry for ``url``; several comma-separated hosts are kept in order.

    ``conn_health_checks`` defaults on: a persistent connection to a node that has
    since died or been demoted is noticed at the next request and replaced.
    """
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
