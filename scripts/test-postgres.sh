#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the tests of `flow serve --db postgres://…`:
# Debian's PostgreSQL (installed when missing), a new cluster in a temporary folder,
# run by its own system user (`postgres`, or the caller when not root), listening on
# 127.0.0.1 at a free port, with trust authentication for the role `flow`.
#
#   eval "$(scripts/test-postgres.sh start DIR)"   # prints: export FLOW_TEST_POSTGRES=…
#                                                  #    and FLOW_TEST_POSTGRES_TLS=…
#   scripts/test-postgres.sh stop DIR
#
# The server also takes TLS, with a certificate for 127.0.0.1 from a CA made here
# (openssl): FLOW_TEST_POSTGRES_TLS is the same database with `sslmode=require` and
# `sslrootcert` naming that CA; FLOW_TEST_POSTGRES connects without TLS.
# The cluster is for tests only: fsync is off (the tests kill flow, not the database),
# unless FLOW_PG_DURABLE=1 (the load test's, which compares with SQLite's durable commits).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop DIR" >&2
    exit 2
fi

bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    if [ -z "$(bin_dir)" ]; then
        echo "installing PostgreSQL from Debian's packages" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    BIN=$(bin_dir)
    if [ -z "$BIN" ]; then
        echo "error: no PostgreSQL server under /usr/lib/postgresql" >&2
        exit 1
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$dir"
    fi
    # A CA, and the server's certificate for 127.0.0.1 signed by it.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=flow test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1\n' > "$dir/san.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" >/dev/null 2>&1
    chmod 600 "$dir/server.key"
    chmod 644 "$dir/ca.pem"
    if [ "$(id -u)" = 0 ]; then
        chown postgres "$dir/server.key" "$dir/server.pem"
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$BIN/initdb" -D "$dir/data" -U flow --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fsync=off
    if [ "${FLOW_PG_DURABLE:-0}" = 1 ]; then
        fsync=on
    fi
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=200 -c ssl=on -c ssl_cert_file=$dir/server.pem -c ssl_key_file=$dir/server.key" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    "$BIN/pg_isready" -h 127.0.0.1 -p "$port" -t 30 >&2
    echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)" >&2
    echo "export FLOW_TEST_POSTGRES=postgres://flow@127.0.0.1:$port/postgres"
    echo "export FLOW_TEST_POSTGRES_TLS='postgres://flow@127.0.0.1:$port/postgres?sslmode=require&sslrootcert=$dir/ca.pem'"
    ;;
stop)
    BIN=$(bin_dir)
    if [ -n "$BIN" ] && [ -d "$dir/data" ]; then
        as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
