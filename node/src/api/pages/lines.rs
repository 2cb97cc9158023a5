//! `/admin/trustlines` (filter by equivalent and status, freeze / unfreeze) and `/admin/graph`
//! (the credit graph of one equivalent as a server-drawn SVG).

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::html::{badge, html_escape, pager, parse_form, url_encode};
use super::{action_reply, page_number, query, render, AdminSession, PageError, PageResult};
use crate::api::util::{fmt_atoms, fmt_time, parse_code};
use crate::api::{views, AppState};
use crate::engine::{Command, Reply};
use crate::ledger::graph::{LineStatus, NodeId};
use crate::ledger::model::{EqId, TrustLine};
use crate::ledger::Ledger;

const PER_PAGE: usize = 100;
/// Most participants drawn in the graph (those with the most lines are kept).
pub const GRAPH_MAX_NODES: usize = 200;
/// Above this many edges the graph shows amounts only in tooltips.
const GRAPH_MAX_LABELS: usize = 120;

fn party(l: &Ledger, node: NodeId) -> String {
    let p = l.participant_at(node);
    format!(
        "<span title=\"{}\">{}</span>",
        html_escape(p.pid.as_str()),
        html_escape(&p.display_name)
    )
}

/// One trust-line row (id `tl-<uuid>`, the target of its buttons).
fn line_row(l: &Ledger, line: &TrustLine) -> String {
    let eq = l.equivalent_at(line.eq);
    let used = l.line_used(line);
    let limit = line.limit.atoms();
    let row_id = format!("tl-{}", line.id);
    let url = format!("/admin/trustlines/{}", line.id);
    let action = match line.status {
        LineStatus::Active => format!(
            "<button type=\"button\" class=\"btn small warn\" hx-post=\"{url}/freeze\" hx-target=\"#{row_id}\" hx-swap=\"outerHTML\">Freeze</button>"
        ),
        LineStatus::Frozen => format!(
            "<button type=\"button\" class=\"btn small\" hx-post=\"{url}/unfreeze\" hx-target=\"#{row_id}\" hx-swap=\"outerHTML\">Unfreeze</button>"
        ),
        LineStatus::Closed => String::new(),
    };
    format!(
        "<tr id=\"{row_id}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"status\">{}</td><td class=\"time\">{}</td><td class=\"actions\">{action}</td></tr>",
        party(l, line.from),
        party(l, line.to),
        html_escape(eq.code.as_str()),
        html_escape(&fmt_atoms(limit, eq.precision)),
        html_escape(&fmt_atoms(used, eq.precision)),
        html_escape(&fmt_atoms((limit - used).max(0), eq.precision)),
        if line.policy.auto_clearing { "yes" } else { "no" },
        badge(line.status.as_str()),
        html_escape(&fmt_time(line.updated_at)),
    )
}

fn equivalent_select(l: &Ledger, selected: Option<&str>, allow_any: bool) -> String {
    let mut out = String::from("<select name=\"equivalent\">");
    if allow_any {
        out.push_str("<option value=\"\">all equivalents</option>");
    }
    for e in l.equivalents() {
        let code = e.code.as_str();
        let sel = if selected == Some(code) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", html_escape(code));
    }
    out.push_str("</select>");
    out
}

/// `GET /admin/trustlines?equivalent=&status=&page=`.
pub async fn trustlines(
    State(state): State<AppState>,
    session: AdminSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q = query(raw.as_deref());
    let page = page_number(&q);
    let code = q.get("equivalent").filter(|c| !c.is_empty()).cloned();
    let status = q.get("status").and_then(|s| LineStatus::parse(s));
    let skip = usize::try_from(page - 1).unwrap_or(0).saturating_mul(PER_PAGE);
    let body = state
        .engine()
        .read(|l| {
            let mut out = String::with_capacity(16_384);
            let _ = write!(
                out,
                "<form class=\"filters\" method=\"get\" action=\"/admin/trustlines\">{}<select name=\"status\"><option value=\"\">any status</option>",
                equivalent_select(l, code.as_deref(), true)
            );
            for s in ["active", "frozen", "closed"] {
                let sel = if status.map(LineStatus::as_str) == Some(s) { " selected" } else { "" };
                let _ = write!(out, "<option value=\"{s}\"{sel}>{s}</option>");
            }
            out.push_str(
                "</select><button class=\"btn small\" type=\"submit\">Filter</button></form>\
                 <table id=\"trustlines\"><thead><tr><th>Creditor (trusts)</th><th>Debtor (trusted)</th><th>Equiv.</th>\
                 <th class=\"num\">Limit</th><th class=\"num\">Used</th><th class=\"num\">Available</th><th>Auto-clearing</th>\
                 <th>Status</th><th>Updated</th><th>Actions</th></tr></thead><tbody>",
            );
            let mut matching = l
                .lines()
                .iter()
                .filter(|line| code.as_deref().is_none_or(|c| l.equivalent_at(line.eq).code.as_str() == c))
                .filter(|line| status.is_none_or(|s| line.status == s));
            let mut shown = 0;
            for line in matching.by_ref().skip(skip).take(PER_PAGE) {
                out.push_str(&line_row(l, line));
                shown += 1;
            }
            if shown == 0 {
                out.push_str("<tr><td colspan=\"10\" class=\"muted\">No trust lines match.</td></tr>");
            }
            out.push_str("</tbody></table>");
            let more = matching.next().is_some();
            let base = format!(
                "/admin/trustlines?equivalent={}&status={}",
                url_encode(code.as_deref().unwrap_or("")),
                status.map_or("", LineStatus::as_str)
            );
            out.push_str(&pager(&base, page, more));
            out
        })
        .await;
    Ok(render("Trust lines", "trustlines", &session, &body))
}

/// `POST /admin/trustlines/{id}/{freeze|unfreeze}`: answers the updated row.
pub async fn line_action(
    State(state): State<AppState>,
    session: AdminSession,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    session.check_csrf(&headers, &parse_form(&body))?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| PageError::bad_request("malformed trust line id"))?;
    let status = match action.as_str() {
        "freeze" => LineStatus::Frozen,
        "unfreeze" => LineStatus::Active,
        _ => return Err(PageError::new(StatusCode::NOT_FOUND, "no such action")),
    };
    let reply = state.submit(Command::SetLineStatus { id, status }).await?;
    let Reply::Line(_) = reply else {
        return Err(PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected reply",
        ));
    };
    let (row, view) = state
        .engine()
        .read(|l| {
            l.line(&id)
                .map(|line| (line_row(l, line), views::trust_line(l, line)))
        })
        .await
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "trust line not found"))?;
    state
        .log_admin(
            &format!("trustline.{action}"),
            "trustline",
            &id.to_string(),
            Some("admin pages"),
            json!({ "status": view.get("status") }),
        )
        .await;
    Ok(action_reply(&headers, row, "/admin/trustlines"))
}

/// The SVG drawing of one equivalent's credit graph: participants on a circle, one curved
/// arrow per open trust line (creditor -> debtor) labelled `used / limit`.
pub fn graph_svg(l: &Ledger, eq: EqId) -> String {
    let e = l.equivalent_at(eq);
    let lines: Vec<&TrustLine> = l
        .lines()
        .iter()
        .filter(|x| x.eq == eq && x.status != LineStatus::Closed)
        .collect();
    let mut degree: HashMap<NodeId, usize> = HashMap::new();
    for x in &lines {
        *degree.entry(x.from).or_default() += 1;
        *degree.entry(x.to).or_default() += 1;
    }
    let mut nodes: Vec<(NodeId, usize)> = degree.into_iter().collect();
    nodes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let dropped = nodes.len().saturating_sub(GRAPH_MAX_NODES);
    nodes.truncate(GRAPH_MAX_NODES);
    nodes.sort_by_key(|n| n.0);
    let n = nodes.len();
    if n == 0 {
        return "<p class=\"muted\" id=\"graph-empty\">No open trust lines in this equivalent.</p>"
            .to_owned();
    }
    let size = 960.0_f64;
    let center = size / 2.0;
    let radius = if n <= 2 { 200.0 } else { 330.0 };
    let index: HashMap<NodeId, usize> = nodes.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let angle = std::f64::consts::TAU * (i as f64) / (n as f64) - std::f64::consts::FRAC_PI_2;
            (center + radius * angle.cos(), center + radius * angle.sin())
        })
        .collect();
    let node_r = if n > 100 { 4.0 } else { 8.0 };
    let mut out = String::with_capacity(4096 + lines.len() * 300);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"graph\" class=\"graph\" viewBox=\"0 0 {size} {size}\" role=\"img\" aria-label=\"Credit graph of {}\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" class=\"arrowhead\"/></marker>\
         <marker id=\"arrow-used\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" class=\"arrowhead used\"/></marker></defs>",
        html_escape(e.code.as_str())
    );
    let drawn: Vec<&&TrustLine> = lines
        .iter()
        .filter(|x| index.contains_key(&x.from) && index.contains_key(&x.to))
        .collect();
    let labels = drawn.len() <= GRAPH_MAX_LABELS;
    let mut label_svg = String::new();
    out.push_str("<g class=\"edges\">");
    for x in &drawn {
        let (Some(&a), Some(&b)) = (index.get(&x.from), index.get(&x.to)) else {
            continue;
        };
        let ((x1, y1), (x2, y2)) = (pos[a], pos[b]);
        let (dx, dy) = (x2 - x1, y2 - y1);
        let dist = (dx * dx + dy * dy).sqrt().max(1.0);
        // Bend to the right of the direction, so the two lines of a pair do not overlap.
        let bend = 0.12 * dist;
        let (cx, cy) = (
            (x1 + x2) / 2.0 - dy / dist * bend,
            (y1 + y2) / 2.0 + dx / dist * bend,
        );
        let (tx, ty) = (x2 - cx, y2 - cy);
        let tl = (tx * tx + ty * ty).sqrt().max(1.0);
        let (ex, ey) = (x2 - tx / tl * (node_r + 2.0), y2 - ty / tl * (node_r + 2.0));
        let used = l.line_used(x);
        let mut class = String::from(if used > 0 { "edge used" } else { "edge idle" });
        if x.status == LineStatus::Frozen {
            class.push_str(" frozen");
        }
        let marker = if used > 0 { "arrow-used" } else { "arrow" };
        let text = format!(
            "{} / {}",
            fmt_atoms(used, e.precision),
            fmt_atoms(x.limit.atoms(), e.precision)
        );
        let _ = write!(
            out,
            "<path class=\"{class}\" d=\"M{x1:.1},{y1:.1} Q{cx:.1},{cy:.1} {ex:.1},{ey:.1}\" marker-end=\"url(#{marker})\"><title>{} → {}: {} {}{}</title></path>",
            html_escape(&l.participant_at(x.from).display_name),
            html_escape(&l.participant_at(x.to).display_name),
            html_escape(&text),
            html_escape(e.code.as_str()),
            if x.status == LineStatus::Frozen { " (frozen)" } else { "" },
        );
        if labels {
            let (mx, my) = (0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2);
            let _ = write!(
                label_svg,
                "<text class=\"edge-label\" x=\"{mx:.1}\" y=\"{my:.1}\">{}</text>",
                html_escape(&text)
            );
        }
    }
    out.push_str("</g><g class=\"edge-labels\">");
    out.push_str(&label_svg);
    out.push_str("</g><g class=\"nodes\">");
    let font_class = if n > 60 { "node-label small" } else { "node-label" };
    for (i, (node, _)) in nodes.iter().enumerate() {
        let p = l.participant_at(*node);
        let (x, y) = pos[i];
        let pos_net = views::position(l, eq, *node);
        let net = fmt_atoms(pos_net.credit - pos_net.debt, e.precision);
        let _ = write!(
            out,
            "<circle class=\"node n-{}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{node_r}\"><title>{} ({}): net {} {}</title></circle>",
            p.status.as_str(),
            html_escape(&p.display_name),
            p.status.as_str(),
            html_escape(&net),
            html_escape(e.code.as_str()),
        );
        if n <= 120 {
            let (ux, uy) = ((x - center) / radius, (y - center) / radius);
            let (lx, ly) = (x + ux * (node_r + 6.0), y + uy * (node_r + 6.0) + 4.0);
            let anchor = if ux >= 0.0 { "start" } else { "end" };
            let name: String = p.display_name.chars().take(18).collect();
            let _ = write!(
                out,
                "<text class=\"{font_class}\" x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"{anchor}\">{}</text>",
                html_escape(&name)
            );
        }
    }
    out.push_str("</g></svg>");
    if dropped > 0 {
        let _ = write!(
            out,
            "<p class=\"muted\">{dropped} participants with fewer lines are not drawn (at most {GRAPH_MAX_NODES}).</p>"
        );
    }
    out
}

/// `GET /admin/graph?equivalent=`.
pub async fn graph(
    State(state): State<AppState>,
    session: AdminSession,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q = query(raw.as_deref());
    let wanted = q
        .get("equivalent")
        .filter(|c| !c.is_empty())
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    let body = state
        .engine()
        .read(|l| -> Result<String, PageError> {
            let eq: Option<EqId> = match &wanted {
                Some(c) => Some(l.eq_id(c)?),
                None => (!l.equivalents().is_empty()).then_some(0),
            };
            let Some(eq) = eq else {
                return Ok("<p class=\"muted\">No equivalents yet.</p>".to_owned());
            };
            let code = l.equivalent_at(eq).code.as_str().to_owned();
            let mut out = format!(
                "<form class=\"filters\" method=\"get\" action=\"/admin/graph\">{}<button class=\"btn small\" type=\"submit\">Show</button></form>",
                equivalent_select(l, Some(&code), false)
            );
            out.push_str("<div class=\"graph-box\">");
            out.push_str(&graph_svg(l, eq));
            out.push_str(
                "</div><p class=\"legend\"><span class=\"key used\"></span> line with debt \
                 <span class=\"key idle\"></span> line without debt <span class=\"key frozen\"></span> frozen line. \
                 An arrow A → B means A trusts B; its label is B's debt to A / the limit. Hover for details.</p>",
            );
            Ok(out)
        })
        .await?;
    Ok(render("Credit graph", "graph", &session, &body))
}
