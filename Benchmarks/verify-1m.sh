#!/usr/bin/env bash
# Times pdx-verify on a generated export against sha256sum over the same files, and reports peak memory.
#
#   Benchmarks/verify-1m.sh [COUNT]        (default 1000000 entries, about 300 MB)
#
# Needs hyperfine and GNU time (apt-get install -y hyperfine time). The export is generated once into
# Benchmarks/.build/export-COUNT and reused. Both commands read the same files from a warm page cache
# (hyperfine's warm-up run), so the comparison is CPU work, not disk speed.
set -euo pipefail

cd "$(dirname "$0")"
count="${1:-1000000}"
export_dir=".build/export-$count"
runs="${RUNS:-5}"

swift build -c release --product make-export >/dev/null
swift build -c release --product pdx-verify --package-path .. >/dev/null
verify="$(swift build -c release --package-path .. --show-bin-path)/pdx-verify"

if [ ! -f "$export_dir/checkpoint" ]; then
    rm -rf "$export_dir"
    echo "generating $count entries into $export_dir"
    .build/release/make-export "$export_dir" "$count"
fi
files=$(find "$export_dir/" -type f | wc -l)
bytes=$(du -sb "$export_dir" | cut -f1)
echo "export: $files files, $bytes bytes; machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

sha256_all="find $export_dir/ -type f -print0 | xargs -0 sha256sum > /dev/null"
# The generated entries are shaped like the server's but are not a marketplace: integrity only.
verify_pinned="$verify $export_dir --vkey $export_dir/vkey --integrity-only > /dev/null"

hyperfine --warmup 1 --runs "$runs" --export-json ".build/verify-$count.json" \
    -n "sha256sum (baseline)" "$sha256_all" \
    -n "pdx-verify" "$verify_pinned"

python3 - ".build/verify-$count.json" <<'EOF'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = results["sha256sum (baseline)"]["median"]
ours = results["pdx-verify"]["median"]
print(f"median: pdx-verify {ours:.3f} s, sha256sum {base:.3f} s, ratio {ours / base:.2f} (target <= 3)")
EOF

echo "peak memory (GNU time, maximum resident set size):"
/usr/bin/time -f "  pdx-verify: %M KiB, %e s" "$verify" "$export_dir" --vkey "$export_dir/vkey" > /dev/null
/usr/bin/time -f "  sha256sum (largest of the xargs batches): %M KiB, %e s" sh -c "$sha256_all"
