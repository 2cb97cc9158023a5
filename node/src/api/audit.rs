//! Where an admin action came from, and what it is called in the admin audit log.
//!
//! The edge middleware runs every request inside [`RequestContext::scope`]; whatever an admin
//! handler (JSON API or admin page) records while the request runs carries the request's id,
//! the client's address and its `User-Agent` ([`AppState::log_admin`](super::AppState::log_admin)
//! reads them with [`RequestContext::current`]). Action names follow the reference hub
//! (`admin.<objects>.<verb>`) so that its admin UI and its filters by action read our log; the
//! older names some callers still use are translated by [`action_name`].

use std::borrow::Cow;

use axum::http::HeaderMap;

/// Longest request id taken from a client (longer ones are replaced by a generated id).
const MAX_REQUEST_ID: usize = 128;

/// Longest `User-Agent` recorded (longer ones are cut at a character boundary).
const MAX_USER_AGENT: usize = 512;

/// The origin of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The client's `X-Request-ID` when it sent a usable one, otherwise a generated UUID.
    pub request_id: String,
    /// Address of the client (the TCP peer), when known.
    pub ip_address: Option<String>,
    /// The client's `User-Agent`, when sent.
    pub user_agent: Option<String>,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

impl RequestContext {
    /// The context of a request with these headers from this peer.
    pub fn from_request(headers: &HeaderMap, peer: Option<std::net::IpAddr>) -> RequestContext {
        let given = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= MAX_REQUEST_ID
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            });
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                let mut end = ua.len().min(MAX_USER_AGENT);
                while !ua.is_char_boundary(end) {
                    end -= 1;
                }
                ua[..end].to_owned()
            })
            .filter(|ua| !ua.is_empty());
        RequestContext {
            request_id: given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned),
            ip_address: peer.map(|ip| ip.to_string()),
            user_agent,
        }
    }

    /// Runs `fut` with this context as the current one.
    pub async fn scope<F: std::future::Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }

    /// The context of the request being served on this task, if any.
    pub fn current() -> Option<RequestContext> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

/// The audit-log name of an admin action: names already in the reference's form
/// (`admin.…`) are kept; the hub's earlier names (`participant.freeze`, `equivalent.update`,
/// `config.update`, ...) are translated. Migration 3 renamed stored entries the same way.
pub fn action_name(action: &str) -> Cow<'_, str> {
    if action.starts_with("admin.") {
        return Cow::Borrowed(action);
    }
    let fixed = match action {
        "equivalent.create" => Some("admin.equivalents.create"),
        "equivalent.update" => Some("admin.equivalents.patch"),
        "equivalent.delete" => Some("admin.equivalents.delete"),
        "config.update" => Some("admin.config.patch"),
        "feature_flags.update" => Some("admin.feature_flags.patch"),
        "transaction.abort" => Some("admin.transactions.abort"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Cow::Borrowed(name);
    }
    let prefixed = [
        ("participant.", "admin.participants."),
        ("trustline.", "admin.trustlines."),
        ("clearing.", "admin.clearing."),
        ("integrity.", "admin.integrity."),
    ];
    for (old, new) in prefixed {
        if let Some(verb) = action.strip_prefix(old) {
            return Cow::Owned(format!("{new}{verb}"));
        }
    }
    Cow::Borrowed(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_reference() {
        for (old, new) in [
            ("participant.freeze", "admin.participants.freeze"),
            ("participant.unban", "admin.participants.unban"),
            ("equivalent.create", "admin.equivalents.create"),
            ("equivalent.update", "admin.equivalents.patch"),
            ("equivalent.delete", "admin.equivalents.delete"),
            ("config.update", "admin.config.patch"),
            ("feature_flags.update", "admin.feature_flags.patch"),
            ("transaction.abort", "admin.transactions.abort"),
            ("trustline.freeze", "admin.trustlines.freeze"),
            ("clearing.run", "admin.clearing.run"),
            ("integrity.verify", "admin.integrity.verify"),
            ("admin.login", "admin.login"),
            ("admin.equivalents.delete", "admin.equivalents.delete"),
        ] {
            assert_eq!(action_name(old), new);
        }
    }

    #[test]
    fn request_ids_from_clients_are_checked() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "abc-123".parse().unwrap());
        h.insert("user-agent", "probe/1".parse().unwrap());
        let c = RequestContext::from_request(&h, Some([127, 0, 0, 1].into()));
        assert_eq!(c.request_id, "abc-123");
        assert_eq!(c.ip_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.user_agent.as_deref(), Some("probe/1"));
        h.insert("x-request-id", "no spaces allowed".parse().unwrap());
        let c = RequestContext::from_request(&h, None);
        assert!(uuid::Uuid::parse_str(&c.request_id).is_ok());
        assert_eq!(c.ip_address, None);
    }
}
