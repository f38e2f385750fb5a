#!/usr/bin/env bash
# A year of a busy marketplace through pdx-verify: generates EVENTS usage events (pdx generate-log's
# writer), then times, in the same run and on the same files, sha256sum over every file (the
# baseline), pdx-verify --integrity-only, and pdx-verify's full replay; each RUNS times, reporting
# the median wall time and the largest peak RSS (GNU time's maximum resident set size).
#
#   Benchmarks/verify-year.sh [EVENTS]      (default 10000000: about 350 MB of export, 410 MB of temporary file)
#
# Needs GNU time (apt-get install -y time). The export is generated once into
# Benchmarks/.build/year-EVENTS and reused (`pdx generate-log --events EVENTS --out` that directory
# writes the same bytes); every file is read once first, so all three read from a warm page cache
# and the comparison is CPU work, not disk speed. The replay's temporary
# file goes to TMPDIR (default /tmp).
set -euo pipefail

cd "$(dirname "$0")"
events="${1:-10000000}"
export_dir=".build/year-$events"
runs="${RUNS:-3}"

swift build -c release --product pdx-verify --package-path .. >/dev/null
verify="$(swift build -c release --package-path .. --show-bin-path)/pdx-verify"

if [ ! -f "$export_dir/checkpoint" ]; then
    rm -rf "$export_dir"
    swift build -c release --product make-year-log >/dev/null
    echo "generating $events usage events into $export_dir"
    start=$(date +%s.%N)
    .build/release/make-year-log "$export_dir" "$events"
    echo "generated in $(awk "BEGIN { print $(date +%s.%N) - $start }") s"
fi
files=$(find "$export_dir/" -type f | wc -l)
bytes=$(du -sb "$export_dir" | cut -f1)
echo "export: $files files, $bytes bytes, $(sed -n 2p "$export_dir/checkpoint") entries; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# name, then the command; prints "name median_wall_seconds max_rss_kib median_cpu_seconds" (user +
# system: on a shared machine the CPU time says more than the wall time).
measure() {
    local name="$1"; shift
    local times=() cpus=() peak=0
    for _ in $(seq "$runs"); do
        local out timing
        timing=$(mktemp)
        /usr/bin/time -o "$timing" -f "%e %M %U %S" "$@" > /dev/null 2>&1 || true
        out=$(tail -1 "$timing")
        rm -f "$timing"
        read -r wall rss user system <<< "$out"
        times+=("$wall")
        cpus+=("$(awk "BEGIN { print $user + $system }")")
        [ "$rss" -gt "$peak" ] && peak="$rss"
    done
    local median cpu
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$name $median $peak $cpu"
}

# Into the page cache first: the three then compare CPU work, not disk speed.
find "$export_dir/" -type f -print0 | xargs -0 cat > /dev/null
sha=$(measure sha256sum sh -c "find $export_dir/ -type f -print0 | xargs -0 sha256sum")
integrity=$(measure integrity "$verify" "$export_dir" --vkey "$export_dir/vkey" --integrity-only)
replay=$(measure replay "$verify" "$export_dir" --vkey "$export_dir/vkey")
"$verify" "$export_dir" --vkey "$export_dir/vkey" | tail -1 | cut -c1-240

python3 - "$events" "$sha" "$integrity" "$replay" <<'PY'
import sys
events = int(sys.argv[1])
rows = [a.split() for a in sys.argv[2:]]
base = float(rows[0][1])
cpu_base = float(rows[0][3])
for name, seconds, rss, cpu in rows:
    seconds, cpu = float(seconds), float(cpu)
    line = f"{name:10} median {seconds:7.2f} s wall, {cpu:7.2f} s CPU, peak RSS {int(rss) / 1024:6.0f} MB"
    if name != "sha256sum":
        line += f", {seconds / base:.2f}x sha256sum wall ({cpu / cpu_base:.2f}x CPU)"
    if name == "replay":
        line += f", {events / seconds:,.0f} events/s wall ({events / cpu:,.0f} per CPU second)"
    print(line)
print("targets: replay >= 1,000,000 events/s and <= 256 MB; integrity <= 3x sha256sum")
PY
