#!/usr/bin/env bash
# pgbouncer in transaction mode in front of PostgreSQL: one server, or the HA pair of
# `make ha-up`. For tests and demos: trust auth on 127.0.0.1, no TLS. Every setting and
# why: deploy/pgbouncer/README.md; the app's side (DATABASE_POOLER=pgbouncer): docs/SCALING.md.
#
#   deploy/pgbouncer/pgbouncer.sh up [HOST:PORT]   one pgbouncer in front of one server
#                                  (default 127.0.0.1:5432) on LEDGER_PGBOUNCER_PORT
#   deploy/pgbouncer/pgbouncer.sh up --ha          in front of `make ha-up`'s pair: a "primary"
#                                  pgbouncer on LEDGER_PGBOUNCER_PORT that follows the primary,
#                                  a "standby" one on the next port that follows the secondary
#   deploy/pgbouncer/pgbouncer.sh up --monitor URI the same for any pg_auto_failover monitor
#   deploy/pgbouncer/pgbouncer.sh down             stop everything and delete the directory
#   deploy/pgbouncer/pgbouncer.sh status           targets and SHOW POOLS of each pgbouncer
#   deploy/pgbouncer/pgbouncer.sh urls             the app's DATABASE_URL, DATABASE_POOLER, ...
#
# Why a follower and not one pgbouncer per node with target_session_attrs: pgbouncer 1.18
# hands every new client the server's in_hot_standby as it was when its pool first
# connected (pgbouncer issue #859), so after a failover libpq would take the demoted node
# for the primary. The follower (`follow`, started by `up`) polls the monitor and, when
# the primary or the secondary changes, rewrites that pgbouncer's target and RELOADs it:
# pgbouncer then drops the old server connections and refreshes what it tells clients,
# and the app's open connections carry on, on the new primary.
#
# Environment: LEDGER_PGBOUNCER_DIR (default /var/lib/ledger-pgbouncer), LEDGER_PGBOUNCER_PORT
# (default 6432), LEDGER_PGBOUNCER_DB (the database named in the printed URLs, default ledger),
# LEDGER_PGBOUNCER_USERS (roles allowed to log in, default "postgres"), LEDGER_PGBOUNCER_POOL_SIZE
# (server connections per database and role, default 20), LEDGER_PGBOUNCER_MAX_CLIENTS (default
# 1000), LEDGER_HA_PORT (the monitor's port for --ha, default 6000), LEDGER_PGBOUNCER_FOLLOW_EVERY
# (seconds between two looks at the monitor, default 0.5).
set -euo pipefail

PGB_DIR=${LEDGER_PGBOUNCER_DIR:-/var/lib/ledger-pgbouncer}
PGB_PORT=${LEDGER_PGBOUNCER_PORT:-6432}
PGB_DB=${LEDGER_PGBOUNCER_DB:-ledger}
PGB_USERS=${LEDGER_PGBOUNCER_USERS:-postgres}
PGB_POOL_SIZE=${LEDGER_PGBOUNCER_POOL_SIZE:-20}
PGB_MAX_CLIENTS=${LEDGER_PGBOUNCER_MAX_CLIENTS:-1000}
FOLLOW_EVERY=${LEDGER_PGBOUNCER_FOLLOW_EVERY:-0.5}
HA_MONITOR_URI="postgres://autoctl_node@127.0.0.1:${LEDGER_HA_PORT:-6000}/pg_auto_failover?sslmode=disable"
MARKER=.ledger-pgbouncer # down deletes only a directory that carries this file

log() { printf '[pgbouncer %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# pgbouncer refuses to run as root: as root, run it (and the follower) as the postgres OS user.
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); else AS_PG=(); fi

install_packages() {
    if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then return; fi
    [ "$(id -u)" = 0 ] || die "pgbouncer is missing; run as root to install it (apt-get install pgbouncer)"
    log "installing pgbouncer (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
    # Debian's package may start a system-wide instance on 6432; ours are separate.
    if command -v systemctl >/dev/null && systemctl is-active --quiet pgbouncer 2>/dev/null; then
        systemctl stop pgbouncer || true
    fi
}

pgbouncer_bin() { command -v pgbouncer || echo /usr/sbin/pgbouncer; }

prepare_dir() {
    if [ ! -d "$PGB_DIR" ]; then
        mkdir -p "$PGB_DIR"
        touch "$PGB_DIR/$MARKER"
    fi
    [ -f "$PGB_DIR/$MARKER" ] || die "$PGB_DIR exists and is not ours (no $MARKER file)"
    chmod 700 "$PGB_DIR"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$PGB_DIR"; fi
}

# The pgbouncers of this setup: "primary", and "standby" when it follows a pair.
names() { if [ "$(mode)" = monitor ]; then echo primary standby; else echo primary; fi; }
mode() { cut -d ' ' -f 1 "$PGB_DIR/mode" 2>/dev/null; }
monitor_uri() { cut -d ' ' -f 2 "$PGB_DIR/mode"; }
port_of() { if [ "$1" = standby ]; then echo $((PGB_PORT + 1)); else echo "$PGB_PORT"; fi; }
target_of() { cat "$PGB_DIR/$1.target" 2>/dev/null; }

pid_of() { # name: the pid of a running process whose pid file is $PGB_DIR/$name.pid
    local file="$PGB_DIR/$1.pid" pid
    [ -f "$file" ] || return 1
    pid=$(head -n 1 "$file")
    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

admin() { # port command: pgbouncer's admin console
    psql -X -q -A -t -h 127.0.0.1 -p "$1" -U postgres -d pgbouncer -c "$2"
}

# Written as the postgres user when root (the follower runs as that user and rewrites them).
write_file() { # path; the content on stdin
    # shellcheck disable=SC2016 # $1 is the inner shell's
    "${AS_PG[@]}" sh -c 'cat >"$1.tmp" && mv "$1.tmp" "$1"' write "$1"
}

write_config() { # name host:port
    local name=$1 host=${2%:*} target_port=${2##*:}
    write_file "$PGB_DIR/$name.ini" <<EOF
; Written by deploy/pgbouncer/pgbouncer.sh; deploy/pgbouncer/README.md explains each line.
[databases]
* = host=$host port=$target_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $(port_of "$name")
unix_socket_dir =
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
admin_users = postgres
stats_users = postgres

pool_mode = transaction
default_pool_size = $PGB_POOL_SIZE
max_client_conn = $PGB_MAX_CLIENTS
reserve_pool_size = 0
server_reset_query =
server_connect_timeout = 3
server_login_retry = 1
query_wait_timeout = 10
idle_transaction_timeout = 30
server_idle_timeout = 300

logfile = $PGB_DIR/$name.log
pidfile = $PGB_DIR/$name.pid
log_connections = 0
log_disconnections = 0
EOF
    echo "$2" | write_file "$PGB_DIR/$name.target"
}

start_instance() { # name
    local name=$1 port
    port=$(port_of "$name")
    if pid_of "$name" >/dev/null; then return; fi
    log "starting pgbouncer \"$name\" on 127.0.0.1:$port -> $(target_of "$name")"
    "${AS_PG[@]}" "$(pgbouncer_bin)" -d "$PGB_DIR/$name.ini" ||
        die "pgbouncer \"$name\" did not start: $PGB_DIR/$name.log"
    local deadline=$((SECONDS + 10))
    until admin "$port" "SHOW VERSION" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "pgbouncer \"$name\" does not answer on port $port: $PGB_DIR/$name.log"
        sleep 0.2
    done
}

# The monitor's primary and secondary as "host:port host:port" (the secondary: the primary
# while there is none, as prefer-standby would choose). A node counts only in a state the
# monitor wants it in: an old primary that died reports "primary" with another goal.
pair_targets() {
    local rows primary="" standby="" addr reported goal
    rows=$(psql -X -q -A -t -F ' ' "$(monitor_uri)" -c \
        "select nodehost || ':' || nodeport, reportedstate, goalstate from pgautofailover.node order by nodeid") ||
        return 1
    while read -r addr reported goal; do
        [ "$reported" = "$goal" ] || continue
        case $reported in
        primary | wait_primary | single) [ -n "$primary" ] || primary=$addr ;;
        secondary) [ -n "$standby" ] || standby=$addr ;;
        esac
    done <<<"$rows"
    [ -n "$primary" ] || return 1
    echo "$primary ${standby:-$primary}"
}

retarget() { # name host:port: point that pgbouncer elsewhere, if it is not there already
    local name=$1 target=$2
    [ "$(target_of "$name")" != "$target" ] || return 0
    sed "s/^\* = host=.*/* = host=${target%:*} port=${target##*:}/" "$PGB_DIR/$name.ini" | write_file "$PGB_DIR/$name.ini"
    echo "$target" | write_file "$PGB_DIR/$name.target"
    if pid_of "$name" >/dev/null; then
        # RELOAD with a changed [databases] line: the pool's server connections close as soon as
        # their transaction ends, new ones go to the new target, the welcome message is rebuilt.
        admin "$(port_of "$name")" "RELOAD" >/dev/null
        log "\"$name\" now -> $target"
    fi
}

# Between two primaries (no node qualifies) the targets stay where they were.
follow_once() {
    local targets
    targets=$(pair_targets) || return 0
    retarget primary "${targets% *}"
    retarget standby "${targets#* }"
}

follow() {
    log "following $(monitor_uri) every $FOLLOW_EVERY s"
    while true; do
        follow_once || true
        sleep "$FOLLOW_EVERY"
    done
}

# The follower runs a copy of this script kept in the directory, as the postgres user when root.
start_follower() {
    if pid_of follower >/dev/null; then return; fi
    write_file "$PGB_DIR/pgbouncer.sh" <"$0"
    # shellcheck disable=SC2016 # $$ and $1 are the inner shell's
    (cd "$PGB_DIR" && setsid -f "${AS_PG[@]}" env LEDGER_PGBOUNCER_DIR="$PGB_DIR" LEDGER_PGBOUNCER_PORT="$PGB_PORT" \
        LEDGER_PGBOUNCER_FOLLOW_EVERY="$FOLLOW_EVERY" \
        bash -c 'echo $$ >"$1/follower.pid"; exec bash "$1/pgbouncer.sh" follow' follower "$PGB_DIR" \
        >>"$PGB_DIR/follower.log" 2>&1 </dev/null)
    local deadline=$((SECONDS + 5))
    until pid_of follower >/dev/null; do
        [ $SECONDS -lt $deadline ] || die "the follower did not start: $PGB_DIR/follower.log"
        sleep 0.1
    done
}

urls() {
    [ -n "$(mode)" ] || die "no pgbouncer set up in $PGB_DIR (run: $0 up)"
    local user=${PGB_USERS%% *}
    echo "DATABASE_URL=postgres://$user@127.0.0.1:$(port_of primary)/$PGB_DB"
    if [ "$(mode)" = monitor ]; then
        echo "DATABASE_REPLICA_URL=postgres://$user@127.0.0.1:$(port_of standby)/$PGB_DB"
    fi
    echo "DATABASE_POOLER=pgbouncer"
}

up() {
    local monitor="" target=127.0.0.1:5432
    case "${1:-}" in
    --ha) monitor=$HA_MONITOR_URI ;;
    --monitor)
        monitor=${2:-}
        [ -n "$monitor" ] || die "--monitor needs the monitor's URI"
        ;;
    "") ;;
    *) target=$1 ;;
    esac
    [[ -n "$monitor" || ("$target" == *:* && "${target##*:}" =~ ^[0-9]+$) ]] || die "target $target is not HOST:PORT"
    install_packages
    prepare_dir
    if [ -z "$(mode)" ]; then
        # trust still needs each role listed; postgres is the admin console's (admin_users).
        local user
        for user in postgres $PGB_USERS; do printf '"%s" ""\n' "$user"; done | sort -u | write_file "$PGB_DIR/userlist.txt"
        if [ -n "$monitor" ]; then
            echo "monitor $monitor" | write_file "$PGB_DIR/mode"
            local deadline=$((SECONDS + 30)) targets
            until targets=$(pair_targets); do
                [ $SECONDS -lt $deadline ] || die "the monitor at $monitor names no primary (is the pair up? make ha-up)"
                sleep 0.5
            done
            write_config primary "${targets% *}"
            write_config standby "${targets#* }"
        else
            echo "single $target" | write_file "$PGB_DIR/mode"
            write_config primary "$target"
        fi
    fi
    # Already set up: restart whatever is not running, with the same ports and targets.
    local name
    for name in $(names); do start_instance "$name"; done
    if [ "$(mode)" = monitor ]; then start_follower; fi
    urls
}

stop_pid() { # name
    local pid deadline
    pid=$(pid_of "$1") || return 0
    kill -INT "$pid" 2>/dev/null || true # pgbouncer: SIGINT is an immediate shutdown
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then kill -9 "$pid" 2>/dev/null || true; fi
        sleep 0.1
    done
}

down() {
    if [ ! -d "$PGB_DIR" ]; then
        log "nothing to remove at $PGB_DIR"
        return
    fi
    [ -f "$PGB_DIR/$MARKER" ] || die "$PGB_DIR is not ours (no $MARKER file); not touching it"
    stop_pid follower
    local name
    for name in primary standby; do stop_pid "$name"; done
    rm -rf "$PGB_DIR"
    log "stopped and removed $PGB_DIR"
}

status() {
    local name
    [ -z "$(mode)" ] || echo "# mode: $(cat "$PGB_DIR/mode")"
    for name in $(names); do
        echo "# \"$name\" on 127.0.0.1:$(port_of "$name") -> $(target_of "$name")"
        psql -X -h 127.0.0.1 -p "$(port_of "$name")" -U postgres -d pgbouncer -c "SHOW POOLS" || true
    done
}

case "${1:-}" in
up)
    shift
    up "$@"
    ;;
down) down ;;
status) status ;;
urls) urls ;;
follow) follow ;;
*)
    echo "usage: $0 up [HOST:PORT | --ha | --monitor URI] | down | status | urls" >&2
    exit 2
    ;;
esac
