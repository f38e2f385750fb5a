internal import AuditLog
internal import Foundation
internal import Licensing

/// A versioned schema change. Versions only grow; a released migration is never edited, a later
/// one changes what it did.
struct Migration: Sendable {
    var version: Int
    var name: String
    var statements: @Sendable (SQLDialect) -> [(sql: String, binds: [SQLValue])]
    /// Rewrites rows after the statements ran, for changes SQL alone cannot make.
    var transform: (@Sendable (any SQLConnection) async throws -> Void)? = nil
}

/// The schema, as migrations applied in order at open and recorded in `schema_migrations`.
///
/// The caller runs them inside a transaction that excludes other processes (SQLite:
/// `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock), so two processes opening
/// one database at once apply each migration once.
enum Migrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "audit log and principals") { d in
            [
                // One row: the log's size and the right edge of its tree. Appenders lock it, which
                // serializes them across processes.
                ("""
                CREATE TABLE log_head (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    size \(d.bigint) NOT NULL CHECK (size >= 0),
                    frontier \(d.blob) NOT NULL
                )
                """, []),
                ("INSERT INTO log_head (id, size, frontier) VALUES (1, 0, $1)", [.blob([])]),
                // Times are milliseconds since 1970 UTC in every table: one integer type on both
                // engines, and entries carry millisecond times anyway.
                ("""
                CREATE TABLE log_entries (
                    seq \(d.bigint) PRIMARY KEY CHECK (seq >= 0),
                    time \(d.bigint) NOT NULL,
                    action TEXT NOT NULL,
                    leaf_hash \(d.blob) NOT NULL,
                    body \(d.blob) NOT NULL
                )
                """, []),
                // Perfect-subtree hashes of level 1 and above; level 0 is log_entries.leaf_hash.
                ("""
                CREATE TABLE log_nodes (
                    level INTEGER NOT NULL CHECK (level > 0),
                    idx \(d.bigint) NOT NULL CHECK (idx >= 0),
                    hash \(d.blob) NOT NULL,
                    PRIMARY KEY (level, idx)
                )\(d.withoutRowID)
                """, []),
                ("""
                CREATE TABLE log_checkpoints (
                    size \(d.bigint) PRIMARY KEY CHECK (size >= 0),
                    root \(d.blob) NOT NULL,
                    note TEXT NOT NULL,
                    signed_at \(d.bigint) NOT NULL
                )
                """, []),
                ("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)", []),
                ("""
                CREATE TABLE principals (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    authority_id TEXT NULL,
                    key_id TEXT NOT NULL UNIQUE,
                    key_hash \(d.blob) NOT NULL,
                    created_at \(d.bigint) NOT NULL,
                    expires_at \(d.bigint) NULL,
                    revoked_at \(d.bigint) NULL
                )
                """, []),
            ]
        },
        Migration(version: 2, name: "authorities, operators, principals' e-mail and operator") { d in
            [
                ("""
                CREATE TABLE authorities (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    region TEXT NOT NULL,
                    created_at \(d.bigint) NOT NULL
                )
                """, []),
                ("ALTER TABLE principals ADD COLUMN email TEXT NULL", []),
                ("ALTER TABLE principals ADD COLUMN operator_id TEXT NULL", []),
                // Revoking an operator revokes the keys of every principal bound to it.
                ("CREATE INDEX principals_operator_id ON principals (operator_id)", []),
                // Paging principals walks (created_at, id).
                ("CREATE INDEX principals_created_at ON principals (created_at, id)", []),
                // The whole operator is `document` (canonical JSON, see OperatorDocument); the other
                // columns copy the fields that are searched or sorted on, and `revision` makes an
                // update conditional on the revision it was computed from.
                ("""
                CREATE TABLE operators (
                    id TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    uscc TEXT NOT NULL,
                    applicant_principal_id TEXT NOT NULL,
                    submitted_at \(d.bigint) NOT NULL,
                    revision \(d.bigint) NOT NULL CHECK (revision >= 1),
                    document TEXT NOT NULL
                )
                """, []),
                ("CREATE INDEX operators_submitted_at ON operators (submitted_at, id)", []),
                ("CREATE INDEX operators_status_submitted_at ON operators (status, submitted_at, id)", []),
                ("CREATE INDEX operators_uscc ON operators (uscc, submitted_at)", []),
                ("CREATE INDEX operators_applicant ON operators (applicant_principal_id, submitted_at)", []),
            ]
        },
        Migration(version: 3, name: "idempotency keys") { d in
            [
                // One row per (principal, Idempotency-Key): the request's hash, then the answer once
                // the request succeeded (status NULL while it runs).
                ("""
                CREATE TABLE idempotency_keys (
                    principal_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    status INTEGER NULL,
                    content_type TEXT NULL,
                    body \(d.blob) NULL,
                    created_at \(d.bigint) NOT NULL,
                    PRIMARY KEY (principal_id, key)
                )
                """, []),
            ]
        },
        Migration(version: 4, name: "datasets, grants, grant generation") { d in
            [
                // Like operators: the whole dataset is `document` (see DatasetDocument), the other
                // columns copy what listings filter on, `version` makes an update conditional.
                // `search_text` is id, title and description folded by the program (see
                // DatabaseReader.searchText), so that text search matches alike on both engines
                // whatever their locale.
                ("""
                CREATE TABLE datasets (
                    id TEXT PRIMARY KEY,
                    authority_id TEXT NOT NULL,
                    theme TEXT NOT NULL,
                    openness TEXT NOT NULL,
                    grade TEXT NOT NULL,
                    version \(d.bigint) NOT NULL CHECK (version >= 1),
                    published_at \(d.bigint) NOT NULL,
                    search_text TEXT NOT NULL,
                    document TEXT NOT NULL
                )
                """, []),
                // The catalog lists by id within each filter.
                ("CREATE INDEX datasets_authority ON datasets (authority_id, id)", []),
                ("CREATE INDEX datasets_theme ON datasets (theme, id)", []),
                ("CREATE INDEX datasets_openness ON datasets (openness, id)", []),
                ("CREATE INDEX datasets_grade ON datasets (grade, id)", []),
                // `generation` is the grant_generation value the last insert or update of the row
                // took: a grant directory loads the rows above the generation it has seen.
                ("""
                CREATE TABLE grants (
                    id TEXT PRIMARY KEY,
                    operator_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    requested_at \(d.bigint) NOT NULL,
                    ends_at \(d.bigint) NOT NULL,
                    revision \(d.bigint) NOT NULL CHECK (revision >= 1),
                    generation \(d.bigint) NOT NULL CHECK (generation >= 1),
                    document TEXT NOT NULL
                )
                """, []),
                // Listings walk (requested_at, id) newest first, overall, by operator and by status.
                ("CREATE INDEX grants_requested_at ON grants (requested_at, id)", []),
                ("CREATE INDEX grants_operator ON grants (operator_id, requested_at, id)", []),
                ("CREATE INDEX grants_status ON grants (status, requested_at, id)", []),
                // The expiry sweep looks for active and suspended grants whose term has ended.
                ("CREATE INDEX grants_status_ends_at ON grants (status, ends_at, id)", []),
                ("CREATE INDEX grants_generation ON grants (generation)", []),
                // A grant's datasets, written with it and never changed: a grant's items are fixed at
                // its request. The authority is the one providing the dataset then.
                ("""
                CREATE TABLE grant_datasets (
                    grant_id TEXT NOT NULL REFERENCES grants (id),
                    dataset_id TEXT NOT NULL,
                    authority_id TEXT NOT NULL,
                    PRIMARY KEY (grant_id, dataset_id)
                )\(d.withoutRowID)
                """, []),
                ("CREATE INDEX grant_datasets_dataset ON grant_datasets (dataset_id, grant_id)", []),
                ("CREATE INDEX grant_datasets_authority ON grant_datasets (authority_id, grant_id)", []),
                // One row: the newest generation handed out. Every grant write bumps it and, on
                // PostgreSQL, holds its row lock to the end of the transaction, so generations are
                // taken in commit order.
                ("""
                CREATE TABLE grant_generation (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    value \(d.bigint) NOT NULL CHECK (value >= 0)
                )
                """, []),
                ("INSERT INTO grant_generation (id, value) VALUES (1, 0)", []),
            ]
        },
        Migration(version: 5, name: "usage events and counters") { d in
            [
                // Every accepted usage event, kept forever: its key is the operator's idempotency key,
                // and its digest tells a repeated report (a duplicate) from a reused id (a conflict).
                // A rowid table on SQLite: WITHOUT ROWID measured twice as slow to insert into, every
                // row then going into the key's B-tree at a random place, whole.
                ("""
                CREATE TABLE usage_events (
                    operator_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    digest \(d.blob) NOT NULL CHECK (length(digest) = 32),
                    grant_id TEXT NOT NULL,
                    dataset_id TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    quantity \(d.bigint) NOT NULL CHECK (quantity > 0),
                    occurred_at \(d.bigint) NOT NULL,
                    period TEXT NOT NULL,
                    PRIMARY KEY (operator_id, event_id)
                )
                """, []),
                // The sums the quota check and the usage summary read, so neither scans the events.
                // The operator and authority are copied from the grant so that a summary is cut by
                // party without a join; log_first and log_last are the index range of the
                // usage.recorded entries that added to the row, for tracing a settlement line.
                ("""
                CREATE TABLE usage_counters (
                    grant_id TEXT NOT NULL,
                    dataset_id TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    period TEXT NOT NULL,
                    operator_id TEXT NOT NULL,
                    authority_id TEXT NOT NULL,
                    quantity \(d.bigint) NOT NULL CHECK (quantity >= 0),
                    events \(d.bigint) NOT NULL CHECK (events >= 0),
                    log_first \(d.bigint) NOT NULL CHECK (log_first >= 0),
                    log_last \(d.bigint) NOT NULL CHECK (log_last >= log_first),
                    PRIMARY KEY (grant_id, dataset_id, unit, period)
                )\(d.withoutRowID)
                """, []),
                ("CREATE INDEX usage_counters_operator ON usage_counters (period, operator_id)", []),
                ("CREATE INDEX usage_counters_authority ON usage_counters (period, authority_id)", []),
                // Per day in the marketplace's time zone, for a grant's usage chart.
                ("""
                CREATE TABLE usage_daily (
                    grant_id TEXT NOT NULL,
                    dataset_id TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    day TEXT NOT NULL,
                    quantity \(d.bigint) NOT NULL CHECK (quantity >= 0),
                    events \(d.bigint) NOT NULL CHECK (events >= 0),
                    PRIMARY KEY (grant_id, dataset_id, unit, day)
                )\(d.withoutRowID)
                """, []),
                // The settlement state of each period that has one; usage only asks which are closed.
                ("""
                CREATE TABLE settlement_periods (
                    period TEXT PRIMARY KEY,
                    status TEXT NOT NULL CHECK (status IN ('open', 'closing', 'closed')),
                    closed_at \(d.bigint) NULL
                )
                """, []),
            ]
        },
        Migration(version: 6, name: "settlement reports, parties, adjustments, revenue caps") { d in
            [
                // A closed period's report as its canonical JSON rendering, from which every format
                // is rendered again byte for byte; the digests are those of its settlement.closed entry.
                ("""
                CREATE TABLE settlement_reports (
                    period TEXT PRIMARY KEY,
                    document TEXT NOT NULL,
                    digests TEXT NOT NULL,
                    log_index \(d.bigint) NOT NULL CHECK (log_index >= 0),
                    closed_at \(d.bigint) NOT NULL
                )
                """, []),
                // Each party's total of each closed period, so a close reads an operator's income so
                // far this year without reading reports.
                ("""
                CREATE TABLE settlement_parties (
                    period TEXT NOT NULL,
                    year \(d.bigint) NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('authority', 'platform', 'operator')),
                    party_id TEXT NOT NULL,
                    amount_minor \(d.bigint) NOT NULL,
                    PRIMARY KEY (period, kind, party_id)
                )\(d.withoutRowID)
                """, []),
                ("CREATE INDEX settlement_parties_year ON settlement_parties (year, kind, party_id)", []),
                // Corrections booked into an open period, each pointing at a line of a closed one.
                ("""
                CREATE TABLE settlement_adjustments (
                    id TEXT PRIMARY KEY,
                    period TEXT NOT NULL,
                    corrects TEXT NOT NULL,
                    corrected_period TEXT NOT NULL,
                    amount_minor \(d.bigint) NOT NULL CHECK (amount_minor <> 0),
                    reason TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    created_at \(d.bigint) NOT NULL
                )
                """, []),
                ("CREATE INDEX settlement_adjustments_period ON settlement_adjustments (period, id)", []),
                // Annual revenue caps (最高准许收入) in minor units of the marketplace currency.
                ("""
                CREATE TABLE revenue_caps (
                    operator_id TEXT NOT NULL,
                    year \(d.bigint) NOT NULL,
                    amount_minor \(d.bigint) NOT NULL CHECK (amount_minor >= 0),
                    set_at \(d.bigint) NOT NULL,
                    PRIMARY KEY (operator_id, year)
                )\(d.withoutRowID)
                """, []),
            ]
        },
        Migration(version: 7, name: "personal data out of principals and operators") { d in
            [
                // Personal values (names and contact details of natural persons) live here only:
                // other rows and the log hold a reference and a commitment (PersonalDataCommitment).
                // Erasing clears value and salt and keeps the rest, so the log's commitments still
                // name what was erased and when.
                ("""
                CREATE TABLE personal_data (
                    id TEXT PRIMARY KEY,
                    subject TEXT NOT NULL,
                    field TEXT NOT NULL,
                    value TEXT NULL,
                    salt \(d.blob) NULL,
                    commitment \(d.blob) NOT NULL,
                    created_at \(d.bigint) NOT NULL,
                    erased_at \(d.bigint) NULL,
                    erased_by TEXT NULL,
                    erase_reason TEXT NULL,
                    CHECK ((erased_at IS NULL AND value IS NOT NULL AND salt IS NOT NULL)
                        OR (erased_at IS NOT NULL AND value IS NULL AND salt IS NULL))
                )
                """, []),
                ("CREATE INDEX personal_data_subject ON personal_data (subject, created_at, id)", []),
                ("ALTER TABLE principals ADD COLUMN name_ref TEXT NULL", []),
                ("ALTER TABLE principals ADD COLUMN email_ref TEXT NULL", []),
            ]
        } transform: { connection in
            try await PersonalDataMigration.moveValues(on: connection)
        },
        Migration(version: 8, name: "principals without their personal columns") { _ in
            [
                ("ALTER TABLE principals DROP COLUMN name", []),
                ("ALTER TABLE principals DROP COLUMN email", []),
            ]
        },
        Migration(version: 9, name: "dataset releases") { d in
            [
                // A release is loaded in chunks under a `loading` row (load_id says whose load it is,
                // updated_at when it last made progress) and published by one short transaction;
                // readers see published releases only.
                ("""
                CREATE TABLE releases (
                    dataset_id TEXT NOT NULL,
                    version TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('loading', 'published')),
                    media_type TEXT NOT NULL,
                    sha256 TEXT NULL,
                    row_count \(d.bigint) NOT NULL DEFAULT 0,
                    byte_count \(d.bigint) NOT NULL DEFAULT 0,
                    fields TEXT NOT NULL,
                    loaded_by TEXT NOT NULL,
                    load_id TEXT NOT NULL,
                    started_at \(d.bigint) NOT NULL,
                    updated_at \(d.bigint) NOT NULL,
                    published_at \(d.bigint) NULL,
                    PRIMARY KEY (dataset_id, version)
                )\(d.withoutRowID)
                """, []),
                ("CREATE INDEX releases_published ON releases (dataset_id, state, published_at)", []),
                // One row per record: its values' JSON texts joined by 0x1F, in the release's field order.
                ("""
                CREATE TABLE release_rows (
                    dataset_id TEXT NOT NULL,
                    version TEXT NOT NULL,
                    row_number \(d.bigint) NOT NULL,
                    document TEXT NOT NULL,
                    PRIMARY KEY (dataset_id, version, row_number)
                )\(d.withoutRowID)
                """, []),
                // The equality index of filterable fields: one row per non-null value.
                ("""
                CREATE TABLE release_values (
                    dataset_id TEXT NOT NULL,
                    version TEXT NOT NULL,
                    field TEXT NOT NULL,
                    value TEXT NOT NULL,
                    row_number \(d.bigint) NOT NULL,
                    PRIMARY KEY (dataset_id, version, field, value, row_number)
                )\(d.withoutRowID)
                """, []),
            ]
        },
        Migration(version: 10, name: "usage counters split by source") { d in
            [
                // How much of each counter PDX metered itself (gateway); the rest was declared. Every
                // row before this was declared usage, so the split starts at zero.
                ("ALTER TABLE usage_counters ADD COLUMN gateway_quantity \(d.bigint) NOT NULL DEFAULT 0 CHECK (gateway_quantity >= 0)", []),
                ("ALTER TABLE usage_counters ADD COLUMN gateway_events \(d.bigint) NOT NULL DEFAULT 0 CHECK (gateway_events >= 0)", []),
            ]
        },
        Migration(version: 11, name: "upstream credentials") { d in
            [
                // The credential of an upstream dataset's interface, sealed with AES-256-GCM under
                // the key file of the data directory (the dataset id is the associated data); never
                // in the dataset document, so never in an answer or a log made from it.
                ("""
                CREATE TABLE upstream_credentials (
                    dataset_id TEXT PRIMARY KEY,
                    sealed \(d.blob) NOT NULL,
                    updated_at \(d.bigint) NOT NULL
                )
                """, []),
            ]
        },
        Migration(version: 12, name: "provider-reported usage and discrepancy acknowledgements") { d in
            [
                // Apart from usage_counters: a provider's figure bills no one, it is only compared.
                ("""
                CREATE TABLE provider_usage (
                    authority_id TEXT NOT NULL,
                    report_id TEXT NOT NULL,
                    digest \(d.blob) NOT NULL,
                    grant_id TEXT NOT NULL,
                    dataset_id TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    day TEXT NOT NULL,
                    period TEXT NOT NULL,
                    quantity \(d.bigint) NOT NULL CHECK (quantity >= 0),
                    operator_id TEXT NOT NULL,
                    log_index \(d.bigint) NOT NULL,
                    PRIMARY KEY (authority_id, report_id)
                )\(d.withoutRowID)
                """, []),
                ("CREATE INDEX provider_usage_by_period ON provider_usage (period, grant_id, dataset_id, unit)", []),
                ("""
                CREATE TABLE discrepancy_acknowledgements (
                    period TEXT NOT NULL,
                    grant_id TEXT NOT NULL,
                    dataset_id TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    declared_quantity \(d.bigint) NOT NULL,
                    provider_quantity \(d.bigint) NOT NULL,
                    tolerance_bps INTEGER NOT NULL,
                    reason TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    acknowledged_at \(d.bigint) NOT NULL,
                    log_index \(d.bigint) NOT NULL,
                    PRIMARY KEY (period, grant_id, dataset_id, unit)
                )\(d.withoutRowID)
                """, []),
            ]
        },
        Migration(version: 13, name: "usage counters keep their upstream part") { d in
            [
                // How much of each counter PDX metered forwarding calls to an authority's own
                // interface (upstream). Before this, such calls were counted in the gateway part, and
                // stay there: a closed period keeps its figures, and the log names them `gateway`.
                ("ALTER TABLE usage_counters ADD COLUMN upstream_quantity \(d.bigint) NOT NULL DEFAULT 0 CHECK (upstream_quantity >= 0)", []),
                ("ALTER TABLE usage_counters ADD COLUMN upstream_events \(d.bigint) NOT NULL DEFAULT 0 CHECK (upstream_events >= 0)", []),
            ]
        },
        Migration(version: 14, name: "platform fee as marketplace configuration, grant terms") { d in
            [
                // One row: the fee a grant takes when it becomes active. It starts at the former
                // `--platform-fee-bps` default; changed_at and changed_by stay null until the admin changes it.
                ("""
                CREATE TABLE marketplace_settings (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    platform_fee_bps INTEGER NOT NULL CHECK (platform_fee_bps BETWEEN 0 AND 10000),
                    changed_at \(d.bigint) NULL,
                    changed_by TEXT NULL
                )
                """, []),
                ("INSERT INTO marketplace_settings (id, platform_fee_bps) VALUES (1, $1)", [.integer(Int64(PlatformFee.initialBPS))]),
            ]
        } transform: { connection in
            try await GrantTermsMigration.fixTerms(on: connection)
        },
        Migration(version: 15, name: "console sessions") { d in
            [
                // A session is found by the SHA-256 of its id; the id itself is only in the cookie.
                ("""
                CREATE TABLE console_sessions (
                    id_hash \(d.blob) PRIMARY KEY,
                    key_id TEXT NOT NULL,
                    principal_id TEXT NOT NULL,
                    role TEXT NOT NULL,
                    authority_id TEXT NULL,
                    csrf_token TEXT NOT NULL,
                    created_at \(d.bigint) NOT NULL,
                    last_seen \(d.bigint) NOT NULL,
                    expires_at \(d.bigint) NOT NULL
                )
                """, []),
                ("CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen)", []),
                ("CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at)", []),
                // The one-time tokens of forms a session submitted: a double submission is acted on
                // once, whichever instances the two requests reach.
                ("""
                CREATE TABLE console_form_tokens (
                    session_hash \(d.blob) NOT NULL,
                    token TEXT NOT NULL,
                    used_at \(d.bigint) NOT NULL,
                    PRIMARY KEY (session_hash, token)
                )\(d.withoutRowID)
                """, []),
            ]
        },
        Migration(version: 16, name: "principal generation") { d in
            // One row: a counter that every committed change to what authentication reads (a
            // principal's row, an operator's status) has moved on. Servers keep verified keys in
            // memory and trust them only while this value is the one they were read at (see
            // Docs/design/0026-verified-key-cache.md). Triggers bump it, so no write path can forget
            // to, in the writer's transaction. On PostgreSQL the bump holds the row's lock to the
            // commit, so a value is visible only once every change stamped up to it is; the log head
            // is locked first, as every writer of principals and operators locks it to append, so
            // the two locks are always taken in one order.
            let bump = "UPDATE principal_generation SET value = value + 1 WHERE id = 1"
            var statements: [(sql: String, binds: [SQLValue])] = [
                ("""
                CREATE TABLE principal_generation (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    value \(d.bigint) NOT NULL CHECK (value >= 0)
                )
                """, []),
                ("INSERT INTO principal_generation (id, value) VALUES (1, 0)", []),
            ]
            switch d {
            case .sqlite:
                for table in ["principals", "operators"] {
                    for event in ["INSERT", "UPDATE", "DELETE"] {
                        statements.append(("""
                            CREATE TRIGGER \(table)_\(event.lowercased())_principal_generation AFTER \(event) ON \(table)
                            BEGIN \(bump); END
                            """, []))
                    }
                }
            case .postgres:
                statements.append(("""
                    CREATE FUNCTION bump_principal_generation() RETURNS trigger LANGUAGE plpgsql AS $body$
                    BEGIN
                        PERFORM 1 FROM log_head WHERE id = 1 FOR UPDATE;
                        \(bump);
                        RETURN NULL;
                    END
                    $body$
                    """, []))
                for table in ["principals", "operators"] {
                    statements.append(("""
                        CREATE TRIGGER \(table)_principal_generation AFTER INSERT OR UPDATE OR DELETE ON \(table)
                        FOR EACH STATEMENT EXECUTE FUNCTION bump_principal_generation()
                        """, []))
                }
            }
            return statements
        },
    ]

    /// Applies the migrations `connection` lacks; the caller holds the migration lock in an open
    /// transaction and commits.
    static func apply(on connection: any SQLConnection, now: Date = Date()) async throws {
        let dialect = connection.dialect
        do {
            try await connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at \(dialect.bigint) NOT NULL
                )
                """, [])
            let applied = Set(try await connection.query("SELECT version FROM schema_migrations", []).map { try $0.integer(0) })
            let known = all.map(\.version).max() ?? 0
            if let newest = applied.max(), newest > known {
                throw StorageError(
                    code: .migrationFailed,
                    detail: "the database has schema version \(newest); this program knows up to \(known)"
                )
            }
            for migration in all where !applied.contains(Int64(migration.version)) {
                for (sql, binds) in migration.statements(dialect) {
                    try await connection.execute(sql, binds)
                }
                try await migration.transform?(connection)
                try await connection.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    [.integer(Int64(migration.version)), .text(migration.name), .integer(Timestamp.milliseconds(now))]
                )
            }
        } catch let error as StorageError where error.code != .databaseUnavailable && error.code != .migrationFailed {
            throw StorageError(code: .migrationFailed, detail: "\(error)")
        }
    }
}
