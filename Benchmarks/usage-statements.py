#!/usr/bin/env python3
"""The PostgreSQL statements of one usage transaction (a batch of 1,000 events), before and after
they were cut to fewer, array-bound statements, replayed with pgbench against one database.

Before: BEGIN, the head's lock, the grant generation, the duplicate lookup as two VALUES lists of 512
ids, four small reads (operator, counters, deliveries, closed periods), the head read again and the
latest checkpoint (the log's own append), then one INSERT each for the log's entries and nodes, the
head's UPDATE, a 1,000-row VALUES INSERT of the events, the counters' and day counters' upserts, COMMIT:
18 statements. After: the same reads with one duplicate lookup of an id array, no second head read,
one statement for entries, nodes and head, one for events, counters and day counters, COMMIT: 12 statements.

The tables are the store's (usage_events, usage_counters, usage_daily, log_*), in a schema of their
own, dropped at the end. Values are literals (pgbench -M simple), so the arrays are parsed from text
where the server receives them bound in binary; that weighs against the "after" form, if at all.
One client is one server instance's commit loop (it commits one group at a time); two clients are two
instances taking turns at the head's lock. Rounds alternate before/after, so both see the same load.

Usage: Benchmarks/usage-statements.py postgres://postgres@127.0.0.1:55432/pdx_bench [rounds] [seconds]
"""
import hashlib, os, statistics, subprocess, sys, tempfile

url = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 8
seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
schema = f"usage_statements_{os.getpid()}"
N = 1000

def digest(i): return hashlib.sha256(str(i).encode()).hexdigest()
ids = [f":p-{i:04d}" for i in range(N)]  # :p is set afresh by pgbench for every transaction
grants = [f"gr-{i % 10}" for i in range(N)]
datasets = [["bj-traffic", "tj-port"][i % 2] for i in range(N)]
units = ["record" if i % 3 == 0 else "call" for i in range(N)]
quantities = [str(i % 9 + 1) for i in range(N)]
times = [str(1767542400000 + i * 600) for i in range(N)]
keys = sorted(set(zip(grants, datasets, units)))
K = len(keys)
body = "x" * 56000  # one usage.recorded entry of 1,000 events is about 56 KiB

def arr(xs): return "'{" + ",".join(xs) + "}'"
def barr(xs): return "'{" + ",".join('"\\\\x' + x + '"' for x in xs) + "}'"

counter_conflict = ("ON CONFLICT (grant_id, dataset_id, unit, period) DO UPDATE SET quantity = usage_counters.quantity + excluded.quantity, "
    "events = usage_counters.events + excluded.events, gateway_quantity = usage_counters.gateway_quantity + excluded.gateway_quantity, "
    "gateway_events = usage_counters.gateway_events + excluded.gateway_events, upstream_quantity = usage_counters.upstream_quantity + excluded.upstream_quantity, "
    "upstream_events = usage_counters.upstream_events + excluded.upstream_events, log_first = LEAST(usage_counters.log_first, excluded.log_first), "
    "log_last = GREATEST(usage_counters.log_last, excluded.log_last)")
day_conflict = ("ON CONFLICT (grant_id, dataset_id, unit, day) DO UPDATE SET quantity = usage_daily.quantity + excluded.quantity, "
    "events = usage_daily.events + excluded.events")
lookup = "CROSS JOIN LATERAL (SELECT event_id, digest FROM usage_events WHERE operator_id = 'op-1' AND event_id = ids.id LIMIT 1) AS e"
counter_keys = " OR ".join(f"(grant_id = '{g}' AND dataset_id = '{d}' AND unit = '{u}' AND period = '2026-01')" for g, d, u in keys)
reads = [
    "SELECT id FROM operators WHERE id = 'op-1';",
    f"SELECT grant_id, dataset_id, unit, period, quantity FROM usage_counters WHERE {counter_keys};",
    "SELECT id FROM operators WHERE id IN ('bj-traffic', 'tj-port');",
    "SELECT id FROM operators WHERE id IN ('2026-01');",
]
start = ["\\set p random(1, 900000000000000)", "BEGIN;", "SELECT size, frontier FROM log_head WHERE id = 1 FOR UPDATE;",
         "SELECT value FROM grant_generation WHERE id = 1;"]
next_seq = "(SELECT coalesce(max(seq), 0) + 1 FROM log_entries)"
next_node = "(SELECT coalesce(max(idx), 0) + 1 FROM log_nodes WHERE level = 1)"

before = list(start)
for chunk in (ids[:512], ids[512:] + [ids[-1]] * (1024 - N)):
    before.append(f"SELECT e.event_id, e.digest FROM (VALUES {', '.join(f'({chr(39)}{x}{chr(39)})' for x in chunk)}) AS ids (id) {lookup};")
before += reads
before.append("SELECT size, frontier FROM log_head WHERE id = 1 FOR UPDATE;")
before.append("SELECT size, root, note, signed_at FROM log_checkpoints ORDER BY size DESC LIMIT 1;")
before.append(f"INSERT INTO log_entries (seq, time, action, leaf_hash, body) VALUES ({next_seq}, 1, 'usage.recorded', '\\x{digest(1)}', '{body}');")
before.append(f"INSERT INTO log_nodes (level, idx, hash) VALUES (1, {next_node}, '\\x{digest(2)}');")
before.append(f"UPDATE log_head SET size = size + 1, frontier = '\\x{digest(3)}' WHERE id = 1;")
rows = ", ".join(f"('op-1', '{ids[i]}', '\\x{digest(i)}', '{grants[i]}', '{datasets[i]}', '{units[i]}', {quantities[i]}, {times[i]}, '2026-01')" for i in range(N))
before.append(f"INSERT INTO usage_events (operator_id, event_id, digest, grant_id, dataset_id, unit, quantity, occurred_at, period) VALUES {rows};")
rows = ", ".join(f"('{g}', '{d}', '{u}', '2026-01', 'op-1', 'bj', 5, 1, 1, 2, 0, 0, 0, 0)" for g, d, u in keys)
before.append("INSERT INTO usage_counters (grant_id, dataset_id, unit, period, operator_id, authority_id, quantity, events, log_first, log_last, "
              f"gateway_quantity, gateway_events, upstream_quantity, upstream_events) VALUES {rows} {counter_conflict};")
rows = ", ".join(f"('{g}', '{d}', '{u}', '2026-01-05', 5, 1)" for g, d, u in keys)
before.append(f"INSERT INTO usage_daily (grant_id, dataset_id, unit, day, quantity, events) VALUES {rows} {day_conflict};")
before.append("COMMIT;")

after = list(start)
after.append(f"SELECT e.event_id, e.digest FROM unnest({arr(ids)}::text[]) AS ids (id) {lookup};")
after += reads
after.append("SELECT size, root, note, signed_at FROM log_checkpoints ORDER BY size DESC LIMIT 1;")
after.append("WITH entries AS (INSERT INTO log_entries (seq, time, action, leaf_hash, body) SELECT * FROM unnest("
             f"ARRAY[{next_seq}]::int8[], '{{1}}'::int8[], '{{usage.recorded}}'::text[], {barr([digest(1)])}::bytea[], ARRAY['{body}'::bytea])), "
             f"nodes AS (INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest('{{1}}'::int8[], ARRAY[{next_node}]::int8[], {barr([digest(2)])}::bytea[])) "
             f"UPDATE log_head SET size = size + 1, frontier = '\\x{digest(3)}' WHERE id = 1;")
events = ("INSERT INTO usage_events (operator_id, event_id, digest, grant_id, dataset_id, unit, quantity, occurred_at, period) SELECT * FROM unnest("
          f"{arr(['op-1'] * N)}::text[], {arr(ids)}::text[], {barr([digest(i) for i in range(N)])}::bytea[], {arr(grants)}::text[], {arr(datasets)}::text[], "
          f"{arr(units)}::text[], {arr(quantities)}::int8[], {arr(times)}::int8[], {arr(['2026-01'] * N)}::text[])")
counters = ("INSERT INTO usage_counters (grant_id, dataset_id, unit, period, operator_id, authority_id, quantity, events, log_first, log_last, "
            "gateway_quantity, gateway_events, upstream_quantity, upstream_events) SELECT * FROM unnest("
            f"{arr([k[0] for k in keys])}::text[], {arr([k[1] for k in keys])}::text[], {arr([k[2] for k in keys])}::text[], {arr(['2026-01'] * K)}::text[], "
            f"{arr(['op-1'] * K)}::text[], {arr(['bj'] * K)}::text[], " + ", ".join(f"{arr([v] * K)}::int8[]" for v in "5 1 1 2 0 0 0 0".split())
            + f") {counter_conflict}")
days = ("INSERT INTO usage_daily (grant_id, dataset_id, unit, day, quantity, events) SELECT * FROM unnest("
        f"{arr([k[0] for k in keys])}::text[], {arr([k[1] for k in keys])}::text[], {arr([k[2] for k in keys])}::text[], "
        f"{arr(['2026-01-05'] * K)}::text[], {arr(['5'] * K)}::int8[], {arr(['1'] * K)}::int8[]) {day_conflict}")
after.append(f"WITH events AS ({events}), counters AS ({counters}) {days};")
after.append("COMMIT;")

schema_sql = f"""
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS {schema} CASCADE;
CREATE SCHEMA {schema};
SET search_path = {schema};
CREATE TABLE log_head (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, frontier BYTEA NOT NULL);
INSERT INTO log_head VALUES (1, 0, '');
CREATE TABLE log_entries (seq BIGINT PRIMARY KEY CHECK (seq >= 0), time BIGINT NOT NULL, action TEXT NOT NULL, leaf_hash BYTEA NOT NULL, body BYTEA NOT NULL);
CREATE TABLE log_nodes (level INTEGER NOT NULL CHECK (level > 0), idx BIGINT NOT NULL CHECK (idx >= 0), hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
CREATE TABLE log_checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL, signed_at BIGINT NOT NULL);
CREATE TABLE grant_generation (id INTEGER PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO grant_generation VALUES (1, 1);
CREATE TABLE operators (id TEXT PRIMARY KEY);
INSERT INTO operators VALUES ('op-1');
CREATE TABLE usage_events (operator_id TEXT NOT NULL, event_id TEXT NOT NULL, digest BYTEA NOT NULL CHECK (length(digest) = 32),
  grant_id TEXT NOT NULL, dataset_id TEXT NOT NULL, unit TEXT NOT NULL, quantity BIGINT NOT NULL CHECK (quantity > 0),
  occurred_at BIGINT NOT NULL, period TEXT NOT NULL, PRIMARY KEY (operator_id, event_id));
CREATE TABLE usage_counters (grant_id TEXT NOT NULL, dataset_id TEXT NOT NULL, unit TEXT NOT NULL, period TEXT NOT NULL,
  operator_id TEXT NOT NULL, authority_id TEXT NOT NULL, quantity BIGINT NOT NULL, events BIGINT NOT NULL, log_first BIGINT NOT NULL,
  log_last BIGINT NOT NULL, gateway_quantity BIGINT NOT NULL, gateway_events BIGINT NOT NULL, upstream_quantity BIGINT NOT NULL,
  upstream_events BIGINT NOT NULL, PRIMARY KEY (grant_id, dataset_id, unit, period));
CREATE INDEX usage_counters_operator ON usage_counters (period, operator_id);
CREATE INDEX usage_counters_authority ON usage_counters (period, authority_id);
CREATE TABLE usage_daily (grant_id TEXT NOT NULL, dataset_id TEXT NOT NULL, unit TEXT NOT NULL, day TEXT NOT NULL,
  quantity BIGINT NOT NULL, events BIGINT NOT NULL, PRIMARY KEY (grant_id, dataset_id, unit, day));
"""

work = tempfile.mkdtemp(prefix="usage-statements-")
scripts = {}
for name, statements in (("before", before), ("after", after)):
    scripts[name] = os.path.join(work, f"{name}.sql")
    with open(scripts[name], "w") as f:
        f.write("\n".join(statements) + "\n")
subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", schema_sql], check=True)
env = dict(os.environ, PGOPTIONS=f"-c search_path={schema}")
latencies = {(name, clients): [] for name in scripts for clients in (1, 2)}
try:
    for round in range(rounds):
        for name in ("before", "after"):
            for clients in (1, 2):
                log_dir = tempfile.mkdtemp(dir=work)
                subprocess.run(["pgbench", "-n", "-M", "simple", "-f", scripts[name], "-c", str(clients), "-T", str(seconds), "-l", url],
                               cwd=log_dir, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for log in os.listdir(log_dir):
                    with open(os.path.join(log_dir, log)) as f:
                        latencies[(name, clients)] += [int(line.split()[2]) / 1000 for line in f]
    print(f"{rounds} rounds of {seconds} s each, load average now {open('/proc/loadavg').read().split()[0]}")
    print("| statements | clients | transactions | median ms | events/s (1,000 a transaction) |")
    print("|---|---:|---:|---:|---:|")
    for (name, clients), values in latencies.items():
        rate = len(values) * N / (rounds * seconds)
        print(f"| {name} ({len(before if name == 'before' else after) - 1}) | {clients} | {len(values)} | {statistics.median(values):.1f} | {rate:,.0f} |")
finally:
    subprocess.run(["psql", url, "-q", "-c", f"SET client_min_messages = warning; DROP SCHEMA IF EXISTS {schema} CASCADE"])
