//! `geo hub` as a process, as an operator runs it: it announces its address, refuses to start on
//! a database another hub holds, stops cleanly on SIGTERM, and its successor then starts on the
//! same database with everything that was committed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Hub {
    child: Child,
    addr: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_geo"));
    c.args(["hub", "--db", db, "--listen", "127.0.0.1:0", "--admin-token", "t"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Starts a hub and waits for its "listening on" line.
fn start(db: &str) -> Hub {
    // The Hub owns the child from the start, so that its Drop reaps it on every path.
    let mut hub = Hub {
        child: command(db).spawn().expect("spawn geo hub"),
        addr: String::new(),
    };
    let stdout = hub.child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the hub announces its address");
        if let Some(rest) = line.strip_prefix("geo hub listening on http://") {
            hub.addr = rest.split_whitespace().next().expect("address").to_owned();
            return hub;
        }
    }
}

/// A plain HTTP/1.1 GET with the admin token; returns the status code and body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nX-Admin-Token: t\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn one_hub_per_database_and_a_clean_stop_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite:{}", dir.path().join("data").join("hub.db").display());

    let mut first = start(&db);
    let (status, body) = get(&first.addr, "/api/v1/admin/equivalents");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("UAH"), "default equivalents: {body}");

    // A second hub on the same database is refused at once, with a message that says why.
    let second = command(&db).output().expect("run a second hub");
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by another hub"), "{err}");
    // ... and the first one still serves.
    assert_eq!(get(&first.addr, "/healthz").0, 200);

    // SIGTERM (what service managers send) stops the hub cleanly.
    let pid = first.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let status = first.child.wait().expect("wait");
    assert!(status.success(), "hub exit status after SIGTERM: {status:?}");

    // Its successor opens the same database (the lock was released) with its data.
    let third = start(&db);
    let (status, body) = get(&third.addr, "/api/v1/admin/equivalents");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("UAH"), "{body}");
}
