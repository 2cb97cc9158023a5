-- Load order: participants, equivalents and trust lines are loaded in the order they were created,
-- so that a ledger rebuilt from the store numbers them as the original did (and routes and clears
-- the same way). Existing rows get the order they were loaded in before this column existed.
ALTER TABLE participants ADD COLUMN ord BIGINT NOT NULL DEFAULT 0;
ALTER TABLE equivalents ADD COLUMN ord BIGINT NOT NULL DEFAULT 0;
ALTER TABLE trust_lines ADD COLUMN ord BIGINT NOT NULL DEFAULT 0;

UPDATE participants SET ord = r.n
FROM (SELECT pid, ROW_NUMBER() OVER (ORDER BY created_at, pid) - 1 AS n FROM participants) AS r
WHERE participants.pid = r.pid;

UPDATE equivalents SET ord = r.n
FROM (SELECT code, ROW_NUMBER() OVER (ORDER BY created_at, code) - 1 AS n FROM equivalents) AS r
WHERE equivalents.code = r.code;

UPDATE trust_lines SET ord = r.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) - 1 AS n FROM trust_lines) AS r
WHERE trust_lines.id = r.id;
