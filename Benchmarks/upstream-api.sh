#!/bin/sh
# An upstream dataset's call through PDX against the same call sent to the interface directly
# (Docs/benchmarks.md, "Upstream calls"): the interface (in the server's process, Tools/DataAPIServer)
# answers 100 records of five fields and one more; through PDX each call is checked, forwarded,
# cut to the granted fields and metered durably (the group committer) before it is answered.
#
# Each round runs both loads one after the other, DURATION each: once with one connection (the
# latency a call adds: the p50 difference), once with CONNECTIONS connections (calls/s). ROUNDS
# rounds; prints each run and then the medians. On SQLite; on PostgreSQL too when
# PDX_TEST_POSTGRES_URL is set. Needs wrk (apt-get install -y wrk).
set -eu
cd "$(dirname "$0")"
DURATION=${DURATION:-6s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
swift build -c release --product data-api-server >/dev/null

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# wrk's latency in milliseconds, whatever unit it printed.
ms() { awk '{ v = $1; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.3f\n", v }'; }

run() {
    label=$1 database=$2
    env=$(mktemp) results=$(mktemp)
    rm -f "$env"
    PDX_BENCH_ROWS=100 PDX_BENCH_DATABASE_URL=$database .build/release/data-api-server "$env" &
    pid=$!
    while [ ! -s "$env" ]; do
        kill -0 "$pid" 2>/dev/null || { echo "data-api-server failed" >&2; exit 1; }
        sleep 0.5
    done
    . "$env"
    through="http://127.0.0.1:$PORT /v1/data/$UPSTREAM_DATASET/upstream/records?grant_id=$UPSTREAM_GRANT $KEY"
    direct="http://127.0.0.1:$UPSTREAM_PORT /records $UPSTREAM_SECRET"
    echo "== $label: 100 records a call; $DURATION per run; 1 connection (latency), $CONNECTIONS connections (rate)"
    for round in $(seq "$ROUNDS"); do
        for kind in through direct; do
            eval "set -- \$$kind"
            for connections in 1 "$CONNECTIONS"; do
                out=$(wrk -t1 -c"$connections" -d"$DURATION" --latency -s data-api.lua "$1" -- "$2" "$3")
                rate=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')
                p50=$(echo "$out" | awk '$1 == "50%" { print $2 }' | ms)
                errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ { $1 = $1; printf "%s; ", $0 }')
                echo "round $round $kind c=$connections: $rate calls/s, p50 ${p50} ms, load average $(cut -d' ' -f1-3 /proc/loadavg) ${errors}"
                echo "$kind $connections $rate $p50" >>"$results"
            done
        done
    done
    tl=$(awk '$1 == "through" && $2 == 1 { print $4 }' "$results" | median)
    dl=$(awk '$1 == "direct" && $2 == 1 { print $4 }' "$results" | median)
    tr=$(awk -v c="$CONNECTIONS" '$1 == "through" && $2 == c { print $3 }' "$results" | median)
    dr=$(awk -v c="$CONNECTIONS" '$1 == "direct" && $2 == c { print $3 }' "$results" | median)
    echo "median: p50 through PDX $tl ms, direct $dl ms, added $(echo "$tl $dl" | awk '{ printf "%.3f", $1 - $2 }') ms; calls/s through PDX $tr, direct $dr"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$(dirname "$CURSORS")"
    rm -f "$env" "$results"
}

run "SQLite" ""
if [ -n "${PDX_TEST_POSTGRES_URL:-}" ]; then run "PostgreSQL" "$PDX_TEST_POSTGRES_URL"; fi
