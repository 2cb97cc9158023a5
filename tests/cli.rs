//! The `geo` client verbs against a real in-process hub: keygen, register, login, trust lines,
//! payments, balance, history, errors, token refresh and the WebSocket watch.

mod hub_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use geo_node::api::ApiConfig;
use hub_support::{json_out, ok_json, TestHub};
use serde_json::Value;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn keygen(hub: &TestHub, home: &Path, file: &Path) -> String {
    let out = hub.geo(home, &["keygen", "--out", file.to_str().expect("utf8")]);
    let v = ok_json(&out);
    let pid = v["pid"].as_str().expect("pid").to_owned();
    #[cfg(unix)]
    assert_eq!(mode(file), 0o600, "key file mode");
    let stored: Value = serde_json::from_slice(&std::fs::read(file).expect("read key")).expect("key json");
    assert_eq!(stored["pid"], pid.as_str());
    assert!(stored["seed"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(stored["public_key"].as_str().is_some());
    pid
}

#[test]
fn client_verbs_against_a_real_hub() {
    let hub = TestHub::start(hub_support::unlimited());
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let a_key = home.join("alice.json");
    let b_key = home.join("bob.json");
    let a = a_key.to_str().expect("utf8");
    let b = b_key.to_str().expect("utf8");

    // keygen x2, mode 0600, refusal to overwrite.
    let a_pid = keygen(&hub, home, &a_key);
    let b_pid = keygen(&hub, home, &b_key);
    assert_ne!(a_pid, b_pid);
    let before = std::fs::read(&a_key).expect("read");
    let again = hub.geo(home, &["keygen", "--out", a]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("refusing to overwrite"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&a_key).expect("read"), before, "key file untouched");
    // The default key file is $HOME/.geo/key.json.
    let default = hub.geo(home, &["keygen"]);
    ok_json(&default);
    #[cfg(unix)]
    assert_eq!(mode(&home.join(".geo").join("key.json")), 0o600);

    // register both.
    let r = ok_json(&hub.geo(home, &["--key", a, "register", "--name", "Alice"]));
    assert_eq!(r["pid"], a_pid.as_str());
    assert_eq!(r["display_name"], "Alice");
    let r = ok_json(&hub.geo(
        home,
        &["--key", b, "register", "--name", "Bob", "--type", "business"],
    ));
    assert_eq!(r["pid"], b_pid.as_str());
    assert_eq!(r["type"], "business");
    let dup = hub.geo(home, &["--key", b, "register", "--name", "Bob"]);
    assert!(!dup.status.success());
    assert!(stderr(&dup).contains("PARTICIPANT_EXISTS"), "{}", stderr(&dup));

    // login: the session file lies next to the key file, owner-only, and holds no secret key.
    let l = ok_json(&hub.geo(home, &["--key", a, "login"]));
    assert_eq!(l["pid"], a_pid.as_str());
    let session = home.join("alice.session.json");
    assert!(session.exists());
    #[cfg(unix)]
    assert_eq!(mode(&session), 0o600);
    let s: Value = serde_json::from_slice(&std::fs::read(&session).expect("read")).expect("json");
    assert!(s["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(s.get("seed").is_none());
    ok_json(&hub.geo(home, &["--key", b, "login"]));

    // Bob trusts Alice for 100 UAH.
    let line = ok_json(&hub.geo(
        home,
        &[
            "--key",
            b,
            "trust",
            "open",
            "--to",
            &a_pid,
            "--equivalent",
            "UAH",
            "--limit",
            "100",
        ],
    ));
    assert_eq!(line["from"], b_pid.as_str());
    assert_eq!(line["to"], a_pid.as_str());
    assert_eq!(line["limit"], "100.00");
    let line_id = line["id"].as_str().expect("id").to_owned();

    // Alice pays Bob 10.50.
    let p = ok_json(&hub.geo(
        home,
        &[
            "--key",
            a,
            "pay",
            "--to",
            &b_pid,
            "--equivalent",
            "UAH",
            "--amount",
            "10.50",
            "--tx-id",
            "cli-test-1",
            "--description",
            "lunch",
        ],
    ));
    assert_eq!(p["status"], "COMMITTED");
    assert_eq!(p["tx_id"], "cli-test-1");
    assert_eq!(p["amount"], "10.50");

    // Balance shows Alice's debt.
    let bal = ok_json(&hub.geo(home, &["--key", a, "balance"]));
    let uah = bal["equivalents"]
        .as_array()
        .expect("equivalents")
        .iter()
        .find(|e| e["code"] == "UAH")
        .expect("UAH")
        .clone();
    assert_eq!(uah["total_debt"], "10.50", "{bal}");
    assert_eq!(uah["net_balance"], "-10.50", "{bal}");

    // History shows the payment.
    let h = ok_json(&hub.geo(home, &["--key", a, "history", "--limit", "5"]));
    let items = h["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{h}");
    assert_eq!(items[0]["tx_id"], "cli-test-1");
    assert_eq!(items[0]["amount"], "10.50");

    // Trust line update (signed {id, limit}) and a policy.
    let u = ok_json(&hub.geo(home, &["--key", b, "trust", "update", &line_id, "--limit", "200"]));
    assert_eq!(u["limit"], "200.00");
    assert_eq!(u["used"], "10.50");
    let u = ok_json(&hub.geo(
        home,
        &[
            "--key",
            b,
            "trust",
            "update",
            &line_id,
            "--policy",
            r#"{"can_be_intermediate": false}"#,
        ],
    ));
    assert_eq!(u["policy"]["can_be_intermediate"], false, "{u}");
    // Only the owner may update.
    let forbidden = hub.geo(home, &["--key", a, "trust", "update", &line_id, "--limit", "5"]);
    assert!(!forbidden.status.success());
    assert!(stderr(&forbidden).contains("FORBIDDEN"), "{}", stderr(&forbidden));

    let pay_ab = |amount: &str| {
        hub.geo(
            home,
            &[
                "--key",
                a,
                "pay",
                "--to",
                &b_pid,
                "--equivalent",
                "UAH",
                "--amount",
                amount,
            ],
        )
    };
    // A bad amount: non-zero exit with the server's code.
    let bad = pay_ab("10.505");
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("INVALID_AMOUNT"), "{}", stderr(&bad));
    let neg = pay_ab("-1");
    assert!(!neg.status.success());
    assert!(stderr(&neg).contains("INVALID_AMOUNT"), "{}", stderr(&neg));
    let zero = pay_ab("0");
    assert!(!zero.status.success());
    assert!(stderr(&zero).contains("INVALID_AMOUNT"), "{}", stderr(&zero));
    // An unroutable payment is reported ABORTED and fails.
    let over = pay_ab("1000");
    assert!(!over.status.success());
    assert_eq!(json_out(&over)["status"], "ABORTED");
    assert!(stderr(&over).contains("aborted"), "{}", stderr(&over));

    // Alice opens and closes a line of her own (zero debt).
    let mine = ok_json(&hub.geo(
        home,
        &[
            "--key",
            a,
            "trust",
            "open",
            "--to",
            &b_pid,
            "--equivalent",
            "EUR",
            "--limit",
            "5",
        ],
    ));
    let mine_id = mine["id"].as_str().expect("id").to_owned();
    let closed = ok_json(&hub.geo(home, &["--key", a, "trust", "close", &mine_id]));
    assert_eq!(closed["status"], "closed");
    // Bob's line carries debt: closing is refused.
    let refused = hub.geo(home, &["--key", b, "trust", "close", &line_id]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("DEBT_OUTSTANDING"),
        "{}",
        stderr(&refused)
    );

    // watch: Bob sees Alice's payment as a JSON line.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_geo"))
        .args(["--hub", &hub.url(), "--key", b, "watch"])
        .env("HOME", home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let hello = rx.recv_timeout(Duration::from_secs(20)).expect("hello line");
    let hello: Value = serde_json::from_str(&hello).expect("hello json");
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["pid"], b_pid.as_str());
    let p = ok_json(&hub.geo(
        home,
        &[
            "--key",
            a,
            "pay",
            "--to",
            &b_pid,
            "--equivalent",
            "UAH",
            "--amount",
            "1",
            "--tx-id",
            "cli-watch-1",
        ],
    ));
    assert_eq!(p["status"], "COMMITTED");
    let mut seen = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) {
        let v: Value = serde_json::from_str(&line).expect("event json");
        if v["type"] == "payment.committed" && v["payment"]["tx_id"] == "cli-watch-1" {
            seen = Some(v);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let event = seen.expect("payment.committed event for cli-watch-1");
    assert_eq!(event["payment"]["amount"], "1.00");
}

#[test]
fn expired_access_token_is_refreshed() {
    let config = ApiConfig {
        access_ttl: Duration::from_secs(1),
        ..hub_support::unlimited()
    };
    let hub = TestHub::start(config);
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path();
    let key = home.join("k.json");
    let k = key.to_str().expect("utf8");
    keygen(&hub, home, &key);
    ok_json(&hub.geo(home, &["--key", k, "register", "--name", "Carol"]));
    ok_json(&hub.geo(home, &["--key", k, "login"]));
    let session = home.join("k.session.json");
    let read = || -> Value { serde_json::from_slice(&std::fs::read(&session).expect("read")).expect("json") };
    let first = read();
    // Make the client trust the token past its announced expiry, so the hub's 401 TOKEN_EXPIRED
    // (not the client's own clock) triggers the refresh.
    let mut s = first.clone();
    s["expires_at"] = Value::Null;
    std::fs::write(&session, s.to_string()).expect("write");
    std::thread::sleep(Duration::from_millis(1500));
    let bal = ok_json(&hub.geo(home, &["--key", k, "balance"]));
    assert!(bal["equivalents"].is_array());
    let second = read();
    assert_ne!(first["access_token"], second["access_token"]);
    assert_ne!(first["refresh_token"], second["refresh_token"]);
    // A session the hub no longer knows (e.g. after a restart) leads to a fresh login.
    let mut s = second.clone();
    s["access_token"] = Value::String("bogus".into());
    s["refresh_token"] = Value::String("bogus".into());
    s["expires_at"] = Value::Null;
    std::fs::write(&session, s.to_string()).expect("write");
    ok_json(&hub.geo(home, &["--key", k, "history"]));
    assert_ne!(read()["access_token"], "bogus");
    // Without a key file the client says so.
    let none = hub.geo(
        home,
        &[
            "--key",
            home.join("missing.json").to_str().expect("utf8"),
            "balance",
        ],
    );
    assert!(!none.status.success());
    assert!(stderr(&none).contains("geo keygen"), "{}", stderr(&none));
}
