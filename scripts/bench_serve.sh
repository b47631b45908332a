#!/usr/bin/env bash
# `flow serve` under load, against a minimal reference receiver, with the same load
# generator (benches/src/bin/load_gen.rs: keep-alive connections, each posting signed
# payment_intent.succeeded webhooks, every event id new):
#   - the reference receiver (benches/src/bin/ref_receiver.rs): axum, the same
#     signature check, SQLite with the run log's settings, group commit, the 200 after
#     the commit, no workflow;
#   - `flow serve` running the Tag valuable customers template with the recording
#     bindings (no Stripe key): the event and its run on disk before the 200, the run
#     carried out afterwards.
# Each server is started anew (an empty database in a temporary folder) for each row,
# at 1, 8 and 32 connections; a row is a warm-up of 0.5 s then BENCH_SERVE_SECONDS.
# At each concurrency the two servers take turns, BENCH_SERVE_PAIRS times (a pair is a
# reference row then a flow row, back to back, so that both see the same machine).
# Prints one markdown table row per server and concurrency: the medians of requests/s,
# p50 and p99; for flow serve, the median of its pairs' ratios to the reference and
# their range; the server's highest peak memory.
#
# Usage: scripts/bench_serve.sh   (run by scripts/bench.sh; alone after a release build:
#                                  cargo build --release -p flow -p flow-benches --bins)
#   BENCH_SERVE_SECONDS=3  BENCH_SERVE_CONNECTIONS="1 8 32"  BENCH_SERVE_PAIRS=3
#   FLOW_BIN=path/to/flow (another build of flow serve, e.g. an older one)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${CARGO_TARGET_DIR:-target}/release
FLOW=${FLOW_BIN:-$BIN/flow}
SECONDS_PER_ROW=${BENCH_SERVE_SECONDS:-3}
CONNECTIONS=${BENCH_SERVE_CONNECTIONS:-"1 8 32"}
PAIRS=${BENCH_SERVE_PAIRS:-3}
if ! [[ $PAIRS =~ ^[0-9]+$ ]] || ((10#$PAIRS < 1)); then
    echo "bench_serve.sh: BENCH_SERVE_PAIRS must be a whole number of 1 or more, not '$PAIRS'" >&2
    exit 2
fi
TEMPLATE=stdlib/templates/tag_valuable_customers.flow
SECRET=whsec_bench_serve_not_a_real_secret
export STRIPE_WEBHOOK_SECRET=$SECRET

WORK=$(mktemp -d)
PID=
stop() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
        PID=
    fi
}
trap 'stop; rm -rf "$WORK"' EXIT

. scripts/serve_listening.sh

# One row: start server $1 (ref|flow), load it with $2 connections; print
# "rps p50 p99 peak_kb".
row() {
    local kind=$1 conns=$2 dir out addr result peak
    dir=$(mktemp -d -p "$WORK")
    out="$dir/out"
    if [ "$kind" = ref ]; then
        "$BIN/ref_receiver" --listen 127.0.0.1:0 --db "$dir/ref.db" >"$out" 2>&1 &
    else
        mkdir "$dir/flows"
        cp "$TEMPLATE" "$dir/flows/"
        env -u STRIPE_API_KEY -u STRIPE_SECRET_KEY "$FLOW" serve "$dir/flows" \
            --listen 127.0.0.1:0 >/dev/null 2>"$out" &
    fi
    PID=$!
    addr=$(listening "$out")
    result=$("$BIN/load_gen" --addr "$addr" --connections "$conns" --seconds "$SECONDS_PER_ROW") || {
        echo "load_gen failed against $kind: $result" >&2
        exit 1
    }
    peak=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
    stop
    echo "$result" | jq -r --arg peak "${peak:-0}" '"\(.rps) \(.p50_ms) \(.p99_ms) \($peak)"'
}

# The median of a list of numbers.
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

for c in $CONNECTIONS; do
    rps_r=() p50_r=() p99_r=() rps_f=() p50_f=() p99_f=() ratios=() mem_r=0 mem_f=0
    for _ in $(seq "$PAIRS"); do
        read -r a b d m < <(row ref "$c")
        rps_r+=("$a") p50_r+=("$b") p99_r+=("$d")
        mem_r=$((m > mem_r ? m : mem_r))
        read -r e f g n < <(row flow "$c")
        rps_f+=("$e") p50_f+=("$f") p99_f+=("$g")
        mem_f=$((n > mem_f ? n : mem_f))
        ratios+=("$(awk -v r="$a" -v f="$e" 'BEGIN {printf "%.4f", (f > 0 ? r / f : 0)}')")
    done
    lo=$(echo "${ratios[*]}" | tr ' ' '\n' | sort -g | head -1)
    hi=$(echo "${ratios[*]}" | tr ' ' '\n' | sort -g | tail -1)
    awk -v c="$c" -v n="$PAIRS" -v mr="$mem_r" -v mf="$mem_f" \
        -v rr="$(echo "${rps_r[*]}" | median)" -v pr="$(echo "${p50_r[*]}" | median)" -v qr="$(echo "${p99_r[*]}" | median)" \
        -v rf="$(echo "${rps_f[*]}" | median)" -v pf="$(echo "${p50_f[*]}" | median)" -v qf="$(echo "${p99_f[*]}" | median)" \
        -v ratio="$(echo "${ratios[*]}" | median)" -v lo="$lo" -v hi="$hi" 'BEGIN {
        spread = (n > 1 ? sprintf("; %.2f–%.2f× over %d pairs", lo, hi, n) : "")
        printf "| flow serve, %d connections: reference receiver (axum, SQLite, group commit) | %.0f req/s (p50 %.2f ms, p99 %.2f ms) |  | %.1f MB |\n", c, rr, pr, qr, mr / 1024
        printf "| flow serve, %d connections: flow serve, Tag valuable customers | %.0f req/s (p50 %.2f ms, p99 %.2f ms) | reference %.2f× the requests/s of flow%s | %.1f MB |\n", c, rf, pf, qf, ratio, spread, mf / 1024
    }'
done
