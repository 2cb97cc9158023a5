//! `GET /api/v1/ws?token=ACCESS` (or `Authorization: Bearer`): a WebSocket stream of the
//! caller's committed payments, trust-line changes and clearings.
//!
//! Messages are JSON objects: first `{"type":"hello","pid":..}`, then one per committed
//! transaction that concerns the caller: `{"type":"payment.committed"|"payment.aborted"|
//! "clearing.done"|"trustline.created"|"trustline.updated"|"trustline.closed", "tx": {..},
//! "payment"?: PaymentResult}`; `{"type":"lagged","missed":n}` when the client fell behind.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use geo_protocol::Pid;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

use super::error::ApiError;
use super::extract::{bearer, ApiQuery};
use super::ratelimit::RateClass;
use super::state::AppState;
use super::views;
use crate::engine::Event;
use crate::ledger::model::{TxKind, TxState};

/// Query of the WebSocket endpoint.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    token: Option<String>,
}

/// `GET /ws`.
pub async fn ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let token = q.token.or_else(|| bearer(&headers).map(str::to_owned));
    let Some(token) = token else {
        return ApiError::unauthorized("missing token").into_response();
    };
    let pid = match state.auth().check_access(&token, state.engine().now()) {
        Ok(pid) => pid,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = state.limit_participant(&pid, RateClass::Default) {
        return e.into_response();
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(r) => {
            return ApiError::validation(format!("not a WebSocket upgrade: {}", r.body_text()))
                .into_response()
        }
    };
    // Subscribe before answering, so that nothing committed after the handshake is missed.
    let events = state.engine().subscribe();
    let shutdown = state.shutdown_signal();
    upgrade.on_upgrade(move |socket| stream(socket, pid, events, shutdown))
}

/// The message for one event.
pub fn event_message(e: &Event) -> Value {
    let tx = &e.tx;
    let kind = match (tx.kind, tx.state) {
        (TxKind::Payment, TxState::Committed) => "payment.committed",
        (TxKind::Payment, TxState::Aborted) => "payment.aborted",
        (TxKind::Payment, TxState::Prepared) => "payment.prepared",
        (TxKind::Clearing, _) => "clearing.done",
        (TxKind::TrustLineCreate, _) => "trustline.created",
        (TxKind::TrustLineUpdate, _) => "trustline.updated",
        (TxKind::TrustLineClose, _) => "trustline.closed",
    };
    let mut msg = json!({ "type": kind, "tx": views::transaction(tx) });
    if tx.kind == TxKind::Payment {
        if let Value::Object(m) = &mut msg {
            m.insert("payment".into(), views::payment(tx));
        }
    }
    msg
}

async fn send(socket: &mut WebSocket, v: &Value) -> bool {
    socket.send(Message::Text(v.to_string().into())).await.is_ok()
}

async fn stream(
    mut socket: WebSocket,
    pid: Pid,
    mut events: broadcast::Receiver<Arc<Event>>,
    mut shutdown: watch::Receiver<bool>,
) {
    if !send(&mut socket, &json!({ "type": "hello", "pid": pid.as_str() })).await {
        return;
    }
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(e) => {
                    if e.affected.contains(&pid) && !send(&mut socket, &event_message(&e)).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    if !send(&mut socket, &json!({ "type": "lagged", "missed": n })).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
