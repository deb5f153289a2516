"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from core import replica


def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process answers: nothing else is checked."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """200 only when the database answers and no migration is unapplied."""
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "reason": "database"}, status=503)
    if pending:
        return JsonResponse({"status": "unavailable", "reason": f"{len(pending)} unapplied migration(s)"}, status=503)
    return JsonResponse({"status": "ready", **replica_state()})


def replica_state() -> dict[str, object]:
    """The standby as reads see it, reported but never failing readiness: the primary can serve every read."""
    if not replica.replica_configured():
        return {}
    lag = replica.replica_lag_ms()
    serving = lag is not None and lag < settings.LEDGER_REPLICA_MAX_LAG_MS
    return {"replica": {"reachable": lag is not None, "lagMs": lag, "servingReads": serving}}
