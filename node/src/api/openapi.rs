//! The hub's own OpenAPI 3.0 document, served at `GET /api/v1/openapi.json`.
//!
//! The document is generated from [`ROUTES`], one table of every method and path the router
//! serves under `/api/v1`, with its credentials, query parameters, request body (field names,
//! types, which are required, an example) and success statuses. Tests keep the table true:
//! the unit tests below compare it with the `.route(...)` calls of the router source and
//! deserialize the examples into the handlers' request structs, and
//! `node/tests/openapi_contract.rs` sends requests to every documented route of a running hub
//! (none may be unrouted, every required field must be enforced) and compares the document
//! with the reference contract, whose differences are listed in `docs/api.md`.

use axum::Json;
use serde_json::{json, Map, Value};

/// The credentials a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Public.
    None,
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// `X-Admin-Token` header.
    Admin,
    /// An access token in the `token` query parameter or the `Authorization` header.
    Token,
}

/// The JSON type of a field or query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string.
    Str,
    /// A decimal amount as a string (`"10.50"`).
    Amount,
    /// An integer.
    Int,
    /// A boolean.
    Bool,
    /// A JSON object.
    Object,
    /// A list of strings.
    StrList,
}

impl Ty {
    /// The JSON schema of the type.
    pub fn schema(self) -> Value {
        match self {
            Ty::Str => json!({ "type": "string" }),
            Ty::Amount => json!({ "type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$" }),
            Ty::Int => json!({ "type": "integer" }),
            Ty::Bool => json!({ "type": "boolean" }),
            Ty::Object => json!({ "type": "object", "additionalProperties": true }),
            Ty::StrList => json!({ "type": "array", "items": { "type": "string" } }),
        }
    }
}

/// One field of a request body, or one query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Name in the JSON body or the query string.
    pub name: &'static str,
    /// JSON type.
    pub ty: Ty,
    /// Whether the hub refuses a request without it.
    pub required: bool,
    /// An example value (JSON text for bodies' non-string fields; plain text for queries).
    pub doc: &'static str,
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        doc,
    }
}

/// A request body: a JSON object with the given fields.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    /// Schema name under `components/schemas`.
    pub name: &'static str,
    /// The fields.
    pub fields: &'static [Field],
    /// Whether the hub checks `signature` over the body (see docs/api.md, Signatures).
    pub signed: bool,
    /// An example body (JSON text) with every required field.
    pub example: &'static str,
}

/// One method and path the hub serves under `/api/v1`.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// Lower-case HTTP method.
    pub method: &'static str,
    /// Path under `/api/v1`, with `{name}` path parameters.
    pub path: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// Credentials.
    pub auth: Auth,
    /// Query parameters.
    pub query: &'static [Field],
    /// The JSON body, if any.
    pub body: Option<&'static Body>,
    /// Success statuses.
    pub ok: &'static [u16],
}

/// Example PID (of the RFC 8032 test key 1) used in examples.
pub const EXAMPLE_PID: &str = "3HhGPB6ht33n51YFaocqBtGePb3xqT4VgnjYbd81eeZW";
/// Example PID of a counterparty (RFC 8032 test key 2).
pub const EXAMPLE_PID_2: &str = "4uGkom8VQM2v7s7VPyBrqhFL8a1rFsU2oYqQ9dnS2RBc";

const CHALLENGE: Body = Body {
    name: "ChallengeRequest",
    fields: &[req("pid", Ty::Str, "the participant logging in")],
    signed: false,
    example: r#"{"pid": "3HhGPB6ht33n51YFaocqBtGePb3xqT4VgnjYbd81eeZW"}"#,
};

const LOGIN: Body = Body {
    name: "LoginRequest",
    fields: &[
        req("pid", Ty::Str, "the participant"),
        req("challenge", Ty::Str, "from POST /auth/challenge"),
        req(
            "signature",
            Ty::Str,
            "base64 Ed25519 over the UTF-8 bytes of the challenge",
        ),
        opt("device_info", Ty::Object, "accepted, not used"),
    ],
    signed: false,
    example: r#"{"pid": "3HhGPB6ht33n51YFaocqBtGePb3xqT4VgnjYbd81eeZW", "challenge": "bm90LWEtcmVhbC1jaGFsbGVuZ2U", "signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw==", "device_info": {"platform": "cli"}}"#,
};

const REFRESH: Body = Body {
    name: "RefreshRequest",
    fields: &[req("refresh_token", Ty::Str, "the current refresh token")],
    signed: false,
    example: r#"{"refresh_token": "not-a-real-refresh-token"}"#,
};

const PARTICIPANT_CREATE: Body = Body {
    name: "ParticipantCreateRequest",
    fields: &[
        req("display_name", Ty::Str, "1 to 200 characters"),
        opt("type", Ty::Str, "person (default), business or hub"),
        req(
            "public_key",
            Ty::Str,
            "base64 Ed25519 public key; PID = base58(sha256(key))",
        ),
        opt("profile", Ty::Object, "free-form, at most 16 KiB"),
        req(
            "signature",
            Ty::Str,
            "base64 Ed25519 by public_key over the body without signature",
        ),
    ],
    signed: true,
    example: r#"{"display_name": "Alice", "type": "person", "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "profile": {"city": "Kyiv"}, "signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="}"#,
};

const PARTICIPANT_UPDATE: Body = Body {
    name: "ParticipantUpdateRequest",
    fields: &[
        opt("display_name", Ty::Str, "1 to 200 characters"),
        opt("profile", Ty::Object, "replaces the profile"),
        req(
            "signature",
            Ty::Str,
            "by the caller's key over the body without signature",
        ),
    ],
    signed: true,
    example: r#"{"display_name": "Alice B.", "profile": {"city": "Lviv"}, "signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="}"#,
};

const TRUSTLINE_CREATE: Body = Body {
    name: "TrustLineCreateRequest",
    fields: &[
        req("to", Ty::Str, "PID of the trusted participant"),
        req("equivalent", Ty::Str, "equivalent code"),
        req("limit", Ty::Amount, "positive decimal string"),
        opt("policy", Ty::Object, "trust line policy"),
        req(
            "signature",
            Ty::Str,
            "by the caller over the body without signature",
        ),
    ],
    signed: true,
    example: r#"{"to": "4uGkom8VQM2v7s7VPyBrqhFL8a1rFsU2oYqQ9dnS2RBc", "equivalent": "UAH", "limit": "100.00", "policy": {"auto_clearing": true}, "signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="}"#,
};

const TRUSTLINE_UPDATE: Body = Body {
    name: "TrustLineUpdateRequest",
    fields: &[
        opt("limit", Ty::Amount, "new limit, not below the current debt"),
        opt("policy", Ty::Object, "new policy"),
        opt(
            "id",
            Ty::Str,
            "if given, must equal the path id (it is signed in any case)",
        ),
        req(
            "signature",
            Ty::Str,
            "by the owner over the body plus the path id",
        ),
    ],
    signed: true,
    example: r#"{"limit": "150.00", "policy": {"auto_clearing": false}, "signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="}"#,
};

const TRUSTLINE_CLOSE: Body = Body {
    name: "TrustLineCloseRequest",
    fields: &[
        opt(
            "id",
            Ty::Str,
            "if given, must equal the path id (it is signed in any case)",
        ),
        req("signature", Ty::Str, "by the owner over {\"id\": <path id>}"),
    ],
    signed: true,
    example: r#"{"signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="}"#,
};

const PAYMENT_CREATE: Body = Body {
    name: "PaymentCreateRequest",
    fields: &[
        req("tx_id", Ty::Str, "idempotency key, ^[A-Za-z0-9._:-]{1,64}$"),
        req("to", Ty::Str, "PID of the payee"),
        req("equivalent", Ty::Str, "equivalent code"),
        req("amount", Ty::Amount, "positive decimal string"),
        opt("description", Ty::Str, "at most 1000 characters"),
        opt(
            "constraints",
            Ty::Object,
            "max_hops, max_paths, avoid, timeout_ms",
        ),
        req(
            "signature",
            Ty::Str,
            "by the payer over the body without signature",
        ),
    ],
    signed: true,
    example: r#"{"tx_id": "tx-example-1", "to": "4uGkom8VQM2v7s7VPyBrqhFL8a1rFsU2oYqQ9dnS2RBc", "equivalent": "UAH", "amount": "10.50", "description": "lunch", "constraints": {"max_hops": 4, "max_paths": 2}, "signature": "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="}"#,
};

const INTEGRITY_VERIFY: Body = Body {
    name: "IntegrityVerifyRequest",
    fields: &[opt("equivalent", Ty::Str, "check one equivalent only")],
    signed: false,
    example: r#"{"equivalent": "UAH"}"#,
};

const ADMIN_CONFIG_PATCH: Body = Body {
    name: "AdminConfigPatchRequest",
    fields: &[
        req("updates", Ty::Object, "mutable key -> non-negative integer"),
        opt("reason", Ty::Str, "recorded in the admin audit log"),
    ],
    signed: false,
    example: r#"{"updates": {"access_ttl_seconds": 900}, "reason": "example"}"#,
};

const ADMIN_FLAGS_PATCH: Body = Body {
    name: "AdminFeatureFlagsPatchRequest",
    fields: &[
        opt("multipath_enabled", Ty::Bool, "more than one path per payment"),
        opt("full_multipath_enabled", Ty::Bool, "recorded, no effect yet"),
        opt("clearing_enabled", Ty::Bool, "POST /clearing/auto allowed"),
        opt("reason", Ty::Str, "recorded in the admin audit log"),
    ],
    signed: false,
    example: r#"{"multipath_enabled": true, "full_multipath_enabled": false, "clearing_enabled": true, "reason": "example"}"#,
};

const ADMIN_REASON: Body = Body {
    name: "AdminReasonRequest",
    fields: &[opt("reason", Ty::Str, "recorded in the admin audit log")],
    signed: false,
    example: r#"{"reason": "example"}"#,
};

const ADMIN_EQ_CREATE: Body = Body {
    name: "AdminEquivalentCreateRequest",
    fields: &[
        req("code", Ty::Str, "equivalent code"),
        opt("symbol", Ty::Str, "display symbol"),
        opt("description", Ty::Str, "free text"),
        opt("precision", Ty::Int, "decimal places, default 2"),
        opt("metadata", Ty::Object, "free-form"),
        opt("is_active", Ty::Bool, "default true"),
        opt("reason", Ty::Str, "recorded in the admin audit log"),
    ],
    signed: false,
    example: r#"{"code": "GOLD", "symbol": "g", "description": "grams of gold", "precision": 3, "metadata": {}, "is_active": true, "reason": "example"}"#,
};

const ADMIN_EQ_UPDATE: Body = Body {
    name: "AdminEquivalentUpdateRequest",
    fields: &[
        opt("symbol", Ty::Str, "display symbol"),
        opt("description", Ty::Str, "free text"),
        opt("precision", Ty::Int, "must equal the current precision"),
        opt("metadata", Ty::Object, "free-form"),
        opt("is_active", Ty::Bool, "activate or deactivate"),
        opt("reason", Ty::Str, "recorded in the admin audit log"),
    ],
    signed: false,
    example: r#"{"description": "Ukrainian hryvnia", "is_active": true, "reason": "example"}"#,
};

const ADMIN_EQ_DELETE: Body = Body {
    name: "AdminEquivalentDeleteRequest",
    fields: &[req("reason", Ty::Str, "why; recorded in the admin audit log")],
    signed: false,
    example: r#"{"reason": "created by mistake"}"#,
};

const BOTTLENECKS: &[Field] = &[
    opt("threshold", Ty::Str, "0.10"),
    opt("limit", Ty::Int, "10"),
    opt("equivalent", Ty::Str, "UAH"),
];

const PAGING: [Field; 2] = [opt("page", Ty::Int, "1"), opt("per_page", Ty::Int, "20")];

const SEARCH: &[Field] = &[
    opt("q", Ty::Str, "ali"),
    opt("type", Ty::Str, "person"),
    opt("status", Ty::Str, "active"),
    opt("limit", Ty::Int, "20"),
    PAGING[0],
    PAGING[1],
];

const PAYMENT_LIST: &[Field] = &[
    opt("direction", Ty::Str, "all"),
    opt("equivalent", Ty::Str, "UAH"),
    opt("status", Ty::Str, "all"),
    opt("from_date", Ty::Str, "2024-01-01T00:00:00.000Z"),
    opt("to_date", Ty::Str, "2099-01-01T00:00:00.000Z"),
    PAGING[0],
    PAGING[1],
];

const CLEARING: &[Field] = &[req("equivalent", Ty::Str, "UAH"), opt("max_depth", Ty::Int, "6")];

const fn route(method: &'static str, path: &'static str, auth: Auth, summary: &'static str) -> RouteDoc {
    RouteDoc {
        method,
        path,
        summary,
        auth,
        query: &[],
        body: None,
        ok: &[200],
    }
}

impl RouteDoc {
    const fn query(mut self, query: &'static [Field]) -> RouteDoc {
        self.query = query;
        self
    }

    const fn body(mut self, body: &'static Body) -> RouteDoc {
        self.body = Some(body);
        self
    }

    const fn ok(mut self, ok: &'static [u16]) -> RouteDoc {
        self.ok = ok;
        self
    }
}

use Auth::{Admin as A, Bearer as B, None as N};

/// Every method and path the router serves under `/api/v1`.
pub const ROUTES: &[RouteDoc] = &[
    route(
        "get",
        "/health",
        N,
        "Health: 200 ok, 503 degraded when the engine stopped",
    ),
    route("get", "/healthz", N, "Liveness probe"),
    route("get", "/health/db", N, "Pings the store (503 when unavailable)"),
    route(
        "post",
        "/auth/challenge",
        N,
        "Login step 1: a single-use challenge",
    )
    .body(&CHALLENGE),
    route(
        "post",
        "/auth/login",
        N,
        "Login step 2: token pair for a signed challenge",
    )
    .body(&LOGIN),
    route(
        "post",
        "/auth/refresh",
        N,
        "Rotates a refresh token into a new token pair",
    )
    .body(&REFRESH),
    route("get", "/equivalents", B, "Active equivalents"),
    route("get", "/participants", B, "Searches participants").query(SEARCH),
    route(
        "post",
        "/participants",
        N,
        "Registers a participant (self-signed)",
    )
    .body(&PARTICIPANT_CREATE)
    .ok(&[201]),
    route("get", "/participants/search", B, "Searches participants (alias)").query(SEARCH),
    route("get", "/participants/me", B, "The caller with stats"),
    route("patch", "/participants/me", B, "Updates the caller's profile").body(&PARTICIPANT_UPDATE),
    route(
        "get",
        "/participants/{pid}",
        B,
        "One participant with public stats",
    ),
    route("get", "/trustlines", B, "The caller's trust lines").query(&[
        opt("direction", Ty::Str, "all"),
        opt("equivalent", Ty::Str, "UAH"),
        opt("status", Ty::Str, "active"),
        PAGING[0],
        PAGING[1],
    ]),
    route("post", "/trustlines", B, "Opens a trust line from the caller")
        .body(&TRUSTLINE_CREATE)
        .ok(&[201]),
    route("get", "/trustlines/{id}", B, "One trust line (parties only)"),
    route("patch", "/trustlines/{id}", B, "Changes limit or policy (owner)").body(&TRUSTLINE_UPDATE),
    route(
        "delete",
        "/trustlines/{id}",
        B,
        "Closes a line at zero debt (owner)",
    )
    .body(&TRUSTLINE_CLOSE),
    route("get", "/payments", B, "The caller's payments, newest first").query(PAYMENT_LIST),
    route(
        "post",
        "/payments",
        B,
        "Pays (COMMITTED or ABORTED; tx_id is idempotent)",
    )
    .body(&PAYMENT_CREATE),
    route(
        "get",
        "/payments/capacity",
        B,
        "Can the caller pay this amount now?",
    )
    .query(&[
        req("to", Ty::Str, EXAMPLE_PID_2),
        req("equivalent", Ty::Str, "UAH"),
        req("amount", Ty::Amount, "1.00"),
    ]),
    route(
        "get",
        "/payments/max-flow",
        B,
        "The most the caller can pay now, with paths",
    )
    .query(&[
        req("to", Ty::Str, EXAMPLE_PID_2),
        req("equivalent", Ty::Str, "UAH"),
    ]),
    route(
        "get",
        "/payments/{tx_id}",
        B,
        "One payment (payer and payee only)",
    ),
    route("get", "/balance", B, "Balances per equivalent"),
    route("get", "/balance/debts", B, "Debts of and to the caller").query(&[
        req("equivalent", Ty::Str, "UAH"),
        opt("direction", Ty::Str, "all"),
    ]),
    route("get", "/balance/history", B, "Same as GET /payments").query(PAYMENT_LIST),
    route(
        "get",
        "/clearing/cycles",
        B,
        "Clearable debt cycles (at most 100)",
    )
    .query(CLEARING),
    route("post", "/clearing/auto", B, "Clears cycles of an equivalent").query(CLEARING),
    route(
        "get",
        "/integrity/status",
        B,
        "Invariants and checksums on the live state",
    ),
    route(
        "get",
        "/integrity/checksum/{equivalent}",
        B,
        "Live checksum and the latest checkpoint",
    ),
    route(
        "post",
        "/integrity/verify",
        B,
        "Runs every check and writes checkpoints",
    )
    .body(&INTEGRITY_VERIFY),
    route("get", "/integrity/audit-log", B, "Integrity audit records").query(&[
        opt("equivalent", Ty::Str, "UAH"),
        opt("tx_id", Ty::Str, "tx-example-1"),
        opt("failures_only", Ty::Bool, "false"),
        PAGING[0],
        PAGING[1],
    ]),
    route("get", "/ws", Auth::Token, "WebSocket event stream")
        .query(&[opt(
            "token",
            Ty::Str,
            "access token (or the Authorization header)",
        )])
        .ok(&[101]),
    route("get", "/openapi.json", N, "This document"),
    route("get", "/admin/whoami", A, "The admin role"),
    route("get", "/admin/health/db", A, "Pings the store"),
    route("get", "/admin/config", A, "Runtime configuration"),
    route("patch", "/admin/config", A, "Changes mutable configuration keys").body(&ADMIN_CONFIG_PATCH),
    route("get", "/admin/feature-flags", A, "Feature flags"),
    route("patch", "/admin/feature-flags", A, "Changes feature flags").body(&ADMIN_FLAGS_PATCH),
    route(
        "get",
        "/admin/participants",
        A,
        "All participants, banned ones included",
    )
    .query(SEARCH),
    route(
        "get",
        "/admin/participants/stats",
        A,
        "Participants by status and type; how many have lines, debts, credits",
    ),
    route(
        "get",
        "/admin/participants/{pid}/metrics",
        A,
        "Position, lines, bottlenecks and payments of a participant",
    )
    .query(&[
        opt("equivalent", Ty::Str, "UAH"),
        opt("threshold", Ty::Str, "0.10"),
    ]),
    route(
        "post",
        "/admin/participants/{pid}/freeze",
        A,
        "Suspends a participant",
    )
    .body(&ADMIN_REASON),
    route(
        "post",
        "/admin/participants/{pid}/unfreeze",
        A,
        "Reactivates a participant",
    )
    .body(&ADMIN_REASON),
    route(
        "post",
        "/admin/participants/{pid}/ban",
        A,
        "Bans a participant, revoking tokens",
    )
    .body(&ADMIN_REASON),
    route(
        "post",
        "/admin/participants/{pid}/unban",
        A,
        "Reactivates a banned participant",
    )
    .body(&ADMIN_REASON),
    route("get", "/admin/equivalents", A, "Equivalents").query(&[opt("include_inactive", Ty::Bool, "false")]),
    route("post", "/admin/equivalents", A, "Creates an equivalent").body(&ADMIN_EQ_CREATE),
    route(
        "patch",
        "/admin/equivalents/{code}",
        A,
        "Changes an equivalent (not its precision)",
    )
    .body(&ADMIN_EQ_UPDATE),
    route(
        "delete",
        "/admin/equivalents/{code}",
        A,
        "Deletes an equivalent that was never used (409 otherwise)",
    )
    .body(&ADMIN_EQ_DELETE),
    route(
        "get",
        "/admin/equivalents/{code}/usage",
        A,
        "Trust lines, debts and checkpoints of an equivalent",
    ),
    route(
        "get",
        "/admin/migrations",
        A,
        "Migrations of the store: applied, pending, up to date",
    ),
    route("get", "/admin/trustlines", A, "All trust lines").query(&[
        opt("equivalent", Ty::Str, "UAH"),
        opt("creditor", Ty::Str, EXAMPLE_PID),
        opt("debtor", Ty::Str, EXAMPLE_PID_2),
        opt("status", Ty::Str, "active"),
        PAGING[0],
        PAGING[1],
    ]),
    route(
        "get",
        "/admin/trustlines/bottlenecks",
        A,
        "Active lines with less than threshold of their limit available",
    )
    .query(BOTTLENECKS),
    route(
        "get",
        "/admin/liquidity/summary",
        A,
        "Limits, debts, availability and bottlenecks per equivalent",
    )
    .query(BOTTLENECKS),
    route(
        "get",
        "/admin/clearing/cycles",
        A,
        "Clearable debt cycles, optionally through one participant",
    )
    .query(&[
        opt("participant_pid", Ty::Str, EXAMPLE_PID),
        opt("equivalent", Ty::Str, "UAH"),
        opt("max_depth", Ty::Int, "6"),
    ]),
    route("get", "/admin/audit-log", A, "Admin actions, newest first").query(&[
        opt("action", Ty::Str, "admin.equivalents.create"),
        opt("object_type", Ty::Str, "equivalent"),
        opt("object_id", Ty::Str, "UAH"),
        PAGING[0],
        PAGING[1],
    ]),
    route(
        "get",
        "/admin/graph/snapshot",
        A,
        "Participants, trust lines, debts and stuck payments as a graph",
    )
    .query(&[
        opt("equivalent", Ty::Str, "UAH"),
        opt("include", Ty::Str, "audit_log,transactions"),
    ]),
    route(
        "get",
        "/admin/graph/ego",
        A,
        "A participant's neighbourhood (depth 1 or 2) as a graph",
    )
    .query(&[
        req("pid", Ty::Str, EXAMPLE_PID),
        opt("depth", Ty::Int, "1"),
        opt("equivalent", Ty::Str, "UAH"),
        opt("status", Ty::StrList, "active"),
        opt("include", Ty::Str, "audit_log,transactions"),
    ]),
    route(
        "get",
        "/admin/incidents",
        A,
        "Payments stuck in PREPARED beyond the SLA, oldest first",
    )
    .query(&[PAGING[0], PAGING[1]]),
    route(
        "post",
        "/admin/transactions/{tx_id}/abort",
        A,
        "Aborts a prepared cross-hub transaction",
    )
    .body(&ADMIN_REASON),
];

/// The JSON schema of a body (an object with its fields; `required` lists the required ones).
pub fn body_schema(body: &Body) -> Value {
    let mut props = Map::new();
    for f in body.fields {
        let mut s = f.ty.schema();
        if let Value::Object(m) = &mut s {
            m.insert("description".into(), Value::String(f.doc.to_owned()));
        }
        props.insert(f.name.to_owned(), s);
    }
    let required: Vec<&str> = body
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let mut schema = json!({ "type": "object", "properties": props });
    if body.signed {
        schema["description"] = json!(
            "signature: base64 Ed25519 over the canonical JSON (GEO v0.1 Appendix A) of the body without signature"
        );
    }
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The example of a body as JSON (`null` if the example text is not JSON: a unit test
/// guarantees it is).
pub fn example(body: &Body) -> Value {
    serde_json::from_str(body.example).unwrap_or(Value::Null)
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "in": "path", "name": name, "required": true, "schema": { "type": "string" } }))
        .collect()
}

fn operation(r: &RouteDoc) -> Value {
    let mut params = path_params(r.path);
    for q in r.query {
        let mut schema = q.ty.schema();
        if q.ty == Ty::Object || q.ty == Ty::StrList {
            schema = json!({ "type": "string" });
        }
        params.push(json!({
            "in": "query",
            "name": q.name,
            "required": q.required,
            "schema": schema,
            "example": q.doc,
        }));
    }
    let mut responses = Map::new();
    for code in r.ok {
        responses.insert(code.to_string(), json!({ "description": "success" }));
    }
    responses.insert(
        "default".into(),
        json!({
            "description": "error",
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorEnvelope" } } },
        }),
    );
    let mut op = json!({
        "summary": r.summary,
        "operationId": format!("{}{}", r.method, r.path.replace(['/', '{', '}', '-', '.'], "_")),
        "responses": responses,
    });
    match r.auth {
        Auth::Bearer => {}
        Auth::None => op["security"] = json!([]),
        Auth::Admin => op["security"] = json!([{ "AdminToken": [] }]),
        Auth::Token => op["security"] = json!([{ "BearerAuth": [] }, { "QueryToken": [] }]),
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(b) = r.body {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": {
                "schema": { "$ref": format!("#/components/schemas/{}", b.name) },
                "example": example(b),
            } },
        });
    }
    op
}

/// The OpenAPI 3.0 document of the hub, built from [`ROUTES`].
pub fn spec() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "ErrorEnvelope".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": { "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "details": { "type": "object", "nullable": true },
                },
            } },
        }),
    );
    for r in ROUTES {
        let item = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        item[r.method] = operation(r);
        if let Some(b) = r.body {
            schemas.insert(b.name.to_owned(), body_schema(b));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "GEO hub API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Generated from the hub's route table (node/src/api/openapi.rs). \
                Differences from the GEO v0.1 reference contract are listed in docs/api.md \
                (Contract differences). Health probes, /metrics and /ws are also served at the root.",
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "BearerAuth": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "BearerAuth": { "type": "http", "scheme": "bearer", "description": "opaque access token" },
                "AdminToken": { "type": "apiKey", "in": "header", "name": "X-Admin-Token" },
                "QueryToken": { "type": "apiKey", "in": "query", "name": "token" },
            },
            "schemas": schemas,
        },
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde::de::DeserializeOwned;

    use super::*;

    fn body_of(method: &str, path: &str) -> &'static Body {
        ROUTES
            .iter()
            .find(|r| r.method == method && r.path == path)
            .and_then(|r| r.body)
            .unwrap_or_else(|| panic!("no body documented for {method} {path}"))
    }

    #[test]
    fn examples_are_objects_with_the_required_and_only_declared_fields() {
        let mut seen = BTreeSet::new();
        for r in ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} listed twice",
                r.method,
                r.path
            );
            assert!(!r.ok.is_empty(), "{} {} has no success status", r.method, r.path);
            let Some(b) = r.body else { continue };
            let ex = example(b);
            let obj = ex
                .as_object()
                .unwrap_or_else(|| panic!("example of {} is not an object", b.name));
            for f in b.fields.iter().filter(|f| f.required) {
                assert!(obj.contains_key(f.name), "example of {} lacks {}", b.name, f.name);
            }
            for k in obj.keys() {
                assert!(
                    b.fields.iter().any(|f| f.name == k),
                    "example of {} has undeclared {k}",
                    b.name
                );
            }
            assert!(
                !b.signed || b.fields.iter().any(|f| f.name == "signature" && f.required),
                "{}: signed bodies require a signature",
                b.name
            );
        }
    }

    /// The example deserializes into the handler's request struct; without any required field
    /// it does not; without any optional field it still does.
    fn agrees_with<T: DeserializeOwned>(body: &Body) {
        let ex = example(body);
        assert!(
            serde_json::from_value::<T>(ex.clone()).is_ok(),
            "{}: example refused",
            body.name
        );
        for f in body.fields {
            let mut v = ex.clone();
            if let Value::Object(m) = &mut v {
                m.remove(f.name);
            }
            let ok = serde_json::from_value::<T>(v).is_ok();
            assert_eq!(
                ok, !f.required,
                "{}: field {} required={}",
                body.name, f.name, f.required
            );
        }
    }

    #[test]
    fn bodies_agree_with_the_request_structs() {
        agrees_with::<super::super::auth::ChallengeRequest>(body_of("post", "/auth/challenge"));
        agrees_with::<super::super::auth::LoginRequest>(body_of("post", "/auth/login"));
        agrees_with::<super::super::auth::RefreshRequest>(body_of("post", "/auth/refresh"));
        // `deny_unknown_fields`: accepting the example proves every documented field is known.
        agrees_with::<super::super::integrity::VerifyRequest>(body_of("post", "/integrity/verify"));
        agrees_with::<super::super::admin::DeleteEquivalentRequest>(body_of(
            "delete",
            "/admin/equivalents/{code}",
        ));
    }

    /// `(method, path)` pairs of the `.route(...)` calls in a router source file.
    fn routes_in(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (i, _) in source.match_indices(".route(") {
            let rest = &source[i + ".route(".len()..];
            let Some(start) = rest.find('"') else { continue };
            let Some(len) = rest[start + 1..].find('"') else {
                continue;
            };
            let path = &rest[start + 1..start + 1 + len];
            // The handler expression ends at the call's closing parenthesis.
            let mut depth = 1usize;
            let mut end = rest.len();
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let handlers = &rest[start + 1 + len..end];
            for m in ["get", "post", "put", "patch", "delete"] {
                let called = handlers.match_indices(&format!("{m}(")).any(|(k, _)| {
                    k == 0 || !handlers[..k].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if called {
                    out.insert((m.to_owned(), format!("{prefix}{path}")));
                }
            }
        }
        out
    }

    #[test]
    fn the_table_lists_exactly_the_routes_of_the_router_source() {
        // The `/api/v1` router is the `let v1 = ...;` statement of mod.rs with the health
        // routes merged in; admin.rs is nested in it under `/admin`.
        let source = include_str!("mod.rs");
        let statement = |head: &str| {
            let start = source.find(head).unwrap_or_else(|| panic!("`{head}` in mod.rs"));
            let end = start + source[start..].find(";\n").unwrap_or(source.len() - start);
            &source[start..end]
        };
        let mut served = routes_in(statement("let health ="), "");
        served.extend(routes_in(statement("let v1 ="), ""));
        served.extend(routes_in(include_str!("admin.rs"), "/admin"));
        // One handler serves the four participant actions.
        if served.remove(&("post".to_owned(), "/admin/participants/{pid}/{action}".to_owned())) {
            for a in ["freeze", "unfreeze", "ban", "unban"] {
                served.insert(("post".to_owned(), format!("/admin/participants/{{pid}}/{a}")));
            }
        }
        let table: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        let missing: Vec<_> = served.difference(&table).collect();
        let unserved: Vec<_> = table.difference(&served).collect();
        assert!(
            missing.is_empty(),
            "routed but not in openapi::ROUTES: {missing:?}"
        );
        assert!(
            unserved.is_empty(),
            "in openapi::ROUTES but not routed: {unserved:?}"
        );
    }

    #[test]
    fn spec_has_every_route_and_body_schema() {
        let doc = spec();
        let mut count = BTreeMap::new();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method];
            assert!(op.is_object(), "{} {}", r.method, r.path);
            *count.entry(r.path).or_insert(0) += 1;
            if let Some(b) = r.body {
                let s = &doc["components"]["schemas"][b.name];
                let req: Vec<&str> = b.fields.iter().filter(|f| f.required).map(|f| f.name).collect();
                let listed: Vec<&str> = s["required"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(req, listed, "{}", b.name);
            }
        }
        assert_eq!(doc["paths"].as_object().map(Map::len), Some(count.len()));
    }
}
