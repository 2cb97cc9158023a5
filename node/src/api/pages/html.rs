//! HTML building blocks of the admin pages: escaping, URL encoding, form-body parsing, the page
//! layout and the response headers every page carries.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and for quoted attribute values: `&`, `<`, `>`, `"`
/// and `'` become character references. Every string that did not come from this module's
/// own literals goes through here before it reaches a page.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

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

/// An HTML response with the admin pages' security headers.
pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
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

fn head(title: &str, csrf: Option<&str>) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(out, "<title>{} · GEO hub admin</title>", html_escape(title));
    if let Some(c) = csrf {
        let _ = write!(out, "<meta name=\"csrf-token\" content=\"{}\">", html_escape(c));
    }
    out.push_str("<link rel=\"stylesheet\" href=\"/admin/assets/admin.css\">");
    out.push_str("<script src=\"/admin/assets/hx.js\" defer></script></head>");
    out
}

/// A whole admin page: head, navigation (with `active` highlighted), a logout button, the
/// heading `title`, a flash area for action errors, and `body` (already HTML).
pub fn page(title: &str, active: &str, csrf: &str, body: &str) -> String {
    let mut out = head(title, Some(csrf));
    out.push_str("<body><header class=\"top\"><a class=\"brand\" href=\"/admin/dashboard\">GEO hub</a><nav>");
    for (slug, label) in NAV {
        let class = if slug == active { " class=\"active\"" } else { "" };
        let _ = write!(out, "<a href=\"/admin/{slug}\"{class}>{label}</a>");
    }
    let _ = write!(
        out,
        "</nav><form class=\"logout\" method=\"post\" action=\"/admin/logout\">{}\
         <button type=\"submit\" class=\"btn small\">Log out</button></form></header>",
        csrf_field(csrf)
    );
    let _ = write!(
        out,
        "<main><h1>{}</h1><div id=\"flash\" role=\"alert\"></div>{body}</main></body></html>",
        html_escape(title)
    );
    out
}

/// The login page (no navigation); `error` is shown above the form.
pub fn login_page(error: Option<&str>) -> String {
    let mut out = head("Log in", None);
    out.push_str("<body class=\"login\"><main class=\"login-box\"><h1>GEO hub admin</h1>");
    if let Some(e) = error {
        let _ = write!(
            out,
            "<div class=\"flash error\" role=\"alert\">{}</div>",
            html_escape(e)
        );
    }
    out.push_str(
        "<form method=\"post\" action=\"/admin/login\" id=\"login-form\">\
         <label for=\"token\">Admin token</label>\
         <input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required autofocus>\
         <button type=\"submit\" class=\"btn primary\" id=\"login\">Log in</button></form>\
         <p class=\"muted\">The token is the hub's <code>--admin-token</code> (or <code>GEO_ADMIN_TOKEN</code>).</p>\
         </main></body></html>",
    );
    out
}

/// The hidden form field that carries the CSRF token.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html_escape(csrf)
    )
}

/// An error (or notice) box as a fragment.
pub fn flash(kind: &str, message: &str) -> String {
    format!(
        "<div class=\"flash {}\" role=\"alert\">{}</div>",
        html_escape(kind),
        html_escape(message)
    )
}

/// A status badge (`active`, `suspended`, `frozen`, `passed`, `FAILED` ...).
pub fn badge(text: &str) -> String {
    let class: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("<span class=\"badge b-{class}\">{}</span>", html_escape(text))
}

/// Shortens a long identifier for a table cell (full text in the tooltip).
pub fn short(id: &str) -> String {
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
    format!(
        "<code title=\"{}\">{}</code>",
        html_escape(id),
        html_escape(&shown)
    )
}

/// Links "previous" / "next" for a paged list at `base` (which may carry a query already).
pub fn pager(base: &str, page: i64, has_next: bool) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = String::from("<nav class=\"pager\">");
    if page > 1 {
        let _ = write!(
            out,
            "<a href=\"{}{sep}page={}\">&larr; previous</a>",
            html_escape(base),
            page - 1
        );
    }
    let _ = write!(out, "<span>page {page}</span>");
    if has_next {
        let _ = write!(
            out,
            "<a href=\"{}{sep}page={}\">next &rarr;</a>",
            html_escape(base),
            page + 1
        );
    }
    out.push_str("</nav>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(html_escape("plain ünïcode"), "plain ünïcode");
        assert_eq!(html_escape(""), "");
        assert_eq!(html_escape("&amp;"), "&amp;amp;");
    }

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
        assert!(!badge("<b>").contains("<b>"));
        assert!(!short("<script>alert(1)</script>").contains("<script>"));
        assert!(!flash("error", "<i>").contains("<i>"));
        assert!(login_page(Some("<x>")).contains("&lt;x&gt;"));
        assert!(page("<t>", "dashboard", "\"c", "").contains("&lt;t&gt;"));
        assert!(page("t", "dashboard", "\"c", "").contains("&quot;c"));
    }
}
