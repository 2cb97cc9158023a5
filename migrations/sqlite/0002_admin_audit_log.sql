-- The admin audit log: who changed what through the admin API and the admin pages (freezes, bans,
-- configuration and feature flags, equivalents, aborted transactions, logins). Written by the hub's
-- single writer in the batch after the action; listed newest first (by seq). JSON is text; times
-- are Unix milliseconds.
CREATE TABLE admin_audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    actor_role   TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    reason       TEXT,
    before_state TEXT,
    after_state  TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX admin_audit_action ON admin_audit_log(action, seq);
CREATE INDEX admin_audit_object ON admin_audit_log(object_type, object_id, seq);
CREATE INDEX admin_audit_object_id ON admin_audit_log(object_id, seq);
