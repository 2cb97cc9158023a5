//! `/admin/integrity`: invariant status and checksums per equivalent, the latest checkpoints, a
//! "Verify now" button (runs every check in the writer and writes checkpoints), the persisted
//! integrity audit log (paged, filterable) and the latest admin actions.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::html::{badge, html_escape, pager, parse_form, short, url_encode};
use super::{action_reply, page_number, query, render, AdminSession, PageError, PageResult};
use crate::api::util::{fmt_atoms, fmt_time, parse_code};
use crate::api::AppState;
use crate::engine::{Command, Reply};
use crate::ledger::model::EqId;
use crate::ledger::snapshot::Checkpoint;
use crate::store::{AdminAuditFilter, AuditFilter};

const PER_PAGE: usize = 50;
/// Admin actions shown below the audit log.
const ADMIN_ACTIONS: usize = 20;

async fn status_section(state: &AppState, note: Option<String>) -> Result<String, PageError> {
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
    let mut out = String::with_capacity(4096);
    if let Some(n) = note {
        out.push_str(&n);
    }
    out.push_str(
        "<table id=\"invariants\"><thead><tr><th>Equivalent</th><th>Invariants</th><th class=\"num\">Zero-sum</th>\
         <th class=\"num\">Limit violations</th><th class=\"num\">Reservation violations</th><th>Checksum now</th>\
         <th>Last checkpoint</th><th>Checkpoint checksum</th></tr></thead><tbody>",
    );
    for (code, precision, report, checksum) in &rows {
        let cp = cps.get(code);
        let cp_cell = match cp {
            Some(c) => format!(
                "{} {}",
                html_escape(&fmt_time(c.at)),
                badge(if c.passed { "passed" } else { "FAILED" })
            ),
            None => "<span class=\"muted\">none</span>".to_owned(),
        };
        let cp_sum = match cp {
            Some(c) if &c.checksum == checksum => {
                format!("{} <span class=\"muted\">= now</span>", short(&c.checksum))
            }
            Some(c) => format!(
                "{} <span class=\"muted\">(state changed since)</span>",
                short(&c.checksum)
            ),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr id=\"inv-{}\"><td><strong>{}</strong></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{cp_cell}</td><td>{cp_sum}</td></tr>",
            html_escape(code),
            html_escape(code),
            badge(if report.passed() { "passed" } else { "FAILED" }),
            html_escape(&fmt_atoms(report.zero_sum, *precision)),
            report.limit_violations.len(),
            report.reservation_violations,
            short(checksum),
        );
    }
    out.push_str("</tbody></table>");
    out.push_str(
        "<p><button type=\"button\" class=\"btn primary\" id=\"verify\" hx-post=\"/admin/integrity/verify\" \
         hx-target=\"#integrity-status\" hx-swap=\"innerHTML\">Verify now</button> \
         <span class=\"muted\">Runs every invariant check in the writer and stores a checkpoint per equivalent.</span></p>",
    );
    Ok(out)
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
    let mut body = String::with_capacity(16_384);
    body.push_str("<section id=\"integrity-status\">");
    body.push_str(&status_section(&state, None).await?);
    body.push_str("</section>");

    body.push_str("<h2>Audit log</h2><form class=\"filters\" method=\"get\" action=\"/admin/integrity\"><select name=\"equivalent\"><option value=\"\">all equivalents</option>");
    for c in &codes {
        let sel = if code.as_ref().map(|x| x.as_str()) == Some(c.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(body, "<option value=\"{0}\"{sel}>{0}</option>", html_escape(c));
    }
    let _ = write!(
        body,
        "</select><label><input type=\"checkbox\" name=\"failures\" value=\"1\"{}> failures only</label>\
         <button class=\"btn small\" type=\"submit\">Filter</button></form>",
        if failures { " checked" } else { "" }
    );
    body.push_str(
        "<table id=\"audit-log\"><thead><tr><th>Time</th><th>Operation</th><th>Equiv.</th><th>Tx</th>\
         <th>Checksum before → after</th><th class=\"num\">Affected</th><th>Result</th></tr></thead><tbody>",
    );
    if audit.is_empty() {
        body.push_str("<tr><td colspan=\"7\" class=\"muted\">No audit records.</td></tr>");
    }
    for a in audit.iter().take(PER_PAGE) {
        let error = a
            .error
            .as_ref()
            .map(|e| format!(" <span class=\"muted\">{}</span>", html_escape(&e.to_string())))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td class=\"time\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td class=\"num\">{}</td><td>{}{error}</td></tr>",
            html_escape(&fmt_time(a.at)),
            html_escape(&a.operation),
            html_escape(a.equivalent.as_str()),
            a.tx_id.as_deref().map(short).unwrap_or_default(),
            short(&a.checksum_before),
            short(&a.checksum_after),
            a.affected.len(),
            badge(if a.passed { "passed" } else { "FAILED" }),
        );
    }
    body.push_str("</tbody></table>");
    let base = format!(
        "/admin/integrity?equivalent={}&failures={}",
        url_encode(code.as_ref().map_or("", |c| c.as_str())),
        if failures { "1" } else { "" }
    );
    body.push_str(&pager(&base, page, audit.len() > PER_PAGE));

    body.push_str(
        "<h2>Admin actions</h2><table id=\"admin-actions\"><thead><tr><th>Time</th><th>Action</th><th>Object</th>\
         <th>Reason</th></tr></thead><tbody>",
    );
    let actions = state
        .engine()
        .store()
        .admin_audit_log(&AdminAuditFilter {
            limit: i64::try_from(ADMIN_ACTIONS).unwrap_or(20),
            ..AdminAuditFilter::default()
        })
        .await?;
    if actions.is_empty() {
        body.push_str("<tr><td colspan=\"4\" class=\"muted\">No admin actions recorded.</td></tr>");
    }
    for item in &actions {
        let _ = write!(
            body,
            "<tr><td class=\"time\">{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            html_escape(&fmt_time(item.at)),
            html_escape(&item.action),
            html_escape(&item.object_type),
            short(&item.object_id),
            html_escape(item.reason.as_deref().unwrap_or("")),
        );
    }
    body.push_str(
        "</tbody></table><p class=\"muted\">The latest admin actions; the full, persisted log: \
         <code>GET /api/v1/admin/audit-log</code>.</p>",
    );
    Ok(render("Integrity", "integrity", &session, &body))
}

/// `POST /admin/integrity/verify`: answers the refreshed status section with the outcome.
pub async fn verify(
    State(state): State<AppState>,
    session: AdminSession,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    let reports = match state.submit(Command::Verify).await? {
        Reply::Verified(r) => r,
        _ => {
            return Err(PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "unexpected reply",
            ))
        }
    };
    let failed: Vec<String> = reports
        .iter()
        .filter(|(_, r)| !r.passed())
        .map(|(c, _)| c.as_str().to_owned())
        .collect();
    let now = fmt_time(state.engine().now());
    let note = if failed.is_empty() {
        format!(
            "<div class=\"flash success\" id=\"verify-result\" role=\"status\">Verified at {}: all invariants hold in {} equivalents; checkpoints written.</div>",
            html_escape(&now),
            reports.len()
        )
    } else {
        format!(
            "<div class=\"flash error\" id=\"verify-result\" role=\"alert\">Verified at {}: invariants VIOLATED in {}.</div>",
            html_escape(&now),
            html_escape(&failed.join(", "))
        )
    };
    state
        .log_admin(
            "integrity.verify",
            "integrity",
            "all",
            Some("admin pages"),
            json!({ "equivalents": reports.len(), "failed": failed }),
        )
        .await;
    let section = status_section(&state, Some(note)).await?;
    Ok(action_reply(&headers, section, "/admin/integrity"))
}
