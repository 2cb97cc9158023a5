//! HTML building blocks of the admin pages: URL encoding, form-body parsing, the page layout,
//! the small shared fragments and the response headers every page carries.
//!
//! Markup is built with [`maud`]: text and attribute values interpolated with `(expr)` are
//! escaped by construction, so no page calls an escaping function of its own. The only
//! unescaped input to a page is a [`Markup`] value, which only `html!` produces.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

/// Percent-encodes text for a URL query value or path segment (everything but
/// `A-Z a-z 0-9 - _ . ~`).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn url_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex_value(s[i + 1]), hex_value(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses an `application/x-www-form-urlencoded` body or a query string. A repeated key keeps
/// its last value.
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        map.insert(url_decode(k), url_decode(v));
    }
    map
}

/// The Content-Security-Policy of every admin response: only this hub's own scripts and
/// styles, no inline code, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An HTML response with the admin pages' security headers. The body is [`Markup`], so
/// whatever a page answers went through `html!` and its escaping.
pub fn html_response(status: StatusCode, body: Markup) -> Response {
    let mut resp = (status, body.into_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

const NAV: [(&str, &str); 7] = [
    ("dashboard", "Dashboard"),
    ("participants", "Participants"),
    ("equivalents", "Equivalents"),
    ("trustlines", "Trust lines"),
    ("graph", "Graph"),
    ("clearing", "Clearing"),
    ("integrity", "Integrity"),
];

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · GEO hub admin" }
            @if let Some(c) = csrf {
                meta name="csrf-token" content=(c);
            }
            link rel="stylesheet" href="/admin/assets/admin.css";
            script src="/admin/assets/hx.js" defer {}
        }
    }
}

/// A whole admin page: head, navigation (with `active` highlighted), a logout button, the
/// heading `title`, a flash area for action errors, and `body`.
pub fn page(title: &str, active: &str, csrf: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(csrf)))
            body {
                header class="top" {
                    a class="brand" href="/admin/dashboard" { "GEO hub" }
                    nav {
                        @for (slug, label) in NAV {
                            a href={ "/admin/" (slug) } class=[(slug == active).then_some("active")] { (label) }
                        }
                    }
                    form class="logout" method="post" action="/admin/logout" {
                        (csrf_field(csrf))
                        button type="submit" class="btn small" { "Log out" }
                    }
                }
                main {
                    h1 { (title) }
                    div id="flash" role="alert" {}
                    (body)
                }
            }
        }
    }
}

/// The login page (no navigation); `error` is shown above the form.
pub fn login_page(error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Log in", None))
            body class="login" {
                main class="login-box" {
                    h1 { "GEO hub admin" }
                    @if let Some(e) = error {
                        div class="flash error" role="alert" { (e) }
                    }
                    form method="post" action="/admin/login" id="login-form" {
                        label for="token" { "Admin token" }
                        input type="password" id="token" name="token" autocomplete="current-password" required autofocus;
                        button type="submit" class="btn primary" id="login" { "Log in" }
                    }
                    p class="muted" {
                        "The token is the hub's " code { "--admin-token" } " (or " code { "GEO_ADMIN_TOKEN" } ")."
                    }
                }
            }
        }
    }
}

/// The hidden form field that carries the CSRF token.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// An error (or notice) box as a fragment.
pub fn flash(kind: &str, message: &str) -> Markup {
    html! { div class={ "flash " (kind) } role="alert" { (message) } }
}

/// A status badge (`active`, `suspended`, `frozen`, `passed`, `FAILED` ...).
pub fn badge(text: &str) -> Markup {
    let class: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    html! { span class={ "badge b-" (class) } { (text) } }
}

/// Shortens a long identifier for a table cell (full text in the tooltip).
pub fn short(id: &str) -> Markup {
    let shown: String = if id.chars().count() > 14 {
        let head: String = id.chars().take(8).collect();
        let tail: String = id
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head}…{tail}")
    } else {
        id.to_owned()
    };
    html! { code title=(id) { (shown) } }
}

/// Links "previous" / "next" for a paged list at `base` (which may carry a query already).
pub fn pager(base: &str, page: i64, has_next: bool) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        nav class="pager" {
            @if page > 1 {
                a href={ (base) (sep) "page=" (page - 1) } { "← previous" }
            }
            span { "page " (page) }
            @if has_next {
                a href={ (base) (sep) "page=" (page + 1) } { "next →" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_form_bodies() {
        let f = parse_form(b"token=a%2Bb+c&csrf=x%3D%3D&empty=&flag&bad=%zz%4");
        assert_eq!(f.get("token").map(String::as_str), Some("a+b c"));
        assert_eq!(f.get("csrf").map(String::as_str), Some("x=="));
        assert_eq!(f.get("empty").map(String::as_str), Some(""));
        assert_eq!(f.get("flag").map(String::as_str), Some(""));
        assert_eq!(f.get("bad").map(String::as_str), Some("%zz%4"));
        assert!(parse_form(b"").is_empty());
        assert_eq!(url_decode(b"%"), "%");
        assert_eq!(url_decode(b"%4"), "%4");
        assert_eq!(url_decode(b"%41"), "A");
    }

    #[test]
    fn url_encoding_round_trips() {
        let s = "UAH & <x>=ü";
        let enc = url_encode(s);
        assert!(enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"%-_.~".contains(&b)));
        assert_eq!(url_decode(enc.as_bytes()), s);
    }

    #[test]
    fn helpers_escape_their_input() {
        let s = |m: Markup| m.into_string();
        assert_eq!(
            s(flash("error", "<i>'&\"")),
            "<div class=\"flash error\" role=\"alert\">&lt;i&gt;'&amp;&quot;</div>"
        );
        assert!(!s(badge("<b>")).contains("<b>"));
        assert!(!s(short("<script>alert(1)</script>")).contains("<script>"));
        assert!(s(login_page(Some("<x>"))).contains("&lt;x&gt;"));
        assert!(s(page("<t>", "dashboard", "\"c", html! {})).contains("<h1>&lt;t&gt;</h1>"));
        let p = s(page("t", "dashboard", "\"c", html! {}));
        assert!(
            p.contains("<meta name=\"csrf-token\" content=\"&quot;c\">"),
            "{p}"
        );
        assert!(
            p.contains("<a href=\"/admin/dashboard\" class=\"active\">Dashboard</a>"),
            "{p}"
        );
        assert!(s(pager("/x?q=<", 2, true)).contains("href=\"/x?q=&lt;&amp;page=1\""));
    }
}
