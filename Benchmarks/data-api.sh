#!/bin/sh
# The data API against its targets (Docs/benchmarks.md, "Data API"): pages of 100 records of 5 fields,
# metered (the product's route) and unmetered (the baseline route the benchmark server adds), and the
# authenticated GET /v1/audit/checkpoint for the server's per-request ceiling, all on one server
# (Tools/DataAPIServer, in-process Hummingbird), driven by wrk on the same machine.
#
# Each round runs the three loads one after another, DURATION each; ROUNDS rounds, so a change in the
# machine's load falls on all three. Prints each run's calls/s and the load average, then the medians.
# On SQLite; on PostgreSQL too when PDX_TEST_POSTGRES_URL is set. Needs wrk (apt-get install -y wrk).
set -eu
cd "$(dirname "$0")"
DURATION=${DURATION:-6s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
swift build -c release --product data-api-server >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

run() {
    label=$1 database=$2
    env=$(mktemp) results=$(mktemp)
    rm -f "$env"
    PDX_BENCH_DATABASE_URL=$database .build/release/data-api-server "$env" &
    pid=$!
    while [ ! -s "$env" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "data-api-server failed" >&2; exit 1; }
        sleep 0.5
    done
    . "$env"
    page="/v1/data/$DATASET/records?grant_id=$GRANT&fields=road_id,hour,flow,speed,lane&limit=100"
    echo "== $label: $PAGES pages of 100 records, $CONNECTIONS connections, $THREADS wrk thread(s), $DURATION per run"
    for round in $(seq "$ROUNDS"); do
        for kind in metered unmetered checkpoint; do
            case $kind in
                metered) path=$page cursors=$CURSORS ;;
                unmetered) path=/bench/unmetered$page cursors=$CURSORS ;;
                checkpoint) path=/v1/audit/checkpoint cursors= ;;
            esac
            out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s data-api.lua "http://127.0.0.1:$PORT" -- "$path" "$KEY" $cursors)
            rate=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')
            p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
            errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ { $1 = $1; printf "%s; ", $0 }')
            echo "round $round $kind: $rate calls/s, p50 latency $p50, load average $(cut -d' ' -f1-3 /proc/loadavg) ${errors}"
            echo "$kind $rate" >>"$results"
        done
    done
    m=$(awk '$1 == "metered" { print $2 }' "$results" | median)
    u=$(awk '$1 == "unmetered" { print $2 }' "$results" | median)
    c=$(awk '$1 == "checkpoint" { print $2 }' "$results" | median)
    echo "median: metered $m calls/s, unmetered $u calls/s, ratio $(echo "$m $u" | awk '{ printf "%.2f", $1 / $2 }'), checkpoint $c calls/s"
    # SIGKILL: the server's SIGTERM handler does not run (its main queue is never serviced), so it
    # cleans up nothing; its directory goes here, a PostgreSQL schema stays behind.
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$(dirname "$CURSORS")"
    rm -f "$env" "$results"
}

run "SQLite" ""
if [ -n "${PDX_TEST_POSTGRES_URL:-}" ]; then
    run "PostgreSQL" "$PDX_TEST_POSTGRES_URL"
fi
