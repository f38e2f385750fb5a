#!/bin/sh
# The cost of a request (Docs/benchmarks.md, "Cost of a request"): a bare Hummingbird route (the
# baseline), the product's /healthz, /healthz on a server with --test-clock, and an operator's
# authenticated GET /v1/audit/checkpoint, all served by one process (Tools/RequestCostServer) and
# driven by wrk on the same machine.
#
# Each round runs the four loads one after another, DURATION each; ROUNDS rounds, so a change in the
# machine's load falls on all four. Prints each run's requests/s and the load average, then the
# medians and each median as a fraction of the bare route's. On SQLite; on PostgreSQL too when
# PDX_TEST_POSTGRES_URL is set. The servers log as `pdx serve` does by default (an access-log line a
# request, JSON on standard error, here sent to /dev/null). Needs wrk (apt-get install -y wrk).
set -eu
cd "$(dirname "$0")"
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
swift build -c release --product request-cost-server >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run() {
    label=$1 database=$2
    env=$(mktemp) results=$(mktemp)
    rm -f "$env"
    PDX_BENCH_DATABASE_URL=$database .build/release/request-cost-server "$env" 2>/dev/null &
    pid=$!
    while [ ! -s "$env" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "request-cost-server failed" >&2; exit 1; }
        sleep 0.5
    done
    . "$env"
    echo "== $label: $CONNECTIONS connections, $THREADS wrk thread(s), $DURATION per run, $ROUNDS rounds"
    for round in $(seq "$ROUNDS"); do
        for kind in bare healthz healthz-test-clock checkpoint; do
            case $kind in
                bare) url=http://127.0.0.1:$BARE_PORT path=/bare ;;
                healthz) url=http://127.0.0.1:$PORT path=/healthz ;;
                healthz-test-clock) url=http://127.0.0.1:$TEST_CLOCK_PORT path=/healthz ;;
                checkpoint) url=http://127.0.0.1:$PORT path=/v1/audit/checkpoint ;;
            esac
            out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s data-api.lua "$url" -- "$path" "$KEY")
            rate=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')
            p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
            errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ { $1 = $1; printf "%s; ", $0 }')
            echo "round $round $kind: $rate req/s, p50 latency $p50, load average $(cut -d' ' -f1-3 /proc/loadavg) ${errors}"
            echo "$kind $rate" >>"$results"
        done
    done
    b=$(awk '$1 == "bare" { print $2 }' "$results" | median)
    printf "median: bare %s req/s" "$b"
    for kind in healthz healthz-test-clock checkpoint; do
        m=$(awk -v k="$kind" '$1 == k { print $2 }' "$results" | median)
        printf ", %s %s (%s×)" "$kind" "$m" "$(echo "$m $b" | awk '{ printf "%.2f", $1 / $2 }')"
    done
    echo
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    for schema in $SCHEMAS; do
        psql "$database" -q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $schema CASCADE" || true
    done
    rm -rf $DIRECTORIES
    rm -f "$env" "$results"
}

run "SQLite" ""
if [ -n "${PDX_TEST_POSTGRES_URL:-}" ]; then
    run "PostgreSQL" "$PDX_TEST_POSTGRES_URL"
fi
