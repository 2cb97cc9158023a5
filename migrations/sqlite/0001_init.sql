-- GEO v0.1 hub data model (SQLite). Amounts are exact decimal strings; times are Unix milliseconds.
CREATE TABLE participants (
    pid                TEXT PRIMARY KEY,
    public_key         TEXT NOT NULL UNIQUE,
    display_name       TEXT NOT NULL,
    kind               TEXT NOT NULL,
    profile            TEXT NOT NULL,
    status             TEXT NOT NULL,
    verification_level INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE equivalents (
    code        TEXT PRIMARY KEY,
    precision   INTEGER NOT NULL CHECK (precision BETWEEN 0 AND 8),
    symbol      TEXT,
    description TEXT,
    metadata    TEXT NOT NULL,
    is_active   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE trust_lines (
    id           TEXT PRIMARY KEY,
    from_pid     TEXT NOT NULL REFERENCES participants(pid),
    to_pid       TEXT NOT NULL REFERENCES participants(pid),
    equivalent   TEXT NOT NULL REFERENCES equivalents(code),
    limit_amount TEXT NOT NULL,
    policy       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK (from_pid <> to_pid)
);
CREATE UNIQUE INDEX trust_lines_one_open ON trust_lines(from_pid, to_pid, equivalent) WHERE status <> 'closed';
CREATE INDEX trust_lines_to ON trust_lines(to_pid);

CREATE TABLE debts (
    equivalent TEXT NOT NULL REFERENCES equivalents(code),
    debtor     TEXT NOT NULL REFERENCES participants(pid),
    creditor   TEXT NOT NULL REFERENCES participants(pid),
    amount     TEXT NOT NULL,
    PRIMARY KEY (equivalent, debtor, creditor),
    CHECK (debtor <> creditor)
);

CREATE TABLE transactions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx_id        TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    initiator    TEXT,
    equivalent   TEXT,
    from_pid     TEXT,
    to_pid       TEXT,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,
    request_hash TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX transactions_from ON transactions(from_pid, seq);
CREATE INDEX transactions_to ON transactions(to_pid, seq);
CREATE INDEX transactions_state ON transactions(state) WHERE state = 'PREPARED';

CREATE TABLE prepare_locks (
    tx_id      TEXT PRIMARY KEY,
    equivalent TEXT NOT NULL,
    from_pid   TEXT NOT NULL,
    to_pid     TEXT NOT NULL,
    routes     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE integrity_audit_log (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL,
    operation_type        TEXT NOT NULL,
    tx_id                 TEXT,
    equivalent_code       TEXT NOT NULL,
    state_checksum_before TEXT NOT NULL,
    state_checksum_after  TEXT NOT NULL,
    affected_participants TEXT NOT NULL,
    invariants_checked    TEXT NOT NULL,
    verification_passed   INTEGER NOT NULL,
    error_details         TEXT,
    created_at            INTEGER NOT NULL
);
CREATE INDEX audit_eq ON integrity_audit_log(equivalent_code, seq);

CREATE TABLE integrity_checkpoints (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    equivalent_code TEXT NOT NULL,
    checksum        TEXT NOT NULL,
    digest          TEXT NOT NULL,
    invariants      TEXT NOT NULL,
    passed          INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE integrity_violations (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    equivalent_code TEXT NOT NULL,
    kind            TEXT NOT NULL,
    details         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER
);

CREATE TABLE auth_challenges (
    challenge  TEXT PRIMARY KEY,
    pid        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    pid        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
