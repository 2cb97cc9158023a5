//! `/admin/integrity`: invariant status and checksums per equivalent, the latest checkpoints, a
//! "Verify now" button (runs every check in the writer and writes checkpoints), the persisted
//! integrity audit log (paged, filterable) and the latest admin actions.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use maud::{html, Markup};

use super::html::{badge, pager, parse_form, short, url_encode};
use super::{action_reply, page_number, query, render, AdminSession, PageError, PageResult};
use crate::api::util::{fmt_atoms, fmt_time, parse_code};
use crate::api::AppState;
use crate::ledger::model::EqId;
use crate::ledger::snapshot::Checkpoint;
use crate::store::{AdminAuditFilter, AuditFilter};

const PER_PAGE: usize = 50;
/// Admin actions shown below the audit log.
const ADMIN_ACTIONS: usize = 20;

async fn status_section(state: &AppState, note: Option<Markup>) -> Result<Markup, PageError> {
    let cps: HashMap<String, Checkpoint> = state
        .engine()
        .store()
        .latest_checkpoints()
        .await?
        .into_iter()
        .map(|c| (c.equivalent.as_str().to_owned(), c))
        .collect();
    let rows = state
        .engine()
        .read(|l| {
            l.equivalents()
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let eq = EqId::try_from(i).ok()?;
                    let report = l.check(eq);
                    Some((
                        e.code.as_str().to_owned(),
                        e.precision,
                        report,
                        l.full_checksum(eq),
                    ))
                })
                .collect::<Vec<_>>()
        })
        .await;
    let passed = |ok: bool| badge(if ok { "passed" } else { "FAILED" });
    Ok(html! {
        @if let Some(n) = note { (n) }
        table id="invariants" {
            thead {
                tr {
                    th { "Equivalent" } th { "Invariants" } th class="num" { "Zero-sum" }
                    th class="num" { "Limit violations" } th class="num" { "Reservation violations" }
                    th { "Checksum now" } th { "Last checkpoint" } th { "Checkpoint checksum" }
                }
            }
            tbody {
                @for (code, precision, report, checksum) in &rows {
                    @let cp = cps.get(code);
                    tr id={ "inv-" (code) } {
                        td { strong { (code) } }
                        td { (passed(report.passed())) }
                        td class="num" { (fmt_atoms(report.zero_sum, *precision)) }
                        td class="num" { (report.limit_violations.len()) }
                        td class="num" { (report.reservation_violations) }
                        td { (short(checksum)) }
                        td {
                            @match cp {
                                Some(c) => { (fmt_time(c.at)) " " (passed(c.passed)) }
                                None => span class="muted" { "none" },
                            }
                        }
                        td {
                            @match cp {
                                Some(c) if &c.checksum == checksum => {
                                    (short(&c.checksum)) " " span class="muted" { "= now" }
                                }
                                Some(c) => {
                                    (short(&c.checksum)) " " span class="muted" { "(state changed since)" }
                                }
                                None => {}
                            }
                        }
                    }
                }
            }
        }
        p {
            button type="button" class="btn primary" id="verify" hx-post="/admin/integrity/verify"
                hx-target="#integrity-status" hx-swap="innerHTML" { "Verify now" }
            " "
            span class="muted" { "Runs every invariant check in the writer and stores a checkpoint per equivalent." }
        }
    })
}

/// `GET /admin/integrity?equivalent=&failures=1&page=`.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q = query(raw.as_deref());
    let page = page_number(&q);
    let code = q
        .get("equivalent")
        .filter(|c| !c.is_empty())
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    let failures = q.get("failures").is_some_and(|v| v == "1");
    let skip = usize::try_from(page - 1).unwrap_or(0).saturating_mul(PER_PAGE);
    let audit = state
        .engine()
        .store()
        .audit_log(&AuditFilter {
            equivalent: code.as_ref().map(|c| c.as_str().to_owned()),
            tx_id: None,
            failures_only: failures,
            limit: i64::try_from(PER_PAGE + 1).unwrap_or(51),
            offset: i64::try_from(skip).unwrap_or(0),
        })
        .await?;
    let codes: Vec<String> = state
        .engine()
        .read(|l| {
            l.equivalents()
                .iter()
                .map(|e| e.code.as_str().to_owned())
                .collect()
        })
        .await;
    let actions = state
        .engine()
        .store()
        .admin_audit_log(&AdminAuditFilter {
            limit: i64::try_from(ADMIN_ACTIONS).unwrap_or(20),
            ..AdminAuditFilter::default()
        })
        .await?;
    let status = status_section(&state, None).await?;
    let selected = code.as_ref().map(|x| x.as_str());
    let base = format!(
        "/admin/integrity?equivalent={}&failures={}",
        url_encode(selected.unwrap_or("")),
        if failures { "1" } else { "" }
    );
    let body = html! {
        section id="integrity-status" { (status) }
        h2 { "Audit log" }
        form class="filters" method="get" action="/admin/integrity" {
            select name="equivalent" {
                option value="" { "all equivalents" }
                @for c in &codes {
                    option value=(c) selected[selected == Some(c.as_str())] { (c) }
                }
            }
            label { input type="checkbox" name="failures" value="1" checked[failures]; " failures only" }
            button class="btn small" type="submit" { "Filter" }
        }
        table id="audit-log" {
            thead {
                tr {
                    th { "Time" } th { "Operation" } th { "Equiv." } th { "Tx" }
                    th { "Checksum before → after" } th class="num" { "Affected" } th { "Result" }
                }
            }
            tbody {
                @if audit.is_empty() {
                    tr { td colspan="7" class="muted" { "No audit records." } }
                }
                @for a in audit.iter().take(PER_PAGE) {
                    tr {
                        td class="time" { (fmt_time(a.at)) }
                        td { (a.operation) }
                        td { (a.equivalent.as_str()) }
                        td { @if let Some(t) = a.tx_id.as_deref() { (short(t)) } }
                        td { (short(&a.checksum_before)) " → " (short(&a.checksum_after)) }
                        td class="num" { (a.affected.len()) }
                        td {
                            (badge(if a.passed { "passed" } else { "FAILED" }))
                            @if let Some(e) = &a.error {
                                " " span class="muted" { (e.to_string()) }
                            }
                        }
                    }
                }
            }
        }
        (pager(&base, page, audit.len() > PER_PAGE))
        h2 { "Admin actions" }
        table id="admin-actions" {
            thead {
                tr { th { "Time" } th { "Action" } th { "Object" } th { "Reason" } }
            }
            tbody {
                @if actions.is_empty() {
                    tr { td colspan="4" class="muted" { "No admin actions recorded." } }
                }
                @for item in &actions {
                    tr {
                        td class="time" { (fmt_time(item.at)) }
                        td { (item.action) }
                        td { (item.object_type) " " (short(&item.object_id)) }
                        td { (item.reason.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        p class="muted" {
            "The latest admin actions; the full, persisted log: " code { "GET /api/v1/admin/audit-log" } "."
        }
    };
    Ok(render("Integrity", "integrity", &session, body))
}

/// `POST /admin/integrity/verify`: answers the refreshed status section with the outcome.
pub async fn verify(
    State(state): State<AppState>,
    session: AdminSession,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    let admin = state.admin_action("integrity.verify", Some("admin pages"));
    let reports = state.service().verify_as_admin(admin).await?;
    let failed: Vec<String> = reports
        .iter()
        .filter(|(_, r)| !r.passed())
        .map(|(c, _)| c.as_str().to_owned())
        .collect();
    let now = fmt_time(state.engine().now());
    let note = if failed.is_empty() {
        html! {
            div class="flash success" id="verify-result" role="status" {
                "Verified at " (now) ": all invariants hold in " (reports.len()) " equivalents; checkpoints written."
            }
        }
    } else {
        html! {
            div class="flash error" id="verify-result" role="alert" {
                "Verified at " (now) ": invariants VIOLATED in " (failed.join(", ")) "."
            }
        }
    };
    let section = status_section(&state, Some(note)).await?;
    Ok(action_reply(&headers, section, "/admin/integrity"))
}
