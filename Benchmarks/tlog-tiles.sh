#!/bin/sh
# The public log's tile serving (Docs/benchmarks.md, "Public log"): wrk against `pdx serve` on a demo
# marketplace, for a full hash tile and a full entry bundle (immutable, served from the process's tile
# cache after the first read), a partial tile (read from the database each time) and the checkpoint.
#
#   Benchmarks/tlog-tiles.sh        (DURATION=6s ROUNDS=3 CONNECTIONS=32 THREADS=1 EVENTS=2000; PDX_BIN=path skips the release build)
#
# Prints each run's requests/s and the load average, then the medians. Needs wrk (apt-get install -y wrk).
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-6s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
EVENTS=${EVENTS:-2000}
PORT=${PORT:-18091}
if [ -n "${PDX_BIN:-}" ]; then
    pdx=$PDX_BIN    # another build of pdx, e.g. .build/debug/pdx
else
    swift build -c release --product pdx >/dev/null
    pdx="$(swift build -c release --show-bin-path)/pdx"
fi
root=$(mktemp -d)
"$pdx" demo --out "$root/demo" --events "$EVENTS" >/dev/null
"$pdx" serve --data-dir "$root/demo/data" --test-clock --port "$PORT" --log-level error &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$root"' EXIT
until curl -fsS "http://127.0.0.1:$PORT/tlog/checkpoint" >"$root/checkpoint" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "pdx serve failed" >&2; exit 1; }
    sleep 0.5
done
size=$(sed -n 2p "$root/checkpoint")
partial="tile/0/$(printf '%03d' $((size / 256 % 1000))).p/$((size % 256))"
[ $((size % 256)) -gt 0 ] || partial=tile/0/000
echo "== log of $size entries; $CONNECTIONS connections, $THREADS wrk thread(s), $DURATION per run; $(nproc) cores"
results=$(mktemp)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for round in $(seq "$ROUNDS"); do
    for path in tile/0/000 tile/entries/000 "$partial" checkpoint; do
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/tlog/$path")
        rate=$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')
        p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
        errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ { $1 = $1; printf "%s; ", $0 }')
        echo "round $round /tlog/$path: $rate requests/s, p50 $p50, load average $(cut -d' ' -f1-3 /proc/loadavg) ${errors}"
        echo "$path $rate" >>"$results"
    done
done
for path in tile/0/000 tile/entries/000 "$partial" checkpoint; do
    echo "median /tlog/$path: $(awk -v p="$path" '$1 == p { print $2 }' "$results" | median) requests/s"
done
rm -f "$results"
