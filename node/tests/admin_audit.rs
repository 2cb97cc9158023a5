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
use geo_node::ledger::model::{Actor, AdminAuditRecord, AdminEntry};
use geo_node::store::{AdminAuditFilter, PostgresStore, SqliteStore, Store};
use serde_json::{json, Value};

/// The entry an admin action hands to the ledger, numbered `i` (in `after_state.n`).
fn entry(i: i64, action: &str, object_type: &str, object_id: &str) -> AdminEntry {
    AdminEntry {
        actor: Actor {
            role: "admin".into(),
            id: (i % 2 == 0).then(|| format!("operator-{i}")),
            request_id: (i % 2 == 0).then(|| format!("req-{i}")),
            ip_address: (i % 3 == 0).then(|| "192.0.2.7".to_owned()),
            user_agent: (i % 5 != 0).then(|| format!("agent «{i}»")),
        },
        action: action.into(),
        object_type: object_type.into(),
        object_id: object_id.into(),
        reason: (i % 3 != 0).then(|| format!("reason «{i}» with 'quotes'")),
        after_state: Some(json!({ "n": i, "status": "suspended", "list": [1, "two", null] })),
    }
}

/// The record the ledger makes of an entry, but for its id and time (which the ledger stamps).
fn expected(e: &AdminEntry) -> AdminAuditRecord {
    AdminAuditRecord {
        id: uuid::Uuid::nil(),
        at: 0,
        actor_role: e.actor.role.clone(),
        actor_id: e.actor.id.clone(),
        action: e.action.clone(),
        object_type: e.object_type.clone(),
        object_id: e.object_id.clone(),
        reason: e.reason.clone(),
        before_state: None,
        after_state: e.after_state.clone(),
        request_id: e.actor.request_id.clone(),
        ip_address: e.actor.ip_address.clone(),
        user_agent: e.actor.user_agent.clone(),
    }
}

/// A listed record without the id and time the ledger stamped.
fn unstamped(r: &AdminAuditRecord) -> AdminAuditRecord {
    AdminAuditRecord {
        id: uuid::Uuid::nil(),
        at: 0,
        ..r.clone()
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
        let entries = vec![
            entry(1, "participant.freeze", "participant", "alice"),
            entry(2, "participant.unfreeze", "participant", "alice"),
            entry(3, "equivalent.create", "equivalent", "GOLD"),
            entry(4, "participant.freeze", "participant", "bob"),
            entry(5, "config.update", "config", "api"),
        ];
        let mut ids = Vec::new();
        for e in &entries {
            let reply = engine
                .submit(Command::AdminAudit(e.clone()))
                .await
                .expect("record");
            let Reply::AdminAudited(id) = reply else {
                panic!("{name}: {reply:?}")
            };
            ids.push(id);
        }
        // No ledger state changed, and the ledger has nothing left to write.
        assert_eq!(engine.read(|l| l.dump()).await, dump, "{name}");
        assert!(!engine.read(|l| l.has_changes()).await, "{name}");
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "{name}: ids repeat");

        let store = engine.store().clone();
        let newest_first: Vec<AdminAuditRecord> = entries.iter().rev().map(expected).collect();
        let listed = list(&store, &filter(None, None, None)).await;
        assert_eq!(
            listed.iter().map(unstamped).collect::<Vec<_>>(),
            newest_first,
            "{name}"
        );
        assert_eq!(
            listed.iter().rev().map(|r| r.id).collect::<Vec<_>>(),
            ids,
            "{name}: the ids the engine answered"
        );
        let listed_before = listed;
        crash(engine).await;

        let engine = common::start(backend.open().await).await;
        let store = engine.store().clone();
        assert_eq!(engine.read(|l| l.dump()).await, dump, "{name}: ledger changed");
        assert_eq!(
            list(&store, &filter(None, None, None)).await,
            listed_before,
            "{name}: after a restart"
        );
        let ids = |v: Vec<AdminAuditRecord>| {
            v.iter()
                .map(|r| r.after_state.as_ref().and_then(|s| s["n"].as_i64()).unwrap_or(-1))
                .collect::<Vec<_>>()
        };
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
        let later = entry(6, "admin.login", "session", "admin-pages");
        engine
            .submit(Command::AdminAudit(later.clone()))
            .await
            .expect("record");
        assert_eq!(
            list(&store, &filter(None, None, None))
                .await
                .first()
                .map(unstamped),
            Some(expected(&later)),
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
        // Recorded by the ledger in the same command as the action: the newest entry is the
        // deletion, with the equivalent as it was before and nothing after.
        assert_eq!(first["before_state"]["code"], "GOLD", "{name}");
        assert_eq!(first["after_state"], Value::Null, "{name}");
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
        assert_eq!(before["items"][1]["after_state"]["status"], "deleted", "{name}");
        assert_eq!(before["items"][1]["before_state"]["status"], "active", "{name}");

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
async fn an_action_whose_audit_write_fails_is_not_applied_and_can_be_retried() {
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
        // The action and its entry are one batch: the failed write applies neither, and the
        // answer says so with a retryable error.
        assert_eq!(r.status, 503, "{name}: {}", r.text);
        assert_eq!(r.body["error"]["code"], "STORAGE_UNAVAILABLE", "{name}");
        raw.execute("ALTER TABLE admin_audit_log_away RENAME TO admin_audit_log")
            .await;
        admin_ok(
            &hub,
            "POST",
            &format!("/api/v1/admin/participants/{a}/freeze"),
            Some(&json!({ "reason": "retried" })),
        )
        .await;
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
            vec![
                item("admin.participants.unfreeze", "participant", a, None),
                item("admin.participants.freeze", "participant", a, Some("retried")),
            ],
            "{name}"
        );
        stop(hub).await;
        backend.cleanup().await;
    }
}

/// An admin action on the ledger and its audit entry are one command: the entry carries the
/// object's state before and after and commits in the same batch as the action; a refused
/// action leaves no entry.
#[tokio::test]
async fn an_audited_action_commits_with_its_entry_or_not_at_all() {
    use geo_node::ledger::model::ParticipantStatus;
    use geo_node::service::{AdminAction, HubService};
    for backend in common::Backend::all().await {
        let name = backend.name();
        let engine = common::start(backend.open().await).await;
        common::setup_ring(&engine, 3, "10").await;
        let service = HubService::new(engine.clone());
        let admin = AdminAction::new(Actor::admin(), "admin.participants.freeze", Some("test".into()));
        let p = service
            .set_participant_status(admin.clone(), common::pid(1), ParticipantStatus::Suspended)
            .await
            .expect("freeze");
        assert_eq!(p.status, ParticipantStatus::Suspended, "{name}");
        let store = engine.store().clone();
        let log = list(&store, &filter(None, None, None)).await;
        assert_eq!(log.len(), 1, "{name}: {log:?}");
        let r = &log[0];
        assert_eq!(r.action, "admin.participants.freeze", "{name}");
        assert_eq!(r.object_id, common::pid(1).to_string(), "{name}");
        assert_eq!(r.before_state.as_ref().unwrap()["status"], "active", "{name}");
        assert_eq!(r.after_state.as_ref().unwrap()["status"], "suspended", "{name}");
        // Refused (unknown participant): no entry.
        let unknown = geo_protocol::Keypair::from_seed(&[200; 32]).pid();
        let refused = service
            .set_participant_status(admin, unknown, ParticipantStatus::Suspended)
            .await;
        assert!(refused.is_err(), "{name}");
        assert_eq!(list(&store, &filter(None, None, None)).await.len(), 1, "{name}");
        crash(engine).await;
        backend.cleanup().await;
    }
}
