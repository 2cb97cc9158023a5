-- Where an admin action came from, as the reference hub records it: the id of the HTTP request
-- (`X-Request-ID`, or one the hub generated), the client's address and its User-Agent. Nullable:
-- entries written before this migration, and actions taken outside an HTTP request, have none.
ALTER TABLE admin_audit_log ADD COLUMN request_id TEXT;
ALTER TABLE admin_audit_log ADD COLUMN ip_address TEXT;
ALTER TABLE admin_audit_log ADD COLUMN user_agent TEXT;

-- Admin actions are named as the reference hub names them (`admin.<objects>.<verb>`), so that
-- its admin UI and filters by action find ours; entries written under the earlier names are
-- renamed (the names are all the hub ever wrote, see node/src/api/audit.rs).
UPDATE admin_audit_log SET action = 'admin.participants.' || substr(action, 13) WHERE action LIKE 'participant.%';
UPDATE admin_audit_log SET action = 'admin.equivalents.create' WHERE action = 'equivalent.create';
UPDATE admin_audit_log SET action = 'admin.equivalents.patch' WHERE action = 'equivalent.update';
UPDATE admin_audit_log SET action = 'admin.equivalents.delete' WHERE action = 'equivalent.delete';
UPDATE admin_audit_log SET action = 'admin.config.patch' WHERE action = 'config.update';
UPDATE admin_audit_log SET action = 'admin.feature_flags.patch' WHERE action = 'feature_flags.update';
UPDATE admin_audit_log SET action = 'admin.transactions.abort' WHERE action = 'transaction.abort';
UPDATE admin_audit_log SET action = 'admin.trustlines.' || substr(action, 11) WHERE action LIKE 'trustline.%';
UPDATE admin_audit_log SET action = 'admin.clearing.' || substr(action, 10) WHERE action LIKE 'clearing.%';
UPDATE admin_audit_log SET action = 'admin.integrity.' || substr(action, 11) WHERE action LIKE 'integrity.%';
