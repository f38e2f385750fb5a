#!/usr/bin/env bash
# The duplicate lookup of a usage batch on PostgreSQL, before and after statistics: 500 event ids of
# one operator among 170,000 of its events, as the IN list the store used to send and as the
# LATERAL … LIMIT 1 lookup (Sources/Persistence/UsageStorage.swift, postgresDigestsQuery, which now
# takes the ids as one array).
# Prints each plan's top node and execution time, first on a table never analyzed, then after ANALYZE.
# Usage: Benchmarks/lookup-plan.sh postgres://postgres@127.0.0.1:55433/pdx_bench
set -euo pipefail
url=${1:?usage: $0 POSTGRES_URL}
schema=lookup_plan_$$

ids=$(python3 -c 'print(", ".join("'"'"'b9%d-%d'"'"'" % (i // 1000, i % 1000) for i in range(500)))')
values=$(python3 -c 'print(", ".join("('"'"'b9%d-%d'"'"')" % (i // 1000, i % 1000) for i in range(500)))')
in_list="SELECT event_id, digest FROM usage_events WHERE operator_id = 'op-1' AND event_id IN ($ids)"
lateral="SELECT e.event_id, e.digest FROM (VALUES $values) AS ids (id) CROSS JOIN LATERAL
  (SELECT event_id, digest FROM usage_events WHERE operator_id = 'op-1' AND event_id = ids.id LIMIT 1) AS e"

run() { psql "$url" -qAt -c "SET search_path = $schema" -c "$1"; }
plan() { run "EXPLAIN (ANALYZE, COSTS OFF) $1" | grep -E "^[A-Z]|Index Cond|Execution Time" | sed -E "s/= ANY \(.*\)\)\)$/= ANY (…)))/; s/^/    /"; }

psql "$url" -q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
trap 'psql "$url" -q -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $schema CASCADE"' EXIT
run "CREATE TABLE usage_events (operator_id TEXT NOT NULL, event_id TEXT NOT NULL, digest BYTEA NOT NULL,
     grant_id TEXT NOT NULL, dataset_id TEXT NOT NULL, unit TEXT NOT NULL, quantity BIGINT NOT NULL,
     occurred_at BIGINT NOT NULL, period TEXT NOT NULL, PRIMARY KEY (operator_id, event_id))"
run "INSERT INTO usage_events SELECT 'op-1', 'b' || (i / 1000) || '-' || (i % 1000), sha256(i::text::bytea),
     'gr-1', 'bj-traffic', 'call', 1, 0, '2026-01' FROM generate_series(1, 170000) AS i"

for stage in "never analyzed" "after ANALYZE"; do
  [ "$stage" = "after ANALYZE" ] && run "ANALYZE usage_events"
  echo "$stage, IN list:";        plan "$in_list"; plan "$in_list" | sed -n 's/Execution Time/again/p'
  echo "$stage, LATERAL lookup:"; plan "$lateral"; plan "$lateral" | sed -n 's/Execution Time/again/p'
done
