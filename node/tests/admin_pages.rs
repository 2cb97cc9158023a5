//! The admin pages over plain HTTP on a real hub (port 0): login (wrong token refused), every
//! page, session and CSRF checks, page actions checked through the JSON API (freeze a
//! participant, freeze a line, create an equivalent, run clearing, verify), HTML escaping of
//! participant names, and logout.

mod api_support;

use std::net::SocketAddr;

use api_support::{join, pay, trust, Backend, Hub, ADMIN};
use geo_node::engine::EngineConfig;
use geo_node::ledger::LedgerConfig;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

const EVIL: &str = "<script>alert(1)</script>";

struct Page {
    status: u16,
    headers: hyper::HeaderMap,
    text: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// One request; `form` is sent as `application/x-www-form-urlencoded`.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> Page {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if form.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(form.unwrap_or("").to_owned())))
        .expect("request");
    let resp = sender.send_request(req).await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(status < 500, "{method} {path} answered {status}: {text}");
    Page {
        status,
        headers,
        text,
    }
}

/// A logged-in browser stand-in: the session cookie and the CSRF token of the pages.
struct Admin {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
}

impl Admin {
    async fn login(addr: SocketAddr) -> Admin {
        let r = send(addr, "POST", "/admin/login", &[], Some(&format!("token={ADMIN}"))).await;
        assert_eq!(r.status, 303, "{}", r.text);
        assert_eq!(r.header("location"), "/admin/dashboard");
        let set = r.header("set-cookie").to_owned();
        assert!(set.starts_with("geo_admin="), "{set}");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = set.split(';').next().expect("cookie").to_owned();
        let mut admin = Admin {
            addr,
            cookie,
            csrf: String::new(),
        };
        let page = admin.get("/admin/dashboard").await;
        admin.csrf = meta_csrf(&page.text);
        admin
    }

    async fn get(&self, path: &str) -> Page {
        let r = send(self.addr, "GET", path, &[("cookie", &self.cookie)], None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        r
    }

    /// An action as hx.js sends it (CSRF header, HX-Request).
    async fn act(&self, path: &str, form: &str) -> Page {
        send(
            self.addr,
            "POST",
            path,
            &[
                ("cookie", &self.cookie),
                ("x-csrf-token", &self.csrf),
                ("hx-request", "true"),
            ],
            Some(form),
        )
        .await
    }
}

fn meta_csrf(html: &str) -> String {
    let start = html
        .find("<meta name=\"csrf-token\" content=\"")
        .expect("csrf meta")
        + "<meta name=\"csrf-token\" content=\"".len();
    let end = html[start..].find('"').expect("end of csrf") + start;
    html[start..end].to_owned()
}

async fn admin_json(hub: &Hub, path: &str) -> Value {
    let r = hub
        .raw("GET", path, None, None, &[("x-admin-token", ADMIN)])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn participant_status(hub: &Hub, pid: &str) -> String {
    let items = admin_json(hub, "/api/v1/admin/participants?per_page=200").await;
    items["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|p| p["pid"] == pid)
        .and_then(|p| p["status"].as_str())
        .expect("participant listed")
        .to_owned()
}

#[tokio::test]
async fn admin_pages_work_over_http() {
    let engine = EngineConfig {
        ledger: LedgerConfig {
            clear_after_payment: false,
            ..LedgerConfig::default()
        },
        ..EngineConfig::default()
    };
    let hub = Hub::start(Backend::Memory, api_support::unlimited(), engine).await;
    let addr = hub.addr;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let evil = join(&hub, EVIL).await;
    // A cycle of debts: bob owes alice, evil owes bob, alice owes evil (10 each).
    let line_ab = trust(&hub, &alice, &bob, "UAH", "100").await;
    trust(&hub, &bob, &evil, "UAH", "100").await;
    trust(&hub, &evil, &alice, "UAH", "100").await;
    for (from, to) in [(&bob, &alice), (&evil, &bob), (&alice, &evil)] {
        let r = pay(&hub, from, to, "UAH", "10").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // The login form; a wrong token is refused and sets no cookie.
    let r = send(addr, "GET", "/admin", &[], None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("Admin token"), "{}", r.text);
    assert!(r.header("content-security-policy").contains("script-src 'self'"));
    let r = send(addr, "POST", "/admin/login", &[], Some("token=wrong")).await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("Invalid admin token"));
    assert!(r.header("set-cookie").is_empty());
    // Without a session, pages redirect to the login form and actions are refused.
    let r = send(addr, "GET", "/admin/dashboard", &[], None).await;
    assert_eq!((r.status, r.header("location")), (303, "/admin"));
    let r = send(
        addr,
        "GET",
        "/admin/participants",
        &[("cookie", "geo_admin=forged")],
        None,
    )
    .await;
    assert_eq!(r.status, 303);
    let r = send(
        addr,
        "POST",
        &format!("/admin/participants/{}/freeze", alice.pid.as_str()),
        &[("cookie", "geo_admin=forged"), ("hx-request", "true")],
        Some(""),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("hx-redirect"), "/admin");

    let admin = Admin::login(addr).await;
    assert!(!admin.csrf.is_empty());
    let r = send(addr, "GET", "/admin", &[("cookie", &admin.cookie)], None).await;
    assert_eq!((r.status, r.header("location")), (303, "/admin/dashboard"));

    // Every page.
    let dash = admin.get("/admin/dashboard").await;
    for text in [
        "<h1>Dashboard</h1>",
        "participants",
        "open trust lines",
        "payments in 24 h",
        "all invariants hold",
        "Recent transactions",
        "PAYMENT",
        "30.00",
    ] {
        assert!(dash.text.contains(text), "dashboard lacks {text:?}");
    }
    let parts = admin.get("/admin/participants").await;
    assert!(parts.text.contains("<h1>Participants</h1>"));
    assert!(parts.text.contains("alice") && parts.text.contains("Freeze"));
    let eqs = admin.get("/admin/equivalents").await;
    assert!(eqs.text.contains("<h1>Equivalents</h1>") && eqs.text.contains("hryvnia"));
    let lines = admin.get("/admin/trustlines?equivalent=UAH").await;
    assert!(lines.text.contains("<h1>Trust lines</h1>"));
    assert!(lines.text.contains(&format!("id=\"tl-{line_ab}\"")));
    assert!(lines.text.contains("100.00") && lines.text.contains("10.00"));
    let none = admin.get("/admin/trustlines?equivalent=EUR").await;
    assert!(none.text.contains("No trust lines match."));
    let graph = admin.get("/admin/graph?equivalent=UAH").await;
    assert!(graph.text.contains("<h1>Credit graph</h1>") && graph.text.contains("<svg"));
    assert!(graph.text.contains("10.00 / 100.00"), "edge labels");
    assert_eq!(graph.text.matches("<circle").count(), 3);
    let clearing = admin.get("/admin/clearing").await;
    assert!(clearing.text.contains("<h1>Clearing</h1>") && clearing.text.contains("Run clearing"));
    assert!(clearing.text.contains("No clearing yet."));
    let integrity = admin.get("/admin/integrity").await;
    assert!(integrity.text.contains("<h1>Integrity</h1>") && integrity.text.contains("Verify now"));
    assert!(integrity.text.contains("TRUST_LINE_CREATE") || integrity.text.contains("PAYMENT"));
    let js = send(addr, "GET", "/admin/assets/hx.js", &[], None).await;
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").starts_with("text/javascript"));
    assert!(js.text.lines().count() < 80);
    let css = send(addr, "GET", "/admin/assets/admin.css", &[], None).await;
    assert!(css.header("content-type").starts_with("text/css"));

    // A display name with markup is escaped everywhere it appears.
    for page in [&parts, &dash, &lines, &graph] {
        assert!(!page.text.contains(EVIL), "unescaped name");
        assert!(!page.text.contains("<script>"), "unescaped name");
    }
    assert!(parts.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(graph.text.contains("&lt;script&gt;"));

    // An action without the CSRF token is refused; the participant stays active.
    let freeze = format!("/admin/participants/{}/freeze", alice.pid.as_str());
    let r = send(
        addr,
        "POST",
        &freeze,
        &[("cookie", &admin.cookie), ("hx-request", "true")],
        Some(""),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("CSRF"));
    let r = send(
        addr,
        "POST",
        &freeze,
        &[("cookie", &admin.cookie), ("x-csrf-token", "wrong")],
        Some("csrf=wrong"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(participant_status(&hub, alice.pid.as_str()).await, "active");

    // Freeze through the page action: the answer is the updated row; the JSON API agrees.
    let r = admin.act(&freeze, "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text
            .starts_with(&format!("<tr id=\"p-{}\"", alice.pid.as_str())),
        "{}",
        r.text
    );
    assert!(r.text.contains("suspended") && r.text.contains("Unfreeze"));
    assert_eq!(participant_status(&hub, alice.pid.as_str()).await, "suspended");
    // A plain form post (no JavaScript) carries the token as a field and is redirected back.
    let r = send(
        addr,
        "POST",
        &format!("/admin/participants/{}/unfreeze", alice.pid.as_str()),
        &[("cookie", &admin.cookie)],
        Some(&format!("csrf={}", admin.csrf)),
    )
    .await;
    assert_eq!((r.status, r.header("location")), (303, "/admin/participants"));
    assert_eq!(participant_status(&hub, alice.pid.as_str()).await, "active");
    let r = admin
        .act(&format!("/admin/participants/{}/explode", alice.pid.as_str()), "")
        .await;
    assert_eq!(r.status, 404);

    // Create an equivalent; a bad one answers an error fragment.
    let r = admin
        .act(
            "/admin/equivalents",
            "code=KWH&precision=3&symbol=kWh&description=energy+%3Cb%3E",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("id=\"eq-KWH\"") && r.text.contains("energy &lt;b&gt;"));
    let items = admin_json(&hub, "/api/v1/admin/equivalents").await;
    assert!(items["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|e| e["code"] == "KWH" && e["precision"] == 3));
    let r = admin.act("/admin/equivalents", "code=KWH&precision=3").await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("class=\"flash error\""));
    let r = admin.act("/admin/equivalents", "code=BAD&precision=12").await;
    assert_eq!(r.status, 400);
    let r = admin.act("/admin/equivalents/KWH/deactivate", "").await;
    assert!(
        r.text.contains("inactive") && r.text.contains("Activate"),
        "{}",
        r.text
    );

    // Freeze a trust line.
    let r = admin
        .act(&format!("/admin/trustlines/{line_ab}/freeze"), "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("frozen") && r.text.contains("Unfreeze"));
    let lines = admin_json(&hub, "/api/v1/admin/trustlines?equivalent=UAH&status=frozen").await;
    assert_eq!(lines["items"][0]["id"], line_ab.as_str());
    let r = admin
        .act(&format!("/admin/trustlines/{line_ab}/unfreeze"), "")
        .await;
    assert!(r.text.contains("Freeze"));

    // Run clearing: the 30.00 of debt in the cycle goes to zero.
    let r = admin.act("/admin/clearing/UAH/run", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("id=\"clearing-effect\""), "{}", r.text);
    assert!(
        r.text.contains("<strong class=\"before\">30.00</strong>"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("<strong class=\"after\">0.00</strong>"),
        "{}",
        r.text
    );
    let clearing = admin.get("/admin/clearing").await;
    assert!(!clearing.text.contains("No clearing yet."));
    assert!(clearing.text.contains("cycle"));

    // Verify now.
    let r = admin.act("/admin/integrity/verify", "").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("all invariants hold"), "{}", r.text);
    let integrity = admin.get("/admin/integrity").await;
    assert!(integrity.text.contains("CLEARING"));
    assert!(
        integrity.text.contains("admin.participants.freeze"),
        "admin actions listed"
    );
    let failures = admin.get("/admin/integrity?failures=1&equivalent=UAH").await;
    assert!(failures.text.contains("No audit records."));

    // Logout ends the session.
    let r = send(
        addr,
        "POST",
        "/admin/logout",
        &[("cookie", &admin.cookie)],
        Some(&format!("csrf={}", admin.csrf)),
    )
    .await;
    assert_eq!((r.status, r.header("location")), (303, "/admin"));
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    let r = send(
        addr,
        "GET",
        "/admin/dashboard",
        &[("cookie", &admin.cookie)],
        None,
    )
    .await;
    assert_eq!(r.status, 303);
    hub.stop().await;
}

#[tokio::test]
async fn admin_pages_refuse_login_without_admin_token() {
    let hub = Hub::memory().await;
    hub.state.update_config(|c| c.admin_token = String::new());
    let r = send(hub.addr, "POST", "/admin/login", &[], Some("token=")).await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("disabled"));
    hub.stop().await;
}

/// A display name that is markup, an attribute breaker and an entity at once.
const HOSTILE: &str = "<script>alert(1)</script>\"'&";
/// How [`HOSTILE`] reads once escaped for element text and double-quoted attribute values.
const HOSTILE_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

/// Asserts that `page` never carries [`HOSTILE`] (or any part that opens markup) unescaped.
fn assert_no_raw(what: &str, page: &str) {
    assert!(!page.contains(HOSTILE), "{what}: raw name");
    assert!(!page.contains("<script>"), "{what}: raw <script>");
    assert!(!page.contains("</script>\""), "{what}: raw quote after the name");
    assert!(
        !page.contains("'&<") && !page.contains("'&\""),
        "{what}: raw ampersand"
    );
}

#[tokio::test]
async fn user_text_is_escaped_on_every_page_that_shows_it() {
    let engine = EngineConfig {
        ledger: LedgerConfig {
            clear_after_payment: false,
            ..LedgerConfig::default()
        },
        ..EngineConfig::default()
    };
    let hub = Hub::start(Backend::Memory, api_support::unlimited(), engine).await;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let evil = join(&hub, HOSTILE).await;
    trust(&hub, &alice, &bob, "UAH", "100").await;
    trust(&hub, &bob, &evil, "UAH", "100").await;
    trust(&hub, &evil, &alice, "UAH", "100").await;
    for (from, to) in [(&bob, &alice), (&evil, &bob), (&alice, &evil)] {
        let r = pay(&hub, from, to, "UAH", "10").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let admin = Admin::login(hub.addr).await;
    // A clearing run, so that the clearing page lists the name among its participants.
    let r = admin.act("/admin/clearing/UAH/run", "").await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Every page that shows the name shows it escaped (text and attributes alike).
    let search = format!(
        "/admin/participants?q={}",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E%22'%26"
    );
    for path in [
        "/admin/dashboard",
        "/admin/participants",
        search.as_str(),
        "/admin/trustlines",
        "/admin/graph?equivalent=UAH",
        "/admin/clearing",
    ] {
        let page = admin.get(path).await;
        assert_no_raw(path, &page.text);
        assert!(
            page.text.contains(HOSTILE_ESCAPED),
            "{path} does not show the escaped name"
        );
    }
    // The search box reflects the query escaped, and the ban question quotes the name escaped.
    let found = admin.get(&search).await;
    assert!(
        found.text.contains(&format!("value=\"{HOSTILE_ESCAPED}\"")),
        "search value"
    );
    assert!(
        found.text.contains(&format!(
            "hx-confirm=\"Ban {HOSTILE_ESCAPED}? Their tokens are revoked.\""
        )),
        "ban confirmation"
    );
    // Pages that do not show names still carry nothing raw.
    for path in ["/admin/equivalents", "/admin/integrity"] {
        assert_no_raw(path, &admin.get(path).await.text);
    }
    // The fragment an action answers is escaped too.
    let r = admin
        .act(&format!("/admin/participants/{}/freeze", evil.pid.as_str()), "")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_raw("freeze fragment", &r.text);
    assert!(r.text.contains(HOSTILE_ESCAPED), "{}", r.text);
    hub.stop().await;
}
