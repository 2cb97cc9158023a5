//! The admin pages in a real browser: Debian's headless Chromium driven through chromedriver
//! (W3C WebDriver over HTTP). Logs in, opens every page, freezes a participant (hx-post with an
//! outerHTML swap), bans another (hx-confirm, accepted), runs "Verify now" and logs out, waiting
//! by polling for each result.
//!
//! Without `/usr/bin/chromium` or `/usr/bin/chromedriver` the test prints a notice and passes,
//! unless the environment variable `GEO_REQUIRE_BROWSER` is set (then it fails; `.ci/run` sets
//! it). Set `GEO_ADMIN_SCREENSHOT` to a file path to save a PNG of the dashboard.

mod api_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_support::{join, pay, trust, Hub, ADMIN};
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(30);

/// A chromedriver process and, once created, its browser session; both end on drop (also when
/// the test panics).
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: Option<String>,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.session.take() {
            // Blocking and minimal: the runtime may be gone when a panic unwinds.
            if let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    s,
                    "DELETE /session/{id} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.addr
                );
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wd(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let call = async {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            )))
            .ok()?;
        let resp = sender.send_request(req).await.ok()?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.ok()?.to_bytes();
        Some((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    };
    tokio::time::timeout(Duration::from_secs(90), call)
        .await
        .ok()
        .flatten()
        .unwrap_or((0, Value::Null))
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut driver = Driver {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            session: None,
            profile: tempfile::tempdir().expect("profile dir"),
        };
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, body) = wd(driver.addr, "GET", "/status", None).await;
            if status == 200 && body["value"]["ready"] == true {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = format!("--user-data-dir={}", driver.profile.path().display());
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--window-size=1366,900", profile],
            },
        }}});
        let (status, body) = wd(driver.addr, "POST", "/session", Some(caps)).await;
        assert_eq!(status, 200, "new session: {body}");
        let id = body["value"]["sessionId"].as_str().expect("session id");
        driver.session = Some(id.to_owned());
        driver
    }

    fn path(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session.as_deref().unwrap_or(""))
    }

    async fn call(&self, method: &str, tail: &str, body: Option<Value>) -> Value {
        let (status, v) = wd(self.addr, method, &self.path(tail), body).await;
        assert_eq!(status, 200, "{method} {tail}: {v}");
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        match v[ELEMENT].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("no element {css}: {v}"),
        }
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.call("POST", &format!("/element/{el}/click"), Some(json!({})))
            .await;
    }

    async fn script(&self, script: &str) -> Value {
        let (_, v) = wd(
            self.addr,
            "POST",
            &self.path("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
        .await;
        v["value"].clone()
    }

    /// Polls a JavaScript expression until it is `true`.
    async fn wait_for(&self, what: &str, expr: &str) {
        let script = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + WAIT;
        loop {
            if self.script(&script).await == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                let state = self
                    .script("return document.title + ' | ' + document.body.innerText.slice(0, 600)")
                    .await;
                panic!("timed out waiting for {what}; page: {state}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until a JavaScript alert/confirm is open and accepts it.
    async fn accept_dialog(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let (status, _) = wd(self.addr, "GET", &self.path("/alert/text"), None).await;
            if status == 200 {
                self.call("POST", "/alert/accept", Some(json!({}))).await;
                return;
            }
            assert!(Instant::now() < deadline, "no confirmation dialog appeared");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn heading_is(text: &str) -> String {
    format!("document.readyState === 'complete' && document.querySelector('h1') && document.querySelector('h1').textContent === '{text}'")
}

#[tokio::test]
async fn admin_pages_in_headless_chromium() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("GEO_REQUIRE_BROWSER").is_none(),
            "GEO_REQUIRE_BROWSER is set but {missing:?} are missing (install chromium and chromium-driver)"
        );
        eprintln!("notice: {missing:?} not installed; skipping the admin browser test");
        return;
    }

    let hub = Hub::memory().await;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let carol = join(&hub, "carol <b>&</b>").await;
    trust(&hub, &alice, &bob, "UAH", "100").await;
    trust(&hub, &bob, &carol, "UAH", "50").await;
    trust(&hub, &carol, &alice, "HOUR", "8").await;
    let r = pay(&hub, &bob, &alice, "UAH", "12.5").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = pay(&hub, &carol, &bob, "UAH", "7").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let base = format!("http://{}", hub.addr);

    let driver = Driver::start().await;

    // Log in through the form.
    driver.goto(&format!("{base}/admin")).await;
    driver
        .wait_for(
            "the login form",
            "document.title.startsWith('Log in') && document.querySelector('#token')",
        )
        .await;
    let token = driver.find("#token").await;
    driver
        .call(
            "POST",
            &format!("/element/{token}/value"),
            Some(json!({ "text": ADMIN })),
        )
        .await;
    driver.click("#login").await;
    driver.wait_for("the dashboard", &heading_is("Dashboard")).await;
    driver
        .wait_for(
            "the dashboard's cards",
            "document.querySelector('#card-integrity').textContent.includes('healthy')",
        )
        .await;
    assert_eq!(
        driver
            .script("return getComputedStyle(document.querySelector('header.top')).display")
            .await,
        "flex",
        "the stylesheet is loaded"
    );
    if let Some(path) = std::env::var_os("GEO_ADMIN_SCREENSHOT") {
        let png = driver.call("GET", "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 screenshot"))
            .expect("decode screenshot");
        std::fs::write(&path, bytes).expect("write screenshot");
    }

    // Every page.
    for (path, heading) in [
        ("/admin/participants", "Participants"),
        ("/admin/equivalents", "Equivalents"),
        ("/admin/trustlines", "Trust lines"),
        ("/admin/graph?equivalent=UAH", "Credit graph"),
        ("/admin/clearing", "Clearing"),
        ("/admin/integrity", "Integrity"),
        ("/admin/dashboard", "Dashboard"),
    ] {
        driver.goto(&format!("{base}{path}")).await;
        driver.wait_for(heading, &heading_is(heading)).await;
        assert!(
            driver
                .script("return document.title")
                .await
                .as_str()
                .unwrap_or("")
                .starts_with(heading),
            "title of {path}"
        );
    }
    driver.goto(&format!("{base}/admin/graph?equivalent=UAH")).await;
    driver
        .wait_for(
            "the SVG graph",
            "document.querySelectorAll('svg#graph circle').length === 3",
        )
        .await;
    assert_eq!(
        driver
            .script("return document.querySelector('svg#graph').textContent.includes('carol <b>&</b>')")
            .await,
        true,
        "the escaped name reads as text"
    );

    // Freeze alice: the row is swapped in place.
    driver.goto(&format!("{base}/admin/participants")).await;
    driver.wait_for("participants", &heading_is("Participants")).await;
    let row = format!("#p-{}", alice.pid.as_str());
    driver.click(&format!("{row} button[hx-post$='/freeze']")).await;
    driver
        .wait_for(
            "alice suspended",
            &format!("document.querySelector('{row} td.status').textContent === 'suspended' && document.querySelector(\"{row} button[hx-post$='/unfreeze']\")"),
        )
        .await;
    let r = hub
        .raw(
            "GET",
            "/api/v1/admin/participants?q=alice",
            None,
            None,
            &[("x-admin-token", ADMIN)],
        )
        .await;
    assert_eq!(r.body["items"][0]["status"], "suspended", "{}", r.text);

    // Ban bob: hx-confirm asks first.
    let row = format!("#p-{}", bob.pid.as_str());
    driver.click(&format!("{row} button[hx-post$='/ban']")).await;
    driver.accept_dialog().await;
    driver
        .wait_for(
            "bob banned",
            &format!("document.querySelector('{row} td.status').textContent === 'deleted'"),
        )
        .await;

    // Verify now.
    driver.goto(&format!("{base}/admin/integrity")).await;
    driver.wait_for("integrity", &heading_is("Integrity")).await;
    driver.click("#verify").await;
    driver
        .wait_for(
            "the verification result",
            "document.querySelector('#verify-result').textContent.includes('all invariants hold')",
        )
        .await;

    // Log out.
    driver.click("form.logout button").await;
    driver
        .wait_for("the login form again", "document.title.startsWith('Log in')")
        .await;
    driver.goto(&format!("{base}/admin/dashboard")).await;
    driver
        .wait_for(
            "a redirect to the login form",
            "document.title.startsWith('Log in')",
        )
        .await;

    drop(driver);
    hub.stop().await;
}
