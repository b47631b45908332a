#!/usr/bin/env bash
# Run every benchmark of flow side by side, in release mode, and print one table of
# medians and ratios:
#   1. condition evaluation on a decoded event: flow from typed slots (and decoding
#      them, and its VM alone), CEL (`cel` crate), Rhai, and hand-written Rust
#      closures over a typed struct (the floor) and over the serde_json::Value
#      (criterion, benches/benches/compare.rs);
#   2. end to end over generated payment_intent.succeeded events (one per line):
#      `flow run --events` with the Tag valuable customers template, against jq,
#      against a Rust program that only parses each line into serde_json::Value, and
#      against the SIMD decode floor: a Rust program that only finds the template's
#      fields in each line with sonic-rs (benches/src/bin/simd_floor.rs);
#   3. parse + check + compile of a generated file of 10,000 workflows; `flow check`
#      of 100,000 workflows; parsing alone, pest against the hand-written parser
#      (benches/src/bin/parse_only.rs);
#   4. flow lsp on a generated file of 500 lines: a one-character didChange until its
#      diagnostics are ready, formatting, document symbols (benches/src/bin/lsp_change.rs);
#   5. many workflows: 1, 10, 100 and 1,000 workflows on payment_intent.succeeded whose
#      `when` is never true (benches/src/bin/gen_never_flows.rs), `flow run --events
#      --skipped omit` over BENCH_MANY_EVENTS events, and 1,000 of them over all the
#      events for peak memory;
#   6. flow serve under load: signed webhooks over 1, 8 and 32 keep-alive connections,
#      against a minimal reference receiver (axum + SQLite, no workflows), with the
#      same load generator (scripts/bench_serve.sh: BENCH_SERVE_SECONDS=3 a row, the two
#      servers taking turns BENCH_SERVE_PAIRS=3 times at each concurrency; medians).
#
# Usage: scripts/bench.sh   (BENCH_EVENTS=1000000 BENCH_MANY_EVENTS=100000 BENCH_RUNS=3 by default;
#                            BENCH_CRITERION=0 reuses the last criterion results)
# The events file is generated under target/bench-data/ and never committed.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${BENCH_EVENTS:-1000000}
MANY_EVENTS=${BENCH_MANY_EVENTS:-100000}
RUNS=${BENCH_RUNS:-3}
DATA=target/bench-data
TEMPLATE=stdlib/templates/tag_valuable_customers.flow
JQ_FILTER='select(.data.object.amount > 100000 and .data.object.currency == "usd")'
mkdir -p "$DATA"

if ! command -v jq >/dev/null; then
    echo "== installing jq" >&2
    apt-get update -qq >&2 && apt-get install -y -qq jq >&2
fi
if [ ! -x /usr/bin/time ]; then
    echo "== installing time" >&2
    apt-get update -qq >&2 && apt-get install -y -qq time >&2
fi

echo "== building (release)" >&2
cargo build --release --quiet -p flow -p flow-benches --bins

BIN=${CARGO_TARGET_DIR:-target}/release
EV="$DATA/events-$EVENTS.jsonl"
if [ ! -s "$EV" ]; then
    echo "== generating $EVENTS events" >&2
    "$BIN/gen_events" "$EVENTS" "$EV.tmp" && mv "$EV.tmp" "$EV"
fi
BYTES=$(stat -c %s "$EV")

if [ "${BENCH_CRITERION:-1}" = 1 ]; then
    echo "== conditions and check+compile (criterion)" >&2
    rm -rf "${CARGO_TARGET_DIR:-target}"/criterion/cond_* "${CARGO_TARGET_DIR:-target}"/criterion/check_compile
    cargo bench --quiet -p flow-benches --bench compare >&2
fi

# The median (ns) of a criterion benchmark.
CRIT=${CARGO_TARGET_DIR:-target}/criterion
crit() { jq '.median.point_estimate' "$CRIT/$1/new/estimates.json"; }

# Run a command RUNS times; print "median_seconds max_rss_kb".
timed() {
    local times=() rss=0 out tmp
    tmp=$(mktemp)
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -o "$tmp" -f "%e %M" "$@" >/dev/null 2>&1 || true
        out=$(tail -1 "$tmp")
        times+=("${out% *}")
        [ "${out#* }" -gt "$rss" ] && rss=${out#* }
    done
    rm -f "$tmp"
    printf '%s\n' "${times[@]}" | sort -g | awk -v r="$rss" '{a[NR]=$1} END {print a[int((NR+1)/2)], r}'
}

echo "== end to end over $EVENTS events ($RUNS runs each)" >&2
# The same events are selected by both: a run that is not skipped is one jq prints.
FLOW_SELECTED=$("$BIN/flow" run "$TEMPLATE" --events "$EV" 2>/dev/null | grep -vc '"status":"skipped"' || true)
JQ_SELECTED=$(jq -c "$JQ_FILTER" "$EV" | wc -l)
read -r T_FLOW R_FLOW < <(timed "$BIN/flow" run "$TEMPLATE" --events "$EV")
read -r T_FLOW1 R_FLOW1 < <(timed "$BIN/flow" run "$TEMPLATE" --events "$EV" --jobs 1)
read -r T_BASE R_BASE < <(timed "$BIN/parse_baseline" "$EV")
read -r T_FLOOR R_FLOOR < <(timed "$BIN/simd_floor" "$EV")
read -r T_JQ R_JQ < <(timed jq -c "$JQ_FILTER" "$EV")

echo "== check + compile of 10,000 workflows through the binary" >&2
"$BIN/gen_flows" 10000 "$DATA/many.flow"
read -r T_CHECK R_CHECK < <(timed "$BIN/flow" check "$DATA/many.flow")
PHASES=$("$BIN/compile_phases" 10000)
echo "== flow check of 100,000 workflows; parse alone, pest against the hand-written parser" >&2
"$BIN/gen_flows" 100000 "$DATA/many-100k.flow"
read -r T_CHECK100 R_CHECK100 < <(timed "$BIN/flow" check "$DATA/many-100k.flow")
PARSE=$("$BIN/parse_only" 10000 "$RUNS")

echo "== flow lsp on a 500-line file" >&2
LSP=$("$BIN/lsp_change" 500)

echo "== many workflows that are never true, over $MANY_EVENTS events (--skipped omit)" >&2
EV_MANY="$DATA/events-$MANY_EVENTS.jsonl"
if [ ! -s "$EV_MANY" ]; then
    "$BIN/gen_events" "$MANY_EVENTS" "$EV_MANY.tmp" && mv "$EV_MANY.tmp" "$EV_MANY"
fi
MANY_ROWS=()
for n in 1 10 100 1000; do
    "$BIN/gen_never_flows" "$n" "$DATA/never-$n.flow"
    read -r t r < <(timed "$BIN/flow" run "$DATA/never-$n.flow" --events "$EV_MANY" --skipped omit)
    MANY_ROWS+=("$n $t $r")
done
read -r T_MANY_BIG R_MANY_BIG < <(timed "$BIN/flow" run "$DATA/never-1000.flow" --events "$EV" --skipped omit)

echo "== flow serve under load, against a reference receiver" >&2
SERVE_ROWS=$(scripts/bench_serve.sh)

JOBS=$(nproc)
{
    echo "| benchmark | median | ratio | peak memory |"
    echo "|---|---:|---|---:|"
    for c in int_eq string_eq range in_set and3 money_gt; do
        f=$(crit "cond_$c/flow"); d=$(crit "cond_$c/flow_decode"); v=$(crit "cond_$c/flow_vm")
        t=$(crit "cond_$c/typed"); k=$(crit "cond_$c/closure")
        e=$(crit "cond_$c/cel"); r=$(crit "cond_$c/rhai")
        awk -v c="$c" -v f="$f" -v d="$d" -v v="$v" -v t="$t" -v k="$k" -v e="$e" -v r="$r" 'BEGIN {
            printf "| condition %s: flow, typed slots | %.2f ns | %.2f× the typed closure |  |\n", c, f, f / t
            printf "| condition %s: flow, decode slots + condition | %.1f ns | %.1f× the typed closure |  |\n", c, d, d / t
            printf "| condition %s: flow VM alone | %.1f ns | %.1f× slower than slots |  |\n", c, v, v / f
            printf "| condition %s: CEL | %.1f ns | %.0f× slower than flow |  |\n", c, e, e / f
            printf "| condition %s: Rhai | %.1f ns | %.0f× slower than flow |  |\n", c, r, r / f
            printf "| condition %s: Rust closure, typed struct | %.2f ns |  |  |\n", c, t
            printf "| condition %s: Rust closure, serde_json::Value | %.1f ns | %.1f× the typed closure |  |\n", c, k, k / t
        }'
    done
    awk -v n="$EVENTS" -v b="$BYTES" -v j="$JOBS" \
        -v tf="$T_FLOW" -v rf="$R_FLOW" -v t1="$T_FLOW1" -v r1="$R_FLOW1" \
        -v tb="$T_BASE" -v rb="$R_BASE" -v tj="$T_JQ" -v rj="$R_JQ" \
        -v tz="$T_FLOOR" -v rz="$R_FLOOR" 'BEGIN {
        mb = b / 1e6
        printf "| %d events (%.0f MB): flow run --events, %d jobs | %.2f s (%.0f MB/s) |  | %.1f MB |\n", n, mb, j, tf, mb / tf, rf / 1024
        printf "| same, flow run --events --jobs 1 | %.2f s (%.0f MB/s) | %.1f× the time of %d jobs | %.1f MB |\n", t1, mb / t1, t1 / tf, j, r1 / 1024
        printf "| same, Rust: parse each line into serde_json::Value | %.2f s (%.0f MB/s) | %.1f× slower than flow (%.1f× than 1 job) | %.1f MB |\n", tb, mb / tb, tb / tf, tb / t1, rb / 1024
        printf "| same, Rust: find the template fields with sonic-rs (SIMD floor, 1 thread) | %.2f s (%.0f MB/s) | flow takes %.2f× its time (%.2f× with 1 job) | %.1f MB |\n", tz, mb / tz, tf / tz, t1 / tz, rz / 1024
        printf "| same, jq -c select(amount > 100000 and currency == usd) | %.2f s (%.0f MB/s) | %.1f× slower than flow (%.1f× than 1 job) | %.1f MB |\n", tj, mb / tj, tj / tf, tj / t1, rj / 1024
    }'
    cc=$(crit "check_compile/10000_workflows")
    awk -v cc="$cc" -v tc="$T_CHECK" -v rc="$R_CHECK" 'BEGIN {
        printf "| 10,000 workflows: parse + check + compile (flow::build) | %.0f ms |  |  |\n", cc / 1e6
        printf "| 10,000 workflows: flow check, whole process | %.2f s |  | %.1f MB |\n", tc, rc / 1024
    }'
    awk -v tc="$T_CHECK100" -v rc="$R_CHECK100" -v tc10="$T_CHECK" 'BEGIN {
        printf "| 100,000 workflows: flow check, whole process | %.2f s | %.1f× the time of 10,000 | %.1f MB |\n", tc, (tc10 > 0 ? tc / tc10 : 0), rc / 1024
    }'
    # parse_only prints "... parse with pest P ms, hand-written F ms (Rx)".
    read -r PP PF < <(sed -E 's/.*pest ([0-9.]+) ms, hand-written ([0-9.]+) ms.*/\1 \2/' <<<"$PARSE")
    awk -v p="$PP" -v f="$PF" 'BEGIN {
        printf "| 10,000 workflows: parse alone, pest | %.1f ms | %.1f× the hand-written parser |  |\n", p, (f > 0 ? p / f : 0)
        printf "| 10,000 workflows: parse alone, hand-written parser | %.1f ms |  |  |\n", f
    }'
    t1=${MANY_ROWS[0]#* }; t1=${t1% *}
    for row in "${MANY_ROWS[@]}"; do
        read -r n t r <<<"$row"
        awk -v n="$n" -v t="$t" -v r="$r" -v t1="$t1" -v e="$MANY_EVENTS" 'BEGIN {
            printf "| %d never-true workflows, %d events: flow run --events --skipped omit | %.2f s | %.1f× the time of 1 workflow | %.1f MB |\n", n, e, t, (t1 > 0 ? t / t1 : 0), r / 1024
        }'
    done
    awk -v t="$T_MANY_BIG" -v r="$R_MANY_BIG" -v e="$EVENTS" 'BEGIN {
        printf "| 1000 never-true workflows, %d events: same | %.2f s |  | %.1f MB |\n", e, t, r / 1024
    }'
    echo "$SERVE_ROWS"
}
echo
echo "$PHASES"
echo "$PARSE"
echo "$LSP"
echo "selected events: flow $FLOW_SELECTED, jq $JQ_SELECTED"
echo "machine: $(nproc) cores, $(uname -m); load average $(cut -d' ' -f1-3 /proc/loadavg)"
