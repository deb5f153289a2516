#!/usr/bin/env bash
# Entrypoint of the `ha` profile's monitor and nodes (docker-compose.yml): runs the
# service's command (pg_autoctl create ... --run) and, beside it, what deploy/ha/ha.sh
# does on one machine:
#   - while this node's PostgreSQL is not up yet (its base backup is running), a CHECKPOINT
#     on each peer every second, so the backup starts at once (deploy/ha/README.md, "The
#     CHECKPOINT trick");
#   - then each LEDGER_HA_SETTINGS entry (name=value, space-separated) by ALTER SYSTEM and
#     a reload, on every start, as ha.sh's configure_monitor and configure_node do.
# Environment: LEDGER_HA_NODE_PORT (this server's port), LEDGER_HA_SETTINGS, LEDGER_HA_PEERS
# (host:port of the other nodes).
set -euo pipefail

port=${LEDGER_HA_NODE_PORT:?set LEDGER_HA_NODE_PORT}

sql() { # host port statement
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$2" -U postgres -d postgres -c "$3"
}

configure() {
    local peer setting
    until pg_isready -q -h 127.0.0.1 -p "$port"; do
        for peer in ${LEDGER_HA_PEERS:-}; do sql "${peer%:*}" "${peer##*:}" "CHECKPOINT" >/dev/null 2>&1 || true; done
        sleep 1
    done
    for setting in ${LEDGER_HA_SETTINGS:-}; do
        sql 127.0.0.1 "$port" "ALTER SYSTEM SET ${setting%%=*} = ${setting#*=}"
    done
    sql 127.0.0.1 "$port" "SELECT pg_reload_conf()" >/dev/null
    echo "ledger-ha-entrypoint: applied ${LEDGER_HA_SETTINGS:-no settings} on port $port" >&2
}

configure &
exec "$@"
