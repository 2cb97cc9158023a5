//! The admin pages under `/admin`: server-rendered HTML for the hub's operator.
//!
//! Login with the admin token (the same token as the `X-Admin-Token` JSON API) starts a session:
//! a random id in the `HttpOnly`, `SameSite=Strict` cookie `geo_admin`, kept in memory by this
//! module (per router, so per hub: no global state). Every state-changing request needs the
//! session cookie and the session's CSRF token (form field `csrf` or header `X-CSRF-Token`).
//! Pages are built with `maud`'s `html!` macro, which escapes every interpolated string by
//! construction (see [`html`]); actions answer HTML fragments that the small script `assets/hx.js` (our own minimal
//! implementation of htmx's `hx-*` attribute subset) swaps into the page.

mod clearing;
mod dashboard;
mod directory;
pub mod html;
mod integrity;
mod lines;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Extension;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::state::AppState;
use super::util::random_token;
use crate::store::StoreError;
use html::{html_response, login_page, parse_form};
use maud::Markup;

/// Name of the session cookie.
pub const COOKIE: &str = "geo_admin";
/// Lifetime of a session.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Most sessions kept at once (the oldest is dropped beyond).
const MAX_SESSIONS: usize = 256;

const CSS: &str = include_str!("../../../assets/admin.css");
const JS: &str = include_str!("../../../assets/hx.js");

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            s.push_str(&format!("{b:02x}"));
            s
        })
}

/// Compares two secrets in time independent of where they differ (both are hashed first, so
/// the length does not leak either).
fn secret_eq(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

struct Session {
    csrf: String,
    token_hash: String,
    expires: Instant,
}

/// Admin sessions of one router, keyed by the SHA-256 of the cookie value.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        match self.map.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Starts a session for the given admin token; returns (cookie value, CSRF token).
    fn create(&self, admin_token: &str) -> (String, String) {
        let id = random_token();
        let csrf = random_token();
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            sha256_hex(id.as_bytes()),
            Session {
                csrf: csrf.clone(),
                token_hash: sha256_hex(admin_token.as_bytes()),
                expires: now + SESSION_TTL,
            },
        );
        (id, csrf)
    }

    /// The CSRF token of a live session that was opened with the current admin token.
    fn csrf(&self, id: &str, admin_token: &str) -> Option<String> {
        let key = sha256_hex(id.as_bytes());
        let mut map = self.lock();
        let s = map.get(&key)?;
        if s.expires <= Instant::now()
            || admin_token.is_empty()
            || !secret_eq(&s.token_hash, &sha256_hex(admin_token.as_bytes()))
        {
            map.remove(&key);
            return None;
        }
        Some(s.csrf.clone())
    }

    fn remove(&self, id: &str) {
        self.lock().remove(&sha256_hex(id.as_bytes()));
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn is_hx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").and_then(|v| v.to_str().ok()) == Some("true")
}

/// A logged-in admin (a live session cookie). Pages are refused with a redirect to the login
/// form, actions with `403`.
pub struct AdminSession {
    /// The session's CSRF token.
    pub csrf: String,
    id: String,
}

impl AdminSession {
    /// Checks the CSRF token of a state-changing request: header `X-CSRF-Token` or form field
    /// `csrf` must equal the session's token.
    pub fn check_csrf(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> Result<(), PageError> {
        let given = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| form.get("csrf").cloned());
        match given {
            Some(g) if secret_eq(&g, &self.csrf) => Ok(()),
            _ => Err(PageError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token: reload the page",
            )),
        }
    }
}

fn sessions_of(parts: &Parts) -> Option<Arc<Sessions>> {
    parts.extensions.get::<Arc<Sessions>>().cloned()
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let found = match (sessions_of(parts), cookie_value(&parts.headers)) {
            (Some(sessions), Some(id)) => sessions
                .csrf(&id, &state.admin_token())
                .map(|csrf| AdminSession { csrf, id }),
            _ => None,
        };
        if let Some(s) = found {
            return Ok(s);
        }
        if parts.method == Method::GET || parts.method == Method::HEAD {
            return Err(Redirect::to("/admin").into_response());
        }
        let mut resp =
            PageError::new(StatusCode::FORBIDDEN, "not logged in (or the session expired)").into_response();
        resp.headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/admin"));
        Err(resp)
    }
}

/// A failed page or action: an HTML error box with a status.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    /// A new error.
    pub fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<crate::service::ServiceError> for PageError {
    fn from(e: crate::service::ServiceError) -> PageError {
        ApiError::from(e).into()
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::new(e.status, format!("{}: {}", e.code, e.message))
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::from(ApiError::from(e))
    }
}

impl From<crate::ledger::LedgerError> for PageError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        PageError::from(ApiError::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        html_response(self.status, html::flash("error", &self.message))
    }
}

/// Result of a page or action handler.
pub type PageResult = Result<Response, PageError>;

/// A full page as a response.
pub fn render(title: &str, active: &str, session: &AdminSession, body: Markup) -> Response {
    html_response(StatusCode::OK, html::page(title, active, &session.csrf, body))
}

/// The answer to an action: the fragment for `hx.js`, or a redirect to `back` for a plain
/// form submission (no JavaScript).
pub fn action_reply(headers: &HeaderMap, fragment: Markup, back: &str) -> Response {
    if is_hx(headers) {
        html_response(StatusCode::OK, fragment)
    } else {
        Redirect::to(back).into_response()
    }
}

/// Parses the query string of a page request.
pub fn query(raw: Option<&str>) -> HashMap<String, String> {
    raw.map(|q| parse_form(q.as_bytes())).unwrap_or_default()
}

/// The `page` parameter (1-based).
pub fn page_number(q: &HashMap<String, String>) -> i64 {
    q.get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, 1_000_000)
}

/// The admin pages' routes, to be merged into the hub's router (paths start with `/admin`).
/// Each call makes a fresh session table, so sessions belong to one router.
pub fn router() -> axum::Router<AppState> {
    let sessions = Arc::new(Sessions::default());
    axum::Router::new()
        .route("/admin", get(login_form))
        .route("/admin/", get(login_form))
        .route("/admin/login", post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/assets/admin.css", get(css))
        .route("/admin/assets/hx.js", get(js))
        .route("/admin/dashboard", get(dashboard::page))
        .route("/admin/participants", get(directory::participants))
        .route(
            "/admin/participants/{pid}/{action}",
            post(directory::participant_action),
        )
        .route(
            "/admin/equivalents",
            get(directory::equivalents).post(directory::create_equivalent),
        )
        .route(
            "/admin/equivalents/{code}/{action}",
            post(directory::equivalent_action),
        )
        .route("/admin/trustlines", get(lines::trustlines))
        .route("/admin/trustlines/{id}/{action}", post(lines::line_action))
        .route("/admin/graph", get(lines::graph))
        .route("/admin/clearing", get(clearing::page))
        .route("/admin/clearing/{code}/run", post(clearing::run))
        .route("/admin/integrity", get(integrity::page))
        .route("/admin/integrity/verify", post(integrity::verify))
        .layer(Extension(sessions))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

async fn login_form(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
) -> Response {
    let live = cookie_value(&headers).and_then(|id| sessions.csrf(&id, &state.admin_token()));
    if live.is_some() {
        return Redirect::to("/admin/dashboard").into_response();
    }
    html_response(StatusCode::OK, login_page(None))
}

fn session_cookie(value: &str, max_age: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .ok()
}

async fn login(
    State(state): State<AppState>,
    Extension(sessions): Extension<Arc<Sessions>>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    let expected = state.admin_token();
    let given = form.get("token").map(String::as_str).unwrap_or("");
    if expected.is_empty() {
        return html_response(
            StatusCode::FORBIDDEN,
            login_page(Some(
                "The admin interface is disabled (the hub has no admin token).",
            )),
        );
    }
    if !secret_eq(given, &expected) {
        tracing::info!("admin page login refused");
        return html_response(StatusCode::UNAUTHORIZED, login_page(Some("Invalid admin token.")));
    }
    let (id, _csrf) = sessions.create(&expected);
    state
        .log_admin(
            "admin.login",
            "session",
            "admin-pages",
            None,
            serde_json::json!({}),
        )
        .await;
    let mut resp = Redirect::to("/admin/dashboard").into_response();
    if let Some(c) = session_cookie(&id, SESSION_TTL.as_secs()) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

async fn logout(
    Extension(sessions): Extension<Arc<Sessions>>,
    session: AdminSession,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    sessions.remove(&session.id);
    let mut resp = Redirect::to("/admin").into_response();
    if let Some(c) = session_cookie("", 0) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_live_until_removed_or_token_changes() {
        let s = Sessions::default();
        let (id, csrf) = s.create("tok");
        assert_eq!(s.csrf(&id, "tok"), Some(csrf));
        assert_eq!(s.csrf("other", "tok"), None);
        assert_eq!(
            s.csrf(&id, "changed"),
            None,
            "a new admin token ends old sessions"
        );
        let (id, _) = s.create("tok");
        s.remove(&id);
        assert_eq!(s.csrf(&id, "tok"), None);
        for _ in 0..MAX_SESSIONS + 10 {
            s.create("tok");
        }
        assert!(s.lock().len() <= MAX_SESSIONS);
    }

    #[test]
    fn cookies_and_secrets() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; geo_admin=xyz; b=2"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some("xyz"));
        assert!(secret_eq("abc", "abc"));
        assert!(!secret_eq("abc", "abd"));
        assert!(!secret_eq("abc", "abcd"));
    }
}
