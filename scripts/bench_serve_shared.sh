#!/usr/bin/env bash
# `flow serve` on a shared PostgreSQL run log: 1, 2 and 3 instances on one database
# behind one load generator (benches/src/bin/load_gen.rs, its connections spread over
# the instances in turn, as a round-robin balancer would), against one instance on
# SQLite in the same run. Every instance runs the Tag valuable customers template with
# the recording bindings; each row starts on an empty database. PostgreSQL is a
# throwaway cluster (scripts/test-postgres.sh) with fsync on, as SQLite's commits are,
# reached on loopback without TLS (`sslmode=disable`).
#
# Prints one markdown table row per configuration: requests/s, p50 and p99 of the
# acknowledgement, and the ratio to SQLite's requests/s; then checks that every
# acknowledged event's run finished.
#
# Usage: scripts/bench_serve_shared.sh   (after cargo build --release -p flow -p flow-benches --bins)
#   BENCH_SERVE_SECONDS=5  BENCH_SERVE_CONNECTIONS=32  BENCH_SHARED_INSTANCES="1 2 3"
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${CARGO_TARGET_DIR:-target}/release
FLOW=${FLOW_BIN:-$BIN/flow}
SECONDS_PER_ROW=${BENCH_SERVE_SECONDS:-5}
CONNECTIONS=${BENCH_SERVE_CONNECTIONS:-32}
INSTANCES=${BENCH_SHARED_INSTANCES:-"1 2 3"}
TEMPLATE=stdlib/templates/tag_valuable_customers.flow
SECRET=whsec_bench_serve_not_a_real_secret
export STRIPE_WEBHOOK_SECRET=$SECRET
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }

WORK=$(mktemp -d)
PG=$(mktemp -d)
PIDS=()
stop_all() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap 'stop_all; bash scripts/test-postgres.sh stop "$PG" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

FLOW_TEST_POSTGRES=
eval "$(FLOW_PG_DURABLE=1 bash scripts/test-postgres.sh start "$PG" 2>/dev/null)"
ADMIN=$FLOW_TEST_POSTGRES
PSQL_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql

. scripts/serve_listening.sh

# start_flow DIR DB: one instance; prints its address.
start_flow() {
    local dir=$1 db=$2 out
    out=$(mktemp -p "$dir")
    env -u STRIPE_API_KEY -u STRIPE_SECRET_KEY "$FLOW" serve "$dir/flows" --db "$db" \
        --listen 127.0.0.1:0 >/dev/null 2>"$out" &
    PIDS+=($!)
    listening "$out" 400
}

# row LABEL N DB...: load N instances; prints "rps p50 p99".
row() {
    local label=$1 n=$2 db=$3 dir addrs=() i result
    dir=$(mktemp -d -p "$WORK")
    mkdir "$dir/flows"
    cp "$TEMPLATE" "$dir/flows/"
    for i in $(seq "$n"); do
        addrs+=(--addr "$(start_flow "$dir" "$db")")
    done
    result=$("$BIN/load_gen" "${addrs[@]}" --connections "$CONNECTIONS" --seconds "$SECONDS_PER_ROW") || {
        echo "load_gen failed against $label: $result" >&2
        exit 1
    }
    echo "$result" | jq -r '"\(.rps) \(.p50_ms) \(.p99_ms)"'
}

# Every run of a PostgreSQL database finishes (the instances still running).
drain_pg() {
    local url=$1 left i
    for i in $(seq 600); do
        left=$("$PSQL_BIN" "$url" -Atc "SELECT count(*) FROM flow.runs WHERE status = 'started'")
        [ "$left" = 0 ] && return
        sleep 0.1
    done
    echo "runs still started in $url: $left" >&2
    exit 1
}

read -r rps_s p50_s p99_s < <(row sqlite 1 "$WORK/sqlite-runs.db")
stop_all
printf "| 1 instance, SQLite (.flow/runs.db) | %.0f req/s | p50 %.2f ms, p99 %.2f ms | 1.00× |\n" "$rps_s" "$p50_s" "$p99_s"
for n in $INSTANCES; do
    name="bench_shared_$n"
    "$PSQL_BIN" "$ADMIN" -qc "DROP DATABASE IF EXISTS $name" -qc "CREATE DATABASE $name"
    url="${ADMIN%/*}/$name?sslmode=disable"
    read -r rps p50 p99 < <(row "postgres-$n" "$n" "$url")
    drain_pg "$url"
    stop_all
    awk -v n="$n" -v r="$rps" -v a="$p50" -v b="$p99" -v s="$rps_s" 'BEGIN {
        printf "| %d instance%s, one PostgreSQL database | %.0f req/s | p50 %.2f ms, p99 %.2f ms | %.2f× |\n", n, (n > 1 ? "s" : ""), r, a, b, (s > 0 ? r / s : 0)
    }'
done
