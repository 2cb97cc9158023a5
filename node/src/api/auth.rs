//! Challenge-response login and opaque bearer tokens kept in memory.
//!
//! `POST /auth/challenge {pid}` hands out a random single-use challenge (base64url of 32 bytes,
//! valid for the configured TTL, 60 s by default). `POST /auth/login {pid, challenge,
//! signature}` checks an Ed25519 signature over the challenge string's UTF-8 bytes with the
//! participant's registered key and returns a token pair. Access tokens are opaque random
//! strings with an expiry (15 min by default); refresh tokens rotate: each use revokes the one
//! presented, and presenting a revoked refresh token again revokes every token of that login.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use geo_protocol::{Pid, PublicKey};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::extract::ApiJson;
use super::ratelimit::RateClass;
use super::state::AppState;
use super::util::{fmt_time, parse_pid, random_token};
use super::views;
use crate::ledger::model::ParticipantStatus;
use axum::http::StatusCode;

/// Unix milliseconds by the engine's clock (the hub's one clock: see [`crate::engine::Clock`]).
type Millis = i64;

/// `now + ttl` in milliseconds, saturating.
fn after(now: Millis, ttl: Duration) -> Millis {
    now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// A map of string keys to values with an expiry, swept when it grows.
#[derive(Debug)]
struct TtlMap<V> {
    map: HashMap<String, (V, Millis)>,
    next_sweep: usize,
}

impl<V> Default for TtlMap<V> {
    fn default() -> Self {
        TtlMap {
            map: HashMap::new(),
            next_sweep: 4096,
        }
    }
}

impl<V> TtlMap<V> {
    fn insert(&mut self, key: String, value: V, expires: Millis, now: Millis) {
        if self.map.len() >= self.next_sweep {
            self.map.retain(|_, (_, exp)| *exp > now);
            self.next_sweep = (self.map.len() * 2).max(4096);
        }
        self.map.insert(key, (value, expires));
    }
}

#[derive(Debug, Clone)]
struct Session {
    pid: Pid,
    family: String,
}

#[derive(Debug, Clone)]
struct Refresh {
    pid: Pid,
    family: String,
    used: bool,
}

/// Login challenges and issued tokens of one hub.
#[derive(Debug, Default)]
pub struct AuthState {
    challenges: Mutex<TtlMap<Pid>>,
    access: Mutex<TtlMap<Session>>,
    refresh: Mutex<TtlMap<Refresh>>,
}

/// A freshly issued token pair.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// Access token lifetime.
    pub expires_in: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl AuthState {
    /// Stores a new challenge for `pid`.
    pub fn new_challenge(&self, pid: Pid, ttl: Duration, now: Millis) -> String {
        let challenge = random_token();
        lock(&self.challenges).insert(challenge.clone(), pid, after(now, ttl), now);
        challenge
    }

    /// Consumes a challenge: `Ok` when it was issued to `pid` and has not expired. Whatever the
    /// outcome, the challenge cannot be used again.
    pub fn take_challenge(&self, challenge: &str, pid: &Pid, now: Millis) -> ApiResult<()> {
        let entry = lock(&self.challenges).map.remove(challenge);
        match entry {
            Some((owner, expires)) if &owner == pid && expires > now => Ok(()),
            Some((owner, _)) if &owner == pid => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_CHALLENGE",
                "the challenge has expired",
            )),
            _ => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_CHALLENGE",
                "unknown, used or foreign challenge",
            )),
        }
    }

    fn issue_in(&self, pid: Pid, family: String, ttls: (Duration, Duration), now: Millis) -> Issued {
        let (access_ttl, refresh_ttl) = ttls;
        let access_token = random_token();
        let refresh_token = random_token();
        lock(&self.access).insert(
            access_token.clone(),
            Session {
                pid: pid.clone(),
                family: family.clone(),
            },
            after(now, access_ttl),
            now,
        );
        lock(&self.refresh).insert(
            refresh_token.clone(),
            Refresh {
                pid,
                family,
                used: false,
            },
            after(now, refresh_ttl),
            now,
        );
        Issued {
            access_token,
            refresh_token,
            expires_in: access_ttl,
        }
    }

    /// Issues a token pair for a new login.
    pub fn issue(&self, pid: Pid, access_ttl: Duration, refresh_ttl: Duration, now: Millis) -> Issued {
        self.issue_in(pid, random_token(), (access_ttl, refresh_ttl), now)
    }

    /// The participant an access token belongs to.
    pub fn check_access(&self, token: &str, now: Millis) -> ApiResult<Pid> {
        let mut map = lock(&self.access);
        match map.map.get(token) {
            Some((s, exp)) if *exp > now => Ok(s.pid.clone()),
            Some(_) => {
                map.map.remove(token);
                Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "TOKEN_EXPIRED",
                    "the access token has expired",
                ))
            }
            None => Err(ApiError::unauthorized("missing or invalid bearer token")),
        }
    }

    /// Rotates a refresh token: the presented one is revoked and a new pair issued. Presenting a
    /// revoked token again revokes the whole login (every token descending from it).
    pub fn rotate(
        &self,
        token: &str,
        access_ttl: Duration,
        refresh_ttl: Duration,
        now: Millis,
    ) -> ApiResult<Issued> {
        let found = {
            let mut map = lock(&self.refresh);
            match map.map.get_mut(token) {
                Some((r, exp)) => {
                    if r.used {
                        Err(Some(r.family.clone()))
                    } else if *exp <= now {
                        Err(None)
                    } else {
                        r.used = true;
                        Ok((r.pid.clone(), r.family.clone()))
                    }
                }
                None => Err(None),
            }
        };
        match found {
            Ok((pid, family)) => Ok(self.issue_in(pid, family, (access_ttl, refresh_ttl), now)),
            Err(Some(family)) => {
                self.revoke_family(&family);
                Err(ApiError::unauthorized(
                    "refresh token already used; the session was revoked",
                ))
            }
            Err(None) => Err(ApiError::unauthorized("unknown or expired refresh token")),
        }
    }

    fn revoke_family(&self, family: &str) {
        lock(&self.access).map.retain(|_, (s, _)| s.family != family);
        lock(&self.refresh).map.retain(|_, (r, _)| r.family != family);
    }

    /// Revokes every token of a participant (ban).
    pub fn revoke_participant(&self, pid: &Pid) {
        lock(&self.access).map.retain(|_, (s, _)| &s.pid != pid);
        lock(&self.refresh).map.retain(|_, (r, _)| &r.pid != pid);
    }
}

#[derive(Deserialize)]
pub(crate) struct ChallengeRequest {
    pid: String,
}

/// `POST /auth/challenge`.
pub(crate) async fn challenge(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ChallengeRequest>,
) -> ApiResult<Json<Value>> {
    let pid = parse_pid(&req.pid, "pid")?;
    let known = state.engine().read(|l| l.participant(&pid).is_some()).await;
    if !known {
        return Err(ApiError::not_found(
            "PARTICIPANT_NOT_FOUND",
            format!("unknown participant {pid}"),
        ));
    }
    let ttl = state.config().challenge_ttl;
    let now = state.engine().now();
    let challenge = state.auth().new_challenge(pid, ttl, now);
    let expires = after(now, ttl);
    Ok(Json(
        json!({ "challenge": challenge, "expires_at": fmt_time(expires) }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    pid: String,
    challenge: String,
    signature: String,
    #[serde(default)]
    #[allow(dead_code)]
    device_info: Option<Value>,
}

fn token_pair(issued: &Issued, participant: Value) -> Value {
    json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in.as_secs().max(1),
        "token_type": "Bearer",
        "participant": participant,
    })
}

/// `POST /auth/login`.
pub(crate) async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<Value>> {
    let pid = parse_pid(&req.pid, "pid")?;
    // Logins are limited per participant too (the client IP is charged at the edge), so that
    // one participant's login cannot be hammered from many addresses.
    state.limit_participant(&pid, RateClass::Login)?;
    state
        .auth()
        .take_challenge(&req.challenge, &pid, state.engine().now())?;
    let participant = state.engine().read(|l| l.participant(&pid).cloned()).await;
    let Some(p) = participant else {
        return Err(ApiError::not_found(
            "PARTICIPANT_NOT_FOUND",
            format!("unknown participant {pid}"),
        ));
    };
    let key = PublicKey::from_base64(&p.public_key).map_err(ApiError::internal)?;
    key.verify_bytes(req.challenge.as_bytes(), &req.signature)
        .map_err(|e| ApiError::invalid_signature(format!("login signature: {e}")))?;
    if matches!(p.status, ParticipantStatus::Deleted | ParticipantStatus::Left) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "PARTICIPANT_NOT_ACTIVE",
            format!("participant {pid} is {}", p.status.as_str()),
        ));
    }
    let cfg = state.config();
    let issued = state
        .auth()
        .issue(pid, cfg.access_ttl, cfg.refresh_ttl, state.engine().now());
    Ok(Json(token_pair(&issued, views::participant_public(&p))))
}

#[derive(Deserialize)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

/// `POST /auth/refresh`.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<Value>> {
    let cfg = state.config();
    let now = state.engine().now();
    let issued = state
        .auth()
        .rotate(&req.refresh_token, cfg.access_ttl, cfg.refresh_ttl, now)?;
    let pid = state.auth().check_access(&issued.access_token, now)?;
    let p = state.engine().read(|l| l.participant(&pid).cloned()).await;
    let Some(p) = p else {
        return Err(ApiError::unauthorized("the participant no longer exists"));
    };
    if matches!(p.status, ParticipantStatus::Deleted | ParticipantStatus::Left) {
        state.auth().revoke_participant(&pid);
        return Err(ApiError::unauthorized("the participant is not active"));
    }
    Ok(Json(token_pair(&issued, views::participant_public(&p))))
}
