"""``/metrics``: the Prometheus exposition, for the scraper only.

Off the public API: it answers 404 (as if it did not exist) unless
``LEDGER_METRICS_ENABLED`` is on and the scraper is authorised, one of two ways:

- ``LEDGER_METRICS_TOKEN`` set: the request must carry ``Authorization: Bearer
  <token>``, compared in constant time; the address does not matter.
- otherwise: the caller's address must be in ``LEDGER_METRICS_ALLOWED_IPS``
  (addresses or networks). That address is only as good as what stands in
  front of the app: behind the launcher's nginx it is the client's
  (ledger_project/proxied.py), but behind any other proxy or load balancer it
  is the proxy's, the same for everyone, so there the token is the only safe
  choice (docs/OPERATIONS.md, Metrics).

Under gunicorn with several workers each process counts on its own; with
``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client sums their files here.

Besides the counters the code increments (core.metrics), two gauges describe
the settlement queue as the database sees it at scrape time, so they are right
whichever process, host or worker did the work.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from core import replica
from transactions.models import Transaction, TransactionStatus

logger = logging.getLogger(__name__)

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _allowed_networks(entries: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def scrape_allowed(request: HttpRequest) -> bool:
    """Metrics are on, and the request carries the token (when one is set) or comes from an allowed address."""
    if not settings.LEDGER_METRICS_ENABLED:
        return False
    if settings.LEDGER_METRICS_TOKEN:
        return bearer_matches(request.headers.get("Authorization", ""), settings.LEDGER_METRICS_TOKEN)
    return address_allowed(request.META.get("REMOTE_ADDR"))


def bearer_matches(header: str, token: str) -> bool:
    """``Bearer <token>``, the token compared in constant time (a mismatch's timing says nothing of where)."""
    scheme, _, presented = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


def address_allowed(remote_addr: str | None) -> bool:
    """True when ``remote_addr`` is one of ``LEDGER_METRICS_ALLOWED_IPS`` (addresses or networks)."""
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _allowed_networks(tuple(settings.LEDGER_METRICS_ALLOWED_IPS)))


class SettlementQueueCollector(Collector):
    """How far behind the settlement workers are: the oldest due PENDING transaction's age.

    Computed from the table (the queue itself), through the partial index on
    due PENDING rows, so it costs one index range scan per scrape.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        try:
            due = Transaction.objects.filter(status=TransactionStatus.PENDING, due_at__lte=now).aggregate(
                oldest=Min("due_at"), count=Count("id")
            )
        except DatabaseError:
            logger.warning("metrics: settlement queue unreadable", exc_info=True)
            return
        oldest = due["oldest"]
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "ledger_settlement_lag_seconds",
            "Age in seconds of the oldest PENDING transaction that is due (0 when none is waiting).",
            value=lag,
        )
        yield GaugeMetricFamily(
            "ledger_settlement_due_transactions",
            "PENDING transactions that are due and not yet settled.",
            value=due["count"],
        )


class ReplicaCollector(Collector):
    """The standby's replay lag as this process measures it (core.replica); nothing without a standby."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not replica.replica_configured():
            return
        lag = replica.replica_lag_ms()
        yield GaugeMetricFamily(
            "ledger_replica_up",
            "1 when the standby answers, else 0 (queries then read the primary).",
            value=lag is not None,
        )
        if lag is not None:
            yield GaugeMetricFamily(
                "ledger_replica_lag_seconds",
                "The standby's replay lag in seconds (0 when caught up).",
                value=lag / 1000,
            )


class _DefaultRegistry(Collector):
    """This process's own series, when there is no multiprocess directory to read."""

    def collect(self) -> Iterable:
        return REGISTRY.collect()


def build_registry() -> CollectorRegistry:
    """A registry for one scrape: every process's series, then the settlement gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_DefaultRegistry())
    registry.register(SettlementQueueCollector())
    registry.register(ReplicaCollector())
    return registry


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        raise Http404()
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = HttpResponse(encoder(build_registry()), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
