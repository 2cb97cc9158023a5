//! The hub's own OpenAPI document (`GET /api/v1/openapi.json`) against the hub itself and
//! against the GEO v0.1 reference contract.
//!
//! - Every documented route is routed (no `404 NOT_FOUND` / `405`), every documented required
//!   body field and query parameter is enforced, and the documented examples pass validation.
//! - The client paths, methods, required request-body fields, required query parameters and
//!   success statuses are compared with `shared/reference/geo-v0.1/openapi.yaml`; every
//!   difference must be a row of the "Contract differences" table of `docs/api.md`, and every
//!   row there must still be a difference. `GEO_SHARED_REFERENCE` overrides the reference
//!   directory (`.../shared/reference`, or the `geo-v0.1` directory itself).

mod api_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use api_support::{join, trust, Hub, ADMIN};
use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

// ---------------------------------------------------------------------------------------------
// Reading the documents

fn reference_file() -> PathBuf {
    let dir = std::env::var_os("GEO_SHARED_REFERENCE").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference")),
        PathBuf::from,
    );
    let nested = dir.join("geo-v0.1/openapi.yaml");
    if nested.exists() {
        nested
    } else {
        dir.join("openapi.yaml")
    }
}

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(s.clone()), Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => panic!("unsupported YAML key {other:?}"),
                };
                m.insert(key, yaml_to_json(v));
            }
            Value::Object(m)
        }
        Yaml::Null => Value::Null,
        Yaml::Alias(_) | Yaml::BadValue => panic!("unsupported YAML node {y:?}"),
    }
}

fn reference() -> Value {
    let path = reference_file();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the reference contract {}: {e}", path.display()));
    let docs = YamlLoader::load_from_str(&text).expect("reference YAML parses");
    yaml_to_json(docs.first().expect("one YAML document"))
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let target = r
                .strip_prefix('#')
                .and_then(|p| doc.pointer(p))
                .unwrap_or_else(|| panic!("unresolved $ref {r}"));
            resolve(doc, target)
        }
        None => v,
    }
}

/// Required properties of a schema (`allOf` parts united).
fn required_of(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let s = resolve(doc, schema);
    let mut out: BTreeSet<String> = s["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if let Some(parts) = s["allOf"].as_array() {
        for p in parts {
            out.extend(required_of(doc, p));
        }
    }
    out
}

/// What is compared of one operation.
#[derive(Debug, Default)]
struct Op {
    body_required: BTreeSet<String>,
    query_required: BTreeSet<String>,
    ok: BTreeSet<String>,
}

fn operations(doc: &Value) -> BTreeMap<(String, String), Op> {
    let mut out = BTreeMap::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let mut o = Op::default();
            let params = item["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(op["parameters"].as_array().into_iter().flatten());
            for p in params {
                let p = resolve(doc, p);
                if p["in"] == "query" && p["required"] == true {
                    o.query_required
                        .insert(p["name"].as_str().expect("parameter name").to_owned());
                }
            }
            if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
                o.body_required = required_of(doc, schema);
            }
            if let Some(r) = op["responses"].as_object() {
                o.ok = r
                    .keys()
                    .filter(|k| k.starts_with('2') || k.starts_with("10"))
                    .cloned()
                    .collect();
            }
            out.insert((m.to_uppercase(), path.clone()), o);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The table of docs/api.md

/// One row of the "Contract differences" table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    kind: String,
    method: String,
    path: String,
    detail: String,
}

impl Row {
    fn new(kind: &str, method: &str, path: &str, detail: &str) -> Row {
        Row {
            kind: kind.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            detail: detail.to_owned(),
        }
    }

    fn markdown(&self) -> String {
        format!(
            "| {} | {} | `{}` | {} | <reason> |",
            self.kind,
            self.method,
            self.path,
            if self.detail == "-" {
                "-".to_owned()
            } else {
                format!("`{}`", self.detail)
            }
        )
    }
}

const KINDS: [&str; 6] = [
    "excluded",
    "missing",
    "extra",
    "body-required",
    "query-required",
    "status",
];

/// The rows of the table under `## Contract differences` with their reasons.
fn listed() -> Vec<(Row, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    let text = std::fs::read_to_string(path).expect("docs/api.md");
    let section = text
        .split("\n## Contract differences")
        .nth(1)
        .expect("docs/api.md has a `## Contract differences` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut rows = Vec::new();
    for line in section.lines().map(str::trim).filter(|l| l.starts_with('|')) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().replace('`', ""))
            .collect();
        if cells.len() != 5 || cells[0] == "kind" || cells[0].starts_with("---") {
            continue;
        }
        assert!(
            KINDS.contains(&cells[0].as_str()),
            "docs/api.md: unknown kind {:?} in {line}",
            cells[0]
        );
        assert!(
            !cells[4].is_empty(),
            "docs/api.md: a row without a reason: {line}"
        );
        rows.push((
            Row::new(&cells[0], &cells[1], &cells[2], &cells[3]),
            cells[4].clone(),
        ));
    }
    rows
}

fn excluded(path: &str, exclusions: &[Row]) -> bool {
    exclusions.iter().any(|x| match x.path.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => path == x.path,
    })
}

/// Every difference between the hub's document and the reference, as table rows.
fn differences(hub: &Value, reference: &Value, exclusions: &[Row]) -> BTreeSet<Row> {
    let ours = operations(hub);
    let theirs: BTreeMap<_, _> = operations(reference)
        .into_iter()
        .filter(|((_, p), _)| !excluded(p, exclusions))
        .collect();
    let mut rows = BTreeSet::new();
    let diff = |rows: &mut BTreeSet<Row>,
                kind: &str,
                m: &str,
                p: &str,
                a: &BTreeSet<String>,
                b: &BTreeSet<String>| {
        for x in a.difference(b) {
            rows.insert(Row::new(kind, m, p, &format!("+{x}")));
        }
        for x in b.difference(a) {
            rows.insert(Row::new(kind, m, p, &format!("-{x}")));
        }
    };
    for ((m, p), t) in &theirs {
        match ours.get(&(m.clone(), p.clone())) {
            None => {
                rows.insert(Row::new("missing", m, p, "-"));
            }
            Some(o) => {
                diff(
                    &mut rows,
                    "body-required",
                    m,
                    p,
                    &o.body_required,
                    &t.body_required,
                );
                diff(
                    &mut rows,
                    "query-required",
                    m,
                    p,
                    &o.query_required,
                    &t.query_required,
                );
                diff(&mut rows, "status", m, p, &o.ok, &t.ok);
            }
        }
    }
    for (m, p) in ours.keys() {
        if !theirs.contains_key(&(m.clone(), p.clone())) {
            rows.insert(Row::new("extra", m, p, "-"));
        }
    }
    rows
}

async fn hub_document(hub: &Hub) -> Value {
    let r = hub.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["openapi"], "3.0.3");
    r.body
}

#[tokio::test]
async fn contract_differences_are_listed_in_docs() {
    let hub = Hub::memory().await;
    let doc = hub_document(&hub).await;
    hub.stop().await;
    let reference = reference();
    let table = listed();
    let exclusions: Vec<Row> = table
        .iter()
        .filter(|(r, _)| r.kind == "excluded")
        .map(|(r, _)| r.clone())
        .collect();
    assert!(
        !exclusions.is_empty(),
        "docs/api.md must list the excluded /simulator/* paths"
    );
    let ref_paths: Vec<&String> = reference["paths"].as_object().expect("paths").keys().collect();
    for x in &exclusions {
        assert!(
            ref_paths.iter().any(|p| excluded(p, std::slice::from_ref(x))),
            "docs/api.md excludes {} but the reference has no such path",
            x.path
        );
    }
    let actual = differences(&doc, &reference, &exclusions);
    let documented: BTreeSet<Row> = table
        .iter()
        .filter(|(r, _)| r.kind != "excluded")
        .map(|(r, _)| r.clone())
        .collect();
    let unlisted: Vec<String> = actual.difference(&documented).map(Row::markdown).collect();
    let stale: Vec<String> = documented.difference(&actual).map(Row::markdown).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "docs/api.md \"Contract differences\" is out of date.\n\
         Differences not listed (add them with a reason):\n{}\n\
         Listed rows that are no longer differences (remove them):\n{}",
        unlisted.join("\n"),
        stale.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The document against the running hub

/// True when the error answers that `field` is missing.
fn complains_missing(r: &api_support::Resp, field: &str) -> bool {
    let msg = r.body["error"]["message"].as_str().unwrap_or("");
    (r.status == 400
        && (msg.contains(&format!("{field} is required"))
            || msg.contains(&format!("missing field `{field}`"))))
        || (field == "signature" && r.status == 401 && r.code() == "INVALID_SIGNATURE")
}

fn complains_any_missing(r: &api_support::Resp) -> bool {
    let msg = r.body["error"]["message"].as_str().unwrap_or("");
    r.status == 400 && (msg.contains(" is required") || msg.contains("missing field"))
}

fn query_string(params: &[(String, String)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let parts: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("?{}", parts.join("&"))
}

#[tokio::test]
async fn documented_routes_are_served_and_enforce_their_required_fields() {
    let hub = Hub::memory().await;
    let doc = hub_document(&hub).await;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let victim = join(&hub, "victim").await;
    let line = trust(&hub, &alice, &bob, "UAH", "100").await;

    let hub_ref = &hub;
    let mut checked = 0;
    let paths = doc["paths"].as_object().expect("paths");
    for (template, item) in paths {
        let path = format!(
            "/api/v1{}",
            template
                .replace("{pid}", victim.pid.as_str())
                .replace("{id}", &line)
                .replace("{tx_id}", "tx-unknown-1")
                .replace("{equivalent}", "UAH")
                .replace("{code}", "UAH")
        );
        assert!(!path.contains('{'), "unfilled path parameter in {template}");
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let method = m.to_uppercase();
            let admin = op["security"] == serde_json::json!([{ "AdminToken": [] }]);
            let token = (!admin).then_some(alice.token.as_str());
            let headers: &[(&str, &str)] = if admin { &[("x-admin-token", ADMIN)] } else { &[] };
            let call = |query: Vec<(String, String)>, body: Option<Value>| {
                let url = format!("{path}{}", query_string(&query));
                let bytes = body.map(|b| b.to_string().into_bytes());
                let method = method.clone();
                async move { hub_ref.raw(&method, &url, token, bytes, headers).await }
            };
            let query: Vec<(String, String)> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| {
                    (
                        p["name"].as_str().expect("name").to_owned(),
                        p["example"].as_str().expect("example").to_owned(),
                    )
                })
                .collect();
            let with_body = m != "get";

            // Routed: not the fallback's 404 NOT_FOUND, not 405.
            let r = call(query.clone(), with_body.then(|| serde_json::json!({}))).await;
            assert!(
                r.status != 405 && !(r.status == 404 && r.code() == "NOT_FOUND"),
                "{method} {template} is documented but not routed: {} {}",
                r.status,
                r.text
            );
            // Every required query parameter is enforced.
            for (i, (name, _)) in query.iter().enumerate() {
                let mut q = query.clone();
                q.remove(i);
                let r = call(q, with_body.then(|| serde_json::json!({}))).await;
                assert!(
                    complains_missing(&r, name),
                    "{method} {template} without query parameter {name}: {} {}",
                    r.status,
                    r.text
                );
            }
            // Every required body field is enforced, no optional one is, and the example passes
            // every presence check.
            let Some(content) = op["requestBody"]["content"]["application/json"].as_object() else {
                continue;
            };
            let schema = resolve(&doc, &content["schema"]);
            let required = required_of(&doc, schema);
            let example = content["example"].as_object().expect("a body example").clone();
            let props = schema["properties"].as_object().expect("properties");
            for field in props.keys() {
                if !example.contains_key(field) && !required.contains(field) {
                    continue;
                }
                let mut body = example.clone();
                body.remove(field);
                let r = call(query.clone(), Some(Value::Object(body))).await;
                assert_eq!(
                    complains_missing(&r, field),
                    required.contains(field),
                    "{method} {template} without {field} (documented required: {}): {} {}",
                    required.contains(field),
                    r.status,
                    r.text
                );
                checked += 1;
            }
            let r = call(query.clone(), Some(Value::Object(example))).await;
            assert!(
                !complains_any_missing(&r),
                "{method} {template}: the documented example is refused: {} {}",
                r.status,
                r.text
            );
        }
    }
    assert!(checked > 30, "only {checked} body fields checked");
    hub.stop().await;
}
