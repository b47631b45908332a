# Sourced by the serve benchmarks (bench_serve.sh, bench_serve_shared.sh).
#
# listening OUT [TRIES]: wait until a server's output file OUT has its "listening"
# log line and print the address from it; give up after TRIES looks 50 ms apart
# (default 200, 10 s), saying what the server printed.
listening() {
    local i
    for i in $(seq "${2:-200}"); do
        if grep -q '"listening"' "$1" 2>/dev/null; then
            grep -m1 '"listening"' "$1" | jq -r '.addr'
            return
        fi
        sleep 0.05
    done
    echo "the server did not start: $(cat "$1")" >&2
    exit 1
}
