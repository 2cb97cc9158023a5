//! `/admin/participants` (search, freeze / unfreeze / ban) and `/admin/equivalents` (list,
//! create, activate / deactivate).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use geo_protocol::Precision;
use maud::{html, Markup};
use serde_json::json;

use super::html::{badge, csrf_field, pager, parse_form, short, url_encode};
use super::{action_reply, page_number, query, render, AdminSession, PageError, PageResult};
use crate::api::util::{fmt_time, parse_code, parse_pid};
use crate::api::AppState;
use crate::ledger::model::{EqId, Equivalent, Participant, ParticipantStatus};
use crate::ledger::participants::{EquivalentPatch, NewEquivalent};

const PER_PAGE: usize = 50;

fn button(label: &str, url: &str, target: &str, confirm: Option<&str>, class: &str) -> Markup {
    html! {
        button type="button" class={ "btn small " (class) } hx-post=(url) hx-target={ "#" (target) }
            hx-swap="outerHTML" hx-confirm=[confirm] { (label) }
    }
}

/// One participant row (its id `p-<pid>` is the target of its buttons).
fn participant_row(p: &Participant) -> Markup {
    let pid = p.pid.as_str();
    let row_id = format!("p-{pid}");
    let base = format!("/admin/participants/{}", url_encode(pid));
    let ban_question = format!("Ban {}? Their tokens are revoked.", p.display_name);
    let actions = match p.status {
        ParticipantStatus::Active => html! {
            (button("Freeze", &format!("{base}/freeze"), &row_id, None, "warn"))
            (button("Ban", &format!("{base}/ban"), &row_id, Some(&ban_question), "danger"))
        },
        ParticipantStatus::Suspended => html! {
            (button("Unfreeze", &format!("{base}/unfreeze"), &row_id, None, ""))
            (button("Ban", &format!("{base}/ban"), &row_id, Some(&ban_question), "danger"))
        },
        ParticipantStatus::Deleted => button("Unban", &format!("{base}/unban"), &row_id, None, ""),
        ParticipantStatus::Left => html! {},
    };
    html! {
        tr id=(row_id) {
            td class="name" { (p.display_name) }
            td { (short(pid)) }
            td { (p.kind) }
            td class="status" { (badge(p.status.as_str())) }
            td class="num" { (p.verification_level) }
            td class="time" { (fmt_time(p.created_at)) }
            td class="actions" { (actions) }
        }
    }
}

/// `GET /admin/participants?q=&status=&page=`.
pub async fn participants(
    State(state): State<AppState>,
    session: AdminSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q = query(raw.as_deref());
    let page = page_number(&q);
    let needle = q.get("q").map(|s| s.trim().to_lowercase()).unwrap_or_default();
    let status = q.get("status").and_then(|s| ParticipantStatus::parse(s));
    let skip = usize::try_from(page - 1).unwrap_or(0).saturating_mul(PER_PAGE);
    let (rows, total, more) = state
        .engine()
        .read(|l| {
            let mut matching = l
                .participants()
                .iter()
                .filter(|p| status.is_none_or(|s| p.status == s))
                .filter(|p| {
                    needle.is_empty()
                        || p.display_name.to_lowercase().contains(&needle)
                        || p.pid.as_str().to_lowercase().contains(&needle)
                });
            let rows: Vec<Markup> = matching
                .by_ref()
                .skip(skip)
                .take(PER_PAGE)
                .map(participant_row)
                .collect();
            let more = matching.next().is_some();
            (rows, l.participants().len(), more)
        })
        .await;
    let selected = status.map(ParticipantStatus::as_str);
    let base = format!(
        "/admin/participants?q={}&status={}",
        url_encode(&needle),
        selected.unwrap_or("")
    );
    let body = html! {
        form class="filters" method="get" action="/admin/participants" {
            input type="search" name="q" placeholder="name or PID" value=(needle);
            select name="status" {
                option value="" { "any status" }
                @for s in ["active", "suspended", "left", "deleted"] {
                    option value=(s) selected[selected == Some(s)] { (s) }
                }
            }
            button class="btn small" type="submit" { "Filter" }
            span class="muted" { (total) " registered" }
        }
        table id="participants" {
            thead {
                tr {
                    th { "Name" } th { "PID" } th { "Type" } th { "Status" } th class="num" { "Verif." }
                    th { "Registered" } th { "Actions" }
                }
            }
            tbody {
                @if rows.is_empty() {
                    tr { td colspan="7" class="muted" { "No participants match." } }
                }
                @for r in rows { (r) }
            }
        }
        (pager(&base, page, more))
    };
    Ok(render("Participants", "participants", &session, body))
}

/// `POST /admin/participants/{pid}/{freeze|unfreeze|ban|unban}`: answers the updated row.
pub async fn participant_action(
    State(state): State<AppState>,
    session: AdminSession,
    Path((pid, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    let pid = parse_pid(&pid, "pid")?;
    let status = match action.as_str() {
        "freeze" => ParticipantStatus::Suspended,
        "unfreeze" | "unban" => ParticipantStatus::Active,
        "ban" => ParticipantStatus::Deleted,
        _ => return Err(PageError::new(StatusCode::NOT_FOUND, "no such action")),
    };
    let admin = state.admin_action(&format!("participant.{action}"), Some("admin pages"));
    let p = state
        .service()
        .set_participant_status(admin, pid.clone(), status)
        .await?;
    if status == ParticipantStatus::Deleted {
        state.auth().revoke_participant(&pid);
    }
    Ok(action_reply(&headers, participant_row(&p), "/admin/participants"))
}

fn equivalent_row(e: &Equivalent, usage: (usize, usize)) -> Markup {
    let code = e.code.as_str();
    let row_id = format!("eq-{code}");
    let base = format!("/admin/equivalents/{}", url_encode(code));
    let action = if e.is_active {
        button(
            "Deactivate",
            &format!("{base}/deactivate"),
            &row_id,
            Some(&format!("Deactivate {code}? No new lines or payments.")),
            "warn",
        )
    } else {
        button("Activate", &format!("{base}/activate"), &row_id, None, "")
    };
    html! {
        tr id=(row_id) {
            td { strong { (code) } }
            td { (e.symbol.as_deref().unwrap_or("")) }
            td { (e.description.as_deref().unwrap_or("")) }
            td class="num" { (e.precision.get()) }
            td { (badge(if e.is_active { "active" } else { "inactive" })) }
            td class="num" { (usage.0) }
            td class="num" { (usage.1) }
            td class="time" { (fmt_time(e.created_at)) }
            td class="actions" { (action) }
        }
    }
}

async fn equivalent_rows(state: &AppState) -> Markup {
    state
        .engine()
        .read(|l| {
            html! {
                @for (i, e) in l.equivalents().iter().enumerate() {
                    (equivalent_row(e, EqId::try_from(i).map_or((0, 0), |id| l.equivalent_usage(id))))
                }
            }
        })
        .await
}

/// `GET /admin/equivalents`.
pub async fn equivalents(State(state): State<AppState>, session: AdminSession) -> PageResult {
    let rows = equivalent_rows(&state).await;
    let body = html! {
        table {
            thead {
                tr {
                    th { "Code" } th { "Symbol" } th { "Description" } th class="num" { "Precision" }
                    th { "Status" } th class="num" { "Open lines" } th class="num" { "Debts" }
                    th { "Created" } th { "Actions" }
                }
            }
            tbody id="eq-rows" { (rows) }
        }
        h2 { "New equivalent" }
        form class="inline-form" id="new-equivalent" method="post" action="/admin/equivalents"
            hx-post="/admin/equivalents" hx-target="#eq-rows" hx-swap="innerHTML" {
            (csrf_field(&session.csrf))
            label { "Code " input name="code" required maxlength="16" pattern="[A-Za-z0-9_]{1,16}" placeholder="e.g. KWH"; }
            label { "Precision " input name="precision" type="number" min="0" max="8" value="2" required; }
            label { "Symbol " input name="symbol" maxlength="8"; }
            label { "Description " input name="description" maxlength="200"; }
            button class="btn primary" type="submit" { "Create" }
        }
    };
    Ok(render("Equivalents", "equivalents", &session, body))
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `POST /admin/equivalents` (form `code`, `precision`, `symbol`, `description`): answers the
/// rows of the equivalents table.
pub async fn create_equivalent(
    State(state): State<AppState>,
    session: AdminSession,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = parse_form(&body);
    session.check_csrf(&headers, &form)?;
    let code = parse_code(form.get("code").map(|s| s.trim()).unwrap_or(""), "code")?;
    let precision = form
        .get("precision")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map_or(Ok(2), str::parse::<u8>)
        .map_err(|_| PageError::bad_request("precision must be a number from 0 to 8"))?;
    let precision = Precision::new(precision).map_err(|e| PageError::bad_request(e.to_string()))?;
    let new = NewEquivalent {
        code: code.clone(),
        precision,
        symbol: non_empty(form.get("symbol")),
        description: non_empty(form.get("description")),
        metadata: json!({}),
    };
    let admin = state.admin_action("equivalent.create", Some("admin pages"));
    state.service().create_equivalent(admin, new, true).await?;
    Ok(action_reply(
        &headers,
        equivalent_rows(&state).await,
        "/admin/equivalents",
    ))
}

/// `POST /admin/equivalents/{code}/{activate|deactivate}`: answers the updated row.
pub async fn equivalent_action(
    State(state): State<AppState>,
    session: AdminSession,
    Path((code, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    let code = parse_code(&code, "code")?;
    let is_active = match action.as_str() {
        "activate" => true,
        "deactivate" => false,
        _ => return Err(PageError::new(StatusCode::NOT_FOUND, "no such action")),
    };
    let patch = EquivalentPatch {
        is_active: Some(is_active),
        ..EquivalentPatch::default()
    };
    let admin = state.admin_action("equivalent.update", Some("admin pages"));
    let e = state
        .service()
        .update_equivalent(admin, code.clone(), patch)
        .await?;
    let row = state
        .engine()
        .read(|l| {
            let usage = l.eq_id(&code).map_or((0, 0), |id| l.equivalent_usage(id));
            equivalent_row(&e, usage)
        })
        .await;
    Ok(action_reply(&headers, row, "/admin/equivalents"))
}
