#!/usr/bin/env bash
# A highly available PostgreSQL pair on one machine, managed by pg_auto_failover:
# a monitor, a primary and a synchronous secondary. For tests and demos: trust auth
# on 127.0.0.1, no SSL. Every setting is explained in deploy/ha/README.md.
#
#   deploy/ha/ha.sh up       install what is missing, create or restart the pair, wait for
#                            primary + secondary, print DATABASE_URL and DATABASE_REPLICA_URL
#   deploy/ha/ha.sh down     stop every process and delete the data directory
#   deploy/ha/ha.sh status   the monitor's view of the nodes
#   deploy/ha/ha.sh urls     print the two URLs
#   deploy/ha/ha.sh start    (re)start any node whose pg_autoctl is not running
#
# Environment: LEDGER_HA_DIR (default /var/lib/ledger-ha), LEDGER_HA_PORT (default 6000:
# the monitor; the nodes take the next two ports), LEDGER_HA_DB (default ledger),
# LEDGER_HA_TIMEOUT (seconds to wait for the pair, default 240).
set -euo pipefail

HA_DIR=${LEDGER_HA_DIR:-/var/lib/ledger-ha}
HA_PORT=${LEDGER_HA_PORT:-6000}
HA_DB=${LEDGER_HA_DB:-ledger}
HA_TIMEOUT=${LEDGER_HA_TIMEOUT:-240}
HA_CHECKPOINT_EVERY=${LEDGER_HA_CHECKPOINT_EVERY:-1} # seconds; 0 turns the trick off (to measure it)
PG_VERSION=15
PGBIN=/usr/lib/postgresql/$PG_VERSION/bin
MONITOR_PORT=$HA_PORT
NODE1_PORT=$((HA_PORT + 1))
NODE2_PORT=$((HA_PORT + 2))
MONITOR_URI="postgres://autoctl_node@127.0.0.1:$MONITOR_PORT/pg_auto_failover?sslmode=disable"
MARKER=.ledger-ha # ha-down deletes only a directory that carries this file

# The monitor's failure detection (deploy/ha/README.md, "Monitor settings").
MONITOR_SETTINGS=(
    "pgautofailover.health_check_period=1000"
    "pgautofailover.health_check_timeout=1000"
    "pgautofailover.health_check_max_retries=1"
    "pgautofailover.health_check_retry_delay=500"
    "pgautofailover.node_considered_unhealthy_timeout=3000"
    "pgautofailover.primary_demote_timeout=5000"
)

# Both nodes' settings (deploy/ha/README.md, "Node settings"), by ALTER SYSTEM on every `up`.
NODE_SETTINGS=(
    "synchronous_commit='on'"
    "recovery_init_sync_method='syncfs'"
    "wal_retrieve_retry_interval='500ms'"
)

log() { printf '[ha %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# pg_autoctl refuses to run as root: as root, run it as the postgres OS user. Its config,
# state and pid files go under HA_DIR (XDG_*), so ha-down removes every trace.
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); else AS_PG=(); fi
as_pg() {
    (cd "$HA_DIR" && "${AS_PG[@]}" env XDG_CONFIG_HOME="$HA_DIR/config" XDG_DATA_HOME="$HA_DIR/share" \
        XDG_RUNTIME_DIR="$HA_DIR/run" PATH="$PGBIN:$PATH" "$@")
}

# psql over TCP as the superuser "postgres" (initdb trusts 127.0.0.1).
sql() { # port database statement
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3"
}

install_packages() {
    if command -v pg_autoctl >/dev/null && command -v pgbouncer >/dev/null &&
        [ -x "$PGBIN/pg_ctl" ] && [ -f "/usr/share/postgresql/$PG_VERSION/extension/pgautofailover.control" ]; then
        return
    fi
    [ "$(id -u)" = 0 ] || die "postgresql-$PG_VERSION-auto-failover and pgbouncer are missing; run as root to install them"
    log "installing postgresql-$PG_VERSION, postgresql-$PG_VERSION-auto-failover, pgbouncer (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-auto-failover" pgbouncer postgresql-client >/dev/null
}

prepare_dir() {
    if [ ! -d "$HA_DIR" ]; then
        mkdir -p "$HA_DIR"
        touch "$HA_DIR/$MARKER"
    fi
    [ -f "$HA_DIR/$MARKER" ] || die "$HA_DIR exists and is not ours (no $MARKER file)"
    mkdir -p "$HA_DIR/log" "$HA_DIR/run" "$HA_DIR/config" "$HA_DIR/share"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$HA_DIR"; fi
    chmod 700 "$HA_DIR/run"
}

# The postmaster's pid, from postmaster.pid, if it is alive.
postmaster_pid() { # node
    local file="$HA_DIR/$1/postmaster.pid" pid
    [ -f "$file" ] || return 1
    pid=$(head -n 1 "$file")
    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# The pid of the node's pg_autoctl supervisor, if it is alive.
keeper_pid() { # node
    local file pid
    file=$(find "$HA_DIR/run" -path "*$HA_DIR/$1/pg_autoctl.pid" 2>/dev/null | head -n 1)
    [ -n "$file" ] && [ -f "$file" ] || return 1
    pid=$(head -n 1 "$file")
    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Starts "pg_autoctl run" for a node in a session of its own (setsid): the node's keeper
# and its postgres then share one process group, which the HA test kills as a whole.
start_node() { # node
    if keeper_pid "$1" >/dev/null; then return; fi
    log "starting pg_autoctl for $1"
    (cd "$HA_DIR" && setsid -f "${AS_PG[@]}" env XDG_CONFIG_HOME="$HA_DIR/config" XDG_DATA_HOME="$HA_DIR/share" \
        XDG_RUNTIME_DIR="$HA_DIR/run" PATH="$PGBIN:$PATH" \
        pg_autoctl run --pgdata "$HA_DIR/$1" >>"$HA_DIR/log/$1.log" 2>&1 </dev/null)
}

wait_for() { # seconds description command...
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "timed out waiting for $what (logs: $HA_DIR/log/)"
        sleep 0.5
    done
}

node_states() { # "name:reported:goal ..." in node order
    sql "$MONITOR_PORT" pg_auto_failover \
        "select string_agg(nodename || ':' || reportedstate || ':' || goalstate, ' ' order by nodeid) from pgautofailover.node"
}

pair_ready() {
    local states
    states=$(node_states) || return 1
    # One primary and one secondary, both where the monitor wants them.
    [[ " $states " == *":primary:primary "* && " $states " == *":secondary:secondary "* ]]
}

primary_port() {
    sql "$MONITOR_PORT" pg_auto_failover \
        "select nodeport from pgautofailover.node where reportedstate in ('primary', 'wait_primary', 'single') and goalstate = reportedstate order by nodeid limit 1"
}

urls() {
    echo "DATABASE_URL=postgres://postgres@127.0.0.1:$NODE1_PORT,127.0.0.1:$NODE2_PORT/$HA_DB?target_session_attrs=read-write"
    echo "DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:$NODE1_PORT,127.0.0.1:$NODE2_PORT/$HA_DB?target_session_attrs=prefer-standby"
}

create_monitor() {
    if [ -f "$HA_DIR/monitor/PG_VERSION" ]; then return; fi
    log "creating the monitor on port $MONITOR_PORT"
    as_pg pg_autoctl create monitor --pgdata "$HA_DIR/monitor" --pgport "$MONITOR_PORT" --hostname 127.0.0.1 \
        --auth trust --no-ssl --pgctl "$PGBIN/pg_ctl" >>"$HA_DIR/log/create-monitor.log" 2>&1 ||
        die "pg_autoctl create monitor failed: $HA_DIR/log/create-monitor.log"
}

configure_monitor() {
    local setting
    for setting in "${MONITOR_SETTINGS[@]}"; do
        sql "$MONITOR_PORT" pg_auto_failover "ALTER SYSTEM SET ${setting%%=*} = ${setting#*=}"
    done
    sql "$MONITOR_PORT" pg_auto_failover "SELECT pg_reload_conf()" >/dev/null
}

# ALTER SYSTEM writes postgresql.auto.conf (also on a standby) and takes effect on reload.
configure_node() { # port
    local setting
    for setting in "${NODE_SETTINGS[@]}"; do
        sql "$1" postgres "ALTER SYSTEM SET ${setting%%=*} = ${setting#*=}"
    done
    sql "$1" postgres "SELECT pg_reload_conf()" >/dev/null
}

create_node() { # node port
    as_pg pg_autoctl create postgres --pgdata "$HA_DIR/$1" --pgport "$2" --listen 127.0.0.1 \
        --hostname 127.0.0.1 --name "$1" --dbname "$HA_DB" --monitor "$MONITOR_URI" \
        --auth trust --no-ssl --pgctl "$PGBIN/pg_ctl" >>"$HA_DIR/log/create-$1.log" 2>&1
}

# pg_basebackup starts with a checkpoint; an idle primary spreads it over
# checkpoint_timeout x checkpoint_completion_target. An immediate CHECKPOINT every
# second finishes it at once: the secondary is ready in seconds, not minutes.
checkpoint_loop() { # port
    [ "$HA_CHECKPOINT_EVERY" != 0 ] || return 0
    while sleep "$HA_CHECKPOINT_EVERY"; do sql "$1" postgres "CHECKPOINT" >/dev/null 2>&1 || true; done
}

up() {
    local started=$SECONDS
    install_packages
    prepare_dir
    create_monitor
    start_node monitor
    wait_for 60 "the monitor" sql "$MONITOR_PORT" pg_auto_failover "select 1 from pgautofailover.node limit 1"
    configure_monitor

    if [ ! -f "$HA_DIR/node1/PG_VERSION" ]; then
        log "creating node1 (the first primary) on port $NODE1_PORT"
        create_node node1 "$NODE1_PORT" || die "creating node1 failed: $HA_DIR/log/create-node1.log"
    fi
    start_node node1
    wait_for 60 "node1" sql "$NODE1_PORT" postgres "select 1"

    if [ ! -f "$HA_DIR/node2/PG_VERSION" ]; then
        configure_node "$NODE1_PORT" # the base backup copies postgresql.auto.conf to node2
        log "creating node2 (the synchronous secondary) on port $NODE2_PORT"
        checkpoint_loop "$NODE1_PORT" &
        CHECKPOINTER=$!
        trap 'kill "$CHECKPOINTER" 2>/dev/null || true' EXIT
        create_node node2 "$NODE2_PORT" || die "creating node2 failed: $HA_DIR/log/create-node2.log"
        start_node node2
        wait_for "$HA_TIMEOUT" "primary + secondary" pair_ready
        kill "$CHECKPOINTER" 2>/dev/null || true
    fi
    start_node node2
    wait_for "$HA_TIMEOUT" "primary + secondary" pair_ready

    configure_node "$NODE1_PORT"
    configure_node "$NODE2_PORT"
    local primary
    primary=$(primary_port)
    if [ -z "$(sql "$primary" postgres "select 1 from pg_database where datname = '$HA_DB'")" ]; then
        sql "$primary" postgres "CREATE DATABASE \"$HA_DB\""
    fi
    log "ready in $((SECONDS - started)) s: $(node_states)"
    log "primary on port $primary, synchronous_standby_names = $(sql "$primary" postgres "show synchronous_standby_names")"
    urls
}

stop_node() { # node
    [ -d "$HA_DIR/$1" ] || return 0
    if keeper_pid "$1" >/dev/null; then as_pg pg_autoctl stop --pgdata "$HA_DIR/$1" --fast >/dev/null 2>&1 || true; fi
    local deadline=$((SECONDS + 20)) pid
    while { keeper_pid "$1" || postmaster_pid "$1"; } >/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            for pid in $(keeper_pid "$1") $(postmaster_pid "$1"); do kill -9 "$pid" 2>/dev/null || true; done
            sleep 1
            break
        fi
        sleep 0.3
    done
}

down() {
    if [ ! -d "$HA_DIR" ]; then
        log "nothing to remove at $HA_DIR"
        return
    fi
    [ -f "$HA_DIR/$MARKER" ] || die "$HA_DIR is not ours (no $MARKER file); not touching it"
    stop_node node2
    stop_node node1
    stop_node monitor
    rm -rf "$HA_DIR"
    log "stopped and removed $HA_DIR"
}

status() {
    sql "$MONITOR_PORT" pg_auto_failover \
        "select nodename, nodeport, reportedstate, goalstate, reportedlsn from pgautofailover.node order by nodeid"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
urls) urls ;;
start)
    prepare_dir
    for node in monitor node1 node2; do [ -d "$HA_DIR/$node" ] && start_node "$node"; done
    ;;
*)
    echo "usage: $0 up|down|status|urls|start" >&2
    exit 2
    ;;
esac
