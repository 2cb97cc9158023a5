//! `/admin/clearing`: outstanding debt per equivalent with a "Run clearing" button (short cycles,
//! then the optimal pass; the answer shows the total debt before and after) and the list of
//! recorded CLEARING transactions with their cleared amounts.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use geo_protocol::Precision;
use maud::{html, Markup};
use serde_json::Value;

use super::dashboard::Names;
use super::html::{flash, pager, parse_form, short, url_encode};
use super::{action_reply, page_number, query, render, AdminSession, PageError, PageResult};
use crate::api::util::{fmt_atoms, fmt_time, parse_code};
use crate::api::AppState;
use crate::ledger::model::{EqId, TxKind};
use crate::ledger::Ledger;
use crate::store::TxFilter;

const PER_PAGE: usize = 50;
/// Longest cycle of the short-cycle pass run from this page.
const SHORT_CYCLE_LEN: usize = 4;

fn total_debt(l: &Ledger, eq: EqId) -> i128 {
    l.book(eq).graph.pairs().iter().map(|p| p.debt.abs()).sum()
}

async fn content(state: &AppState, result: Option<Markup>, page: i64) -> Result<Markup, PageError> {
    let skip = usize::try_from(page - 1).unwrap_or(0).saturating_mul(PER_PAGE);
    let runs = state
        .engine()
        .store()
        .transactions(&TxFilter {
            kind: Some(TxKind::Clearing),
            limit: i64::try_from(PER_PAGE + 1).unwrap_or(51),
            offset: i64::try_from(skip).unwrap_or(0),
            ..TxFilter::default()
        })
        .await?;
    let names = Names::load(state).await;
    let flag = state.flags().clearing_enabled;
    let rows = state
        .engine()
        .read(|l| {
            l.equivalents()
                .iter()
                .enumerate()
                .filter(|(_, e)| e.is_active)
                .filter_map(|(i, e)| {
                    let eq = EqId::try_from(i).ok()?;
                    let code = e.code.as_str();
                    Some(html! {
                        tr {
                            td { strong { (code) } }
                            td class="num" { (fmt_atoms(total_debt(l, eq), e.precision)) }
                            td class="num" { (l.equivalent_usage(eq).1) }
                            td {
                                button type="button" class="btn small primary" id={ "run-" (code) }
                                    hx-post={ "/admin/clearing/" (url_encode(code)) "/run" }
                                    hx-target="#clearing-main" hx-swap="innerHTML" { "Run clearing" }
                            }
                        }
                    })
                })
                .collect::<Vec<Markup>>()
        })
        .await;
    Ok(html! {
        div id="clearing-result" {
            @if let Some(r) = result { (r) }
        }
        @if !flag {
            (flash(
                "notice",
                "The feature flag clearing_enabled is off: participants cannot trigger clearing; runs from this page still work.",
            ))
        }
        table id="clearing-eqs" {
            thead {
                tr {
                    th { "Equivalent" } th class="num" { "Outstanding debt" } th class="num" { "Debts" } th { "Run" }
                }
            }
            tbody {
                @for r in rows { (r) }
            }
        }
        h2 { "Clearing runs" }
        table id="clearing-runs" {
            thead {
                tr {
                    th { "Time" } th { "Equiv." } th { "Mode" } th class="num" { "Debts reduced" }
                    th class="num" { "Cleared" } th { "Participants" } th { "Tx" }
                }
            }
            tbody {
                @if runs.is_empty() {
                    tr { td colspan="7" class="muted" { "No clearing yet." } }
                }
                @for tx in runs.iter().take(PER_PAGE) {
                    @let p = &tx.payload.to_json();
                    @let eq = tx.equivalent.as_ref().map(|e| e.as_str());
                    @let edges = p.get("edges").and_then(Value::as_array);
                    tr {
                        td class="time" { (fmt_time(tx.created_at)) }
                        td { (eq.unwrap_or("–")) }
                        td { (p.get("mode").and_then(Value::as_str).unwrap_or("optimal")) }
                        td class="num" { (edges.map_or(0, Vec::len)) }
                        td class="num" { (names.amount(eq, p.get("cleared"))) }
                        td class="parties" { (parties(&names, edges)) }
                        td { (short(&tx.tx_id)) }
                    }
                }
            }
        }
        (pager("/admin/clearing", page, runs.len() > PER_PAGE))
    })
}

/// The participants of a clearing run's debts, each once, comma-separated.
fn parties(names: &Names, edges: Option<&Vec<Value>>) -> Markup {
    let mut who: Vec<Option<&Value>> = edges
        .into_iter()
        .flatten()
        .flat_map(|e| [e.get("debtor"), e.get("creditor")])
        .collect();
    who.sort_by_key(|v| v.and_then(Value::as_str));
    who.dedup_by_key(|v| v.and_then(Value::as_str));
    html! {
        @for (i, w) in who.into_iter().enumerate() {
            @if i > 0 { ", " }
            (names.who(w))
        }
    }
}

/// `GET /admin/clearing?page=`.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let page = page_number(&query(raw.as_deref()));
    let inner = content(&state, None, page).await?;
    let body = html! { div id="clearing-main" { (inner) } };
    Ok(render("Clearing", "clearing", &session, body))
}

/// `POST /admin/clearing/{code}/run`: short cycles (up to 4 participants), then the optimal
/// pass; answers the page content with the effect on top.
pub async fn run(
    State(state): State<AppState>,
    session: AdminSession,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    let code = parse_code(&code, "equivalent")?;
    let (before, precision) = state
        .engine()
        .read(|l| -> Result<(i128, Precision), PageError> {
            let eq = l.active_eq(&code)?;
            Ok((total_debt(l, eq), l.equivalent_at(eq).precision))
        })
        .await?;
    let short_pass = state
        .service()
        .clear_as_admin(
            state.admin_action("clearing.run", Some("admin pages: short cycles")),
            code.clone(),
            Some(SHORT_CYCLE_LEN),
        )
        .await?;
    let optimal = state
        .service()
        .clear_as_admin(
            state.admin_action("clearing.run", Some("admin pages: optimal pass")),
            code.clone(),
            None,
        )
        .await?;
    let after = state
        .engine()
        .read(|l| l.eq_id(&code).map(|eq| total_debt(l, eq)))
        .await?;
    let cleared = short_pass.cleared + optimal.cleared;
    let a = |v: i128| fmt_atoms(v, precision);
    let result = html! {
        div class="flash success" id="clearing-effect" role="status" {
            strong { (code.as_str()) } ": total debt before "
            strong class="before" { (a(before)) } ", after " strong class="after" { (a(after)) }
            " (cleared " (a(cleared)) "). Short cycles: " (short_pass.reductions) " cycles, "
            (a(short_pass.cleared)) " cleared; optimal pass: " (optimal.reductions) " debts reduced, "
            (a(optimal.cleared)) " cleared."
        }
    };
    let inner = content(&state, Some(result), 1).await?;
    Ok(action_reply(&headers, inner, "/admin/clearing"))
}
