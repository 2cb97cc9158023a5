//! The persisted admin audit log. Through the engine: records round-trip through every store
//! (memory, SQLite, PostgreSQL when `GEO_TEST_POSTGRES_URL` is set), newest first, filtered and
//! paged, unchanged by a restart, without touching ledger state, and their ids are unique. Over
//! HTTP: admin actions of the JSON API and the admin pages are listed by
//! `GET /api/v1/admin/audit-log` (and the integrity page) before and after a restart on the same
//! database, and an admin action whose audit write fails still succeeds.

mod api_support;
mod common;

use std::sync::Arc;

use api_support::{join, Hub, Resp, ADMIN};
use geo_node::engine::{Command, Engine, EngineConfig, Reply};
use geo_node::ledger::model::AdminAuditRecord;
use geo_node::store::{AdminAuditFilter, PostgresStore, SqliteStore, Store};
use serde_json::{json, Value};

fn record(i: i64, action: &str, object_type: &str, object_id: &str) -> AdminAuditRecord {
    AdminAuditRecord {
        id: uuid::Uuid::new_v4(),
        at: 1_700_000_000_000 + i,
        actor_role: "admin".into(),
        actor_id: (i % 2 == 0).then(|| format!("operator-{i}")),
        action: action.into(),
        object_type: object_type.into(),
        object_id: object_id.into(),
        reason: (i % 3 != 0).then(|| format!("reason «{i}» with 'quotes'")),
        before_state: (i % 2 == 1).then(|| json!({ "status": "active", "n": i })),
        after_state: (i % 4 != 3).then(|| json!({ "status": "suspended", "list": [1, "two", null] })),
        request_id: (i % 2 == 0).then(|| format!("req-{i}")),
        ip_address: (i % 3 == 0).then(|| "192.0.2.7".to_owned()),
        user_agent: (i % 5 != 0).then(|| format!("agent «{i}»")),
    }
}

fn filter(action: Option<&str>, object_type: Option<&str>, object_id: Option<&str>) -> AdminAuditFilter {
    AdminAuditFilter {
        action: action.map(str::to_owned),
        object_type: object_type.map(str::to_owned),
        object_id: object_id.map(str::to_owned),
        limit: 100,
        offset: 0,
    }
}

async fn list(store: &Arc<dyn Store>, f: &AdminAuditFilter) -> Vec<AdminAuditRecord> {
    store.admin_audit_log(f).await.expect("admin audit log")
}

/// Stops an engine as a crash would and releases its store.
async fn crash(engine: Engine) {
    engine.kill();
    common::wait_until(10, || !engine.is_running()).await;
    engine.store().close().await;
}

#[tokio::test]
async fn admin_audit_records_persist_on_every_store() {
    for backend in common::Backend::all().await {
        let name = backend.name();
        eprintln!("admin audit records on {name}");
        let engine = common::start(backend.open().await).await;
        common::setup_ring(&engine, 4, "10").await;
        let dump = engine.read(|l| l.dump()).await;
        let records = vec![
            record(1, "participant.freeze", "participant", "alice"),
            record(2, "participant.unfreeze", "participant", "alice"),
            record(3, "equivalent.create", "equivalent", "GOLD"),
            record(4, "participant.freeze", "participant", "bob"),
            record(5, "config.update", "config", "api"),
        ];
        for r in &records {
            let reply = engine
                .submit(Command::AdminAudit(r.clone()))
                .await
                .expect("record");
            assert!(matches!(reply, Reply::AdminAudited(id) if id == r.id), "{name}");
        }
        // No ledger state changed, and the ledger has nothing left to write.
        assert_eq!(engine.read(|l| l.dump()).await, dump, "{name}");
        assert!(!engine.read(|l| l.has_changes()).await, "{name}");
        // Ids are unique: the same record again is refused by the store, nothing is written.
        let again = engine.submit(Command::AdminAudit(records[0].clone())).await;
        assert!(again.is_err(), "{name}: {again:?}");

        let store = engine.store().clone();
        let newest_first: Vec<AdminAuditRecord> = records.iter().rev().cloned().collect();
        assert_eq!(
            list(&store, &filter(None, None, None)).await,
            newest_first,
            "{name}"
        );
        crash(engine).await;

        let engine = common::start(backend.open().await).await;
        let store = engine.store().clone();
        assert_eq!(engine.read(|l| l.dump()).await, dump, "{name}: ledger changed");
        assert_eq!(
            list(&store, &filter(None, None, None)).await,
            newest_first,
            "{name}: after a restart"
        );
        let ids = |v: Vec<AdminAuditRecord>| v.iter().map(|r| r.at - 1_700_000_000_000).collect::<Vec<_>>();
        assert_eq!(
            ids(list(&store, &filter(Some("participant.freeze"), None, None)).await),
            vec![4, 1],
            "{name}"
        );
        assert_eq!(
            ids(list(&store, &filter(None, Some("participant"), None)).await),
            vec![4, 2, 1],
            "{name}"
        );
        assert_eq!(
            ids(list(&store, &filter(None, None, Some("alice"))).await),
            vec![2, 1],
            "{name}"
        );
        assert_eq!(
            ids(list(
                &store,
                &filter(Some("participant.freeze"), Some("participant"), Some("alice"))
            )
            .await),
            vec![1],
            "{name}"
        );
        assert!(
            list(&store, &filter(Some("participant.ban"), None, None))
                .await
                .is_empty(),
            "{name}"
        );
        let page = AdminAuditFilter {
            limit: 2,
            offset: 1,
            ..AdminAuditFilter::default()
        };
        assert_eq!(ids(list(&store, &page).await), vec![4, 3], "{name}");
        let count = |f: AdminAuditFilter| {
            let store = store.clone();
            async move { store.admin_audit_count(&f).await.expect("count") }
        };
        assert_eq!(
            count(page.clone()).await,
            5,
            "{name}: paging is ignored by the count"
        );
        assert_eq!(
            count(filter(Some("participant.freeze"), None, None)).await,
            2,
            "{name}"
        );
        assert_eq!(count(filter(None, None, Some("alice"))).await, 2, "{name}");
        assert_eq!(
            count(filter(Some("participant.ban"), None, None)).await,
            0,
            "{name}"
        );
        // Appending goes on after the restart, newest first.
        let later = record(6, "admin.login", "session", "admin-pages");
        engine
            .submit(Command::AdminAudit(later.clone()))
            .await
            .expect("record");
        assert_eq!(
            list(&store, &filter(None, None, None)).await.first(),
            Some(&later),
            "{name}"
        );
        crash(engine).await;
        backend.cleanup().await;
    }
}

async fn admin(hub: &Hub, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let bytes = body.map(|b| b.to_string().into_bytes());
    hub.raw(method, path, None, bytes, &[("x-admin-token", ADMIN)])
        .await
}

async fn admin_ok(hub: &Hub, method: &str, path: &str, body: Option<&Value>) -> Value {
    let r = admin(hub, method, path, body).await;
    assert_eq!(r.status, 200, "{method} {path}: {}", r.text);
    r.body
}

/// The `(action, object_type, object_id, reason)` of each listed item.
fn summary(log: &Value) -> Vec<(String, String, String, Option<String>)> {
    log["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (
                s("action"),
                s("object_type"),
                s("object_id"),
                i["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn item(
    action: &str,
    object_type: &str,
    object_id: &str,
    reason: Option<&str>,
) -> (String, String, String, Option<String>) {
    (
        action.to_owned(),
        object_type.to_owned(),
        object_id.to_owned(),
        reason.map(str::to_owned),
    )
}

/// Stops a hub and its engine and releases the store, as before a restart.
async fn stop(hub: Hub) {
    let engine = hub.state.engine().clone();
    hub.stop().await;
    common::wait_until(10, || !engine.is_running()).await;
    engine.store().close().await;
}

async fn start(backend: &common::Backend) -> Hub {
    Hub::on_store(
        backend.open().await,
        api_support::unlimited(),
        EngineConfig::default(),
    )
    .await
}

#[tokio::test]
async fn admin_actions_are_listed_after_a_restart() {
    for backend in common::Backend::all().await {
        let name = backend.name();
        eprintln!("admin actions and restart on {name}");
        let hub = start(&backend).await;
        let alice = join(&hub, "alice").await;
        let bob = join(&hub, "bob").await;
        let (a, b) = (alice.pid.as_str(), bob.pid.as_str());
        let empty = admin_ok(&hub, "GET", "/api/v1/admin/audit-log", None).await;
        assert_eq!(
            empty,
            json!({ "items": [], "page": 1, "per_page": 50, "total": 0 }),
            "{name}"
        );

        let reason = |r: &str| json!({ "reason": r });
        admin_ok(
            &hub,
            "POST",
            &format!("/api/v1/admin/participants/{a}/freeze"),
            Some(&reason("suspicious")),
        )
        .await;
        admin_ok(
            &hub,
            "POST",
            &format!("/api/v1/admin/participants/{a}/unfreeze"),
            Some(&json!({})),
        )
        .await;
        admin_ok(
            &hub,
            "POST",
            "/api/v1/admin/equivalents",
            Some(&json!({ "code": "GOLD", "precision": 0, "reason": "new unit" })),
        )
        .await;
        admin_ok(
            &hub,
            "PATCH",
            "/api/v1/admin/equivalents/GOLD",
            Some(&json!({ "description": "grams of gold" })),
        )
        .await;
        admin_ok(
            &hub,
            "PATCH",
            "/api/v1/admin/feature-flags",
            Some(&json!({ "clearing_enabled": false, "reason": "maintenance" })),
        )
        .await;
        admin_ok(
            &hub,
            "PATCH",
            "/api/v1/admin/config",
            Some(&json!({ "updates": { "access_ttl_seconds": 600 }, "reason": "shorter" })),
        )
        .await;
        admin_ok(
            &hub,
            "POST",
            &format!("/api/v1/admin/participants/{b}/ban"),
            Some(&reason("spam")),
        )
        .await;
        admin_ok(
            &hub,
            "DELETE",
            "/api/v1/admin/equivalents/GOLD",
            Some(&reason("unused")),
        )
        .await;
        let expected = vec![
            item("admin.equivalents.delete", "equivalent", "GOLD", Some("unused")),
            item("admin.participants.ban", "participant", b, Some("spam")),
            item("admin.config.patch", "config", "api", Some("shorter")),
            item(
                "admin.feature_flags.patch",
                "feature_flags",
                "api",
                Some("maintenance"),
            ),
            item("admin.equivalents.patch", "equivalent", "GOLD", None),
            item("admin.equivalents.create", "equivalent", "GOLD", Some("new unit")),
            item("admin.participants.unfreeze", "participant", a, None),
            item("admin.participants.freeze", "participant", a, Some("suspicious")),
        ];
        let before = admin_ok(&hub, "GET", "/api/v1/admin/audit-log", None).await;
        assert_eq!(summary(&before), expected, "{name}");
        // The shape of an item: the keys of before the log was persisted, plus where the action
        // came from (request id, client address, User-Agent) as the reference records it.
        let first = &before["items"][0];
        let mut keys: Vec<&str> = first
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "action",
                "actor_id",
                "actor_role",
                "after_state",
                "before_state",
                "id",
                "ip_address",
                "object_id",
                "object_type",
                "reason",
                "request_id",
                "timestamp",
                "user_agent"
            ],
            "{name}"
        );
        assert_eq!(first["actor_role"], "admin", "{name}");
        assert_eq!(first["actor_id"], Value::Null, "{name}");
        assert_eq!(first["before_state"], Value::Null, "{name}");
        assert_eq!(first["after_state"]["code"], "GOLD", "{name}");
        assert!(
            uuid::Uuid::parse_str(first["id"].as_str().unwrap_or_default()).is_ok(),
            "{first}"
        );
        assert!(
            first["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z') && t.len() == 24),
            "{first}"
        );
        assert_eq!(
            before["items"][2]["after_state"],
            json!({ "updated": ["access_ttl_seconds"], "values": { "access_ttl_seconds": 600 } }),
            "{name}"
        );
        assert_eq!(
            before["items"][1]["after_state"],
            json!({ "status": "deleted" }),
            "{name}"
        );

        stop(hub).await;
        let hub = start(&backend).await;
        let after = admin_ok(&hub, "GET", "/api/v1/admin/audit-log", None).await;
        assert_eq!(after, before, "{name}: the log changed across the restart");

        // Filters and paging, as before.
        let get = |q: String| {
            let hub = &hub;
            async move { summary(&admin_ok(hub, "GET", &format!("/api/v1/admin/audit-log?{q}"), None).await) }
        };
        assert_eq!(
            get("action=participant.freeze".into()).await,
            vec![expected[7].clone()],
            "{name}"
        );
        assert_eq!(
            get("object_type=equivalent".into()).await,
            vec![expected[0].clone(), expected[4].clone(), expected[5].clone()],
            "{name}"
        );
        assert_eq!(
            get(format!("object_id={a}")).await,
            vec![expected[6].clone(), expected[7].clone()],
            "{name}"
        );
        assert_eq!(
            get(format!(
                "object_type=participant&object_id={b}&action=participant.ban"
            ))
            .await,
            vec![expected[1].clone()],
            "{name}"
        );
        assert_eq!(get("object_type=nothing".into()).await, Vec::new(), "{name}");
        assert_eq!(
            get("per_page=3&page=2".into()).await,
            expected[3..6].to_vec(),
            "{name}"
        );
        assert_eq!(
            get("per_page=3&page=3".into()).await,
            expected[6..].to_vec(),
            "{name}"
        );

        // The admin pages: the login is an admin action too, and the integrity page lists the
        // latest actions, those from before the restart included.
        let login = hub
            .raw(
                "POST",
                "/admin/login",
                None,
                Some(format!("token={ADMIN}").into_bytes()),
                &[],
            )
            .await;
        assert_eq!(login.status, 303, "{name}: {}", login.text);
        let cookie = login
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("session cookie")
            .to_owned();
        let latest = get("per_page=1".into()).await;
        assert_eq!(
            latest,
            vec![item("admin.login", "session", "admin-pages", None)],
            "{name}"
        );
        let page = hub
            .raw("GET", "/admin/integrity", None, None, &[("cookie", &cookie)])
            .await;
        assert_eq!(page.status, 200, "{name}: {}", page.text);
        let actions = &page.text[page
            .text
            .find("id=\"admin-actions\"")
            .expect("admin actions table")..];
        for action in [
            "admin.login",
            "admin.equivalents.delete",
            "admin.participants.freeze",
        ] {
            assert!(
                actions.contains(action),
                "{name}: {action} missing from {actions}"
            );
        }
        assert!(actions.contains("suspicious"), "{name}");
        stop(hub).await;
        backend.cleanup().await;
    }
}

/// The raw pool of a SQL test database, to change its schema behind the hub's back.
enum Raw {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

impl Raw {
    async fn execute(&self, sql: &str) {
        match self {
            Raw::Sqlite(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
            Raw::Postgres(s) => sqlx::query(sql).execute(s.pool()).await.map(|_| ()),
        }
        .expect(sql);
    }
}

/// When the audit entry cannot be written (here its table is missing), the admin action that
/// already happened still answers success and stays done; the hub goes on, and entries are
/// recorded again once the table is back.
#[tokio::test]
async fn a_failed_audit_write_does_not_fail_the_action() {
    let mut backends = vec![common::Backend::sqlite()];
    if let Some(pg) = common::Backend::postgres().await {
        backends.push(pg);
    }
    for backend in backends {
        let name = backend.name();
        eprintln!("failed audit write on {name}");
        let (store, raw): (Arc<dyn Store>, Raw) = match &backend {
            common::Backend::Sqlite { url, .. } => {
                let s = Arc::new(SqliteStore::open(url).await.expect("open sqlite"));
                (s.clone(), Raw::Sqlite(s))
            }
            common::Backend::Postgres { url, .. } => {
                let s = Arc::new(PostgresStore::open(url).await.expect("open postgres"));
                (s.clone(), Raw::Postgres(s))
            }
            common::Backend::Memory(_) => unreachable!("SQL backends only"),
        };
        let hub = Hub::on_store(store, api_support::unlimited(), EngineConfig::default()).await;
        let alice = join(&hub, "alice").await;
        let a = alice.pid.as_str();
        raw.execute("ALTER TABLE admin_audit_log RENAME TO admin_audit_log_away")
            .await;
        let r = admin(
            &hub,
            "POST",
            &format!("/api/v1/admin/participants/{a}/freeze"),
            Some(&json!({ "reason": "while the log is away" })),
        )
        .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        assert_eq!(r.body["status"], "suspended", "{name}");
        raw.execute("ALTER TABLE admin_audit_log_away RENAME TO admin_audit_log")
            .await;
        // The freeze stands (the writer rebuilt its ledger from the store after the failed
        // batch), and the next action is recorded.
        let listed = admin_ok(&hub, "GET", "/api/v1/admin/participants?per_page=200", None).await;
        let status = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|p| p["pid"] == a)
            .map(|p| p["status"].clone());
        assert_eq!(status, Some(json!("suspended")), "{name}");
        admin_ok(
            &hub,
            "POST",
            &format!("/api/v1/admin/participants/{a}/unfreeze"),
            Some(&json!({})),
        )
        .await;
        let log = admin_ok(&hub, "GET", "/api/v1/admin/audit-log", None).await;
        assert_eq!(
            summary(&log),
            vec![item("admin.participants.unfreeze", "participant", a, None)],
            "{name}"
        );
        stop(hub).await;
        backend.cleanup().await;
    }
}
