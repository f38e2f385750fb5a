#!/usr/bin/env bash
# Times pdx-verify's replay on the demo marketplace's export against the integrity check alone on the
# same export (the baseline, same run), and reports peak memory of each.
#
#   Benchmarks/replay-demo.sh [EVENTS]      (default 200000 usage events in the first month)
#
# Needs hyperfine and GNU time (apt-get install -y hyperfine time). The demo is generated once into
# Benchmarks/.build/demo-EVENTS and reused; both commands read it from a warm page cache.
set -euo pipefail

cd "$(dirname "$0")"
events="${1:-200000}"
demo=".build/demo-$events"
runs="${RUNS:-5}"

swift build -c release --package-path .. --product pdx >/dev/null
swift build -c release --package-path .. --product pdx-verify >/dev/null
bin="$(swift build -c release --package-path .. --show-bin-path)"

if [ ! -f "$demo/audit/checkpoint" ]; then
    mkdir -p .build
    "$bin/pdx" demo --out "$demo" --events "$events" > ".build/demo-$events.txt"
fi
entries=$(sed -n 2p "$demo/audit/checkpoint")
echo "export: $entries entries, $(du -sb "$demo/audit" | cut -f1) bytes; machine: $(nproc) cores"

integrity="$bin/pdx-verify $demo/audit --vkey $demo/vkey --integrity-only > /dev/null"
replay="$bin/pdx-verify $demo/audit --vkey $demo/vkey --settlement $demo/reports/2026-10.json --settlement $demo/reports/2026-11.csv > /dev/null"

hyperfine --warmup 1 --runs "$runs" --export-json ".build/replay-$events.json" \
    -n "integrity only (baseline)" "$integrity" \
    -n "integrity + replay + 2 reports" "$replay"

python3 - ".build/replay-$events.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["integrity only (baseline)"]["median"]
ours = results["integrity + replay + 2 reports"]["median"]
print(f"median: integrity only {base:.3f} s, with replay {ours:.3f} s, ratio {ours / base:.2f}")
PY
for cmd in "$integrity" "$replay"; do
    /usr/bin/time -f "peak RSS %M KB: ${cmd%% >*}" bash -c "$cmd"
done
