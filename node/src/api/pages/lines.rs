//! `/admin/trustlines` (filter by equivalent and status, freeze / unfreeze) and `/admin/graph`
//! (the credit graph of one equivalent as a server-drawn SVG).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use maud::{html, Markup};

use super::html::{badge, pager, parse_form, url_encode};
use super::{action_reply, page_number, query, render, AdminSession, PageError, PageResult};
use crate::api::util::{fmt_atoms, fmt_time, parse_code};
use crate::api::{views, AppState};
use crate::ledger::graph::{LineStatus, NodeId};
use crate::ledger::model::{EqId, TrustLine};
use crate::ledger::Ledger;

const PER_PAGE: usize = 100;
/// Most participants drawn in the graph (those with the most lines are kept).
pub const GRAPH_MAX_NODES: usize = 200;
/// Above this many edges the graph shows amounts only in tooltips.
const GRAPH_MAX_LABELS: usize = 120;

fn party(l: &Ledger, node: NodeId) -> Markup {
    let p = l.participant_at(node);
    html! { span title=(p.pid.as_str()) { (p.display_name) } }
}

/// One trust-line row (id `tl-<uuid>`, the target of its buttons).
fn line_row(l: &Ledger, line: &TrustLine) -> Markup {
    let eq = l.equivalent_at(line.eq);
    let used = l.line_used(line);
    let limit = line.limit.atoms();
    let row_id = format!("tl-{}", line.id);
    let url = format!("/admin/trustlines/{}", line.id);
    html! {
        tr id=(row_id) {
            td { (party(l, line.from)) }
            td { (party(l, line.to)) }
            td { (eq.code.as_str()) }
            td class="num" { (fmt_atoms(limit, eq.precision)) }
            td class="num" { (fmt_atoms(used, eq.precision)) }
            td class="num" { (fmt_atoms((limit - used).max(0), eq.precision)) }
            td { (if line.policy.auto_clearing { "yes" } else { "no" }) }
            td class="status" { (badge(line.status.as_str())) }
            td class="time" { (fmt_time(line.updated_at)) }
            td class="actions" {
                @match line.status {
                    LineStatus::Active => {
                        button type="button" class="btn small warn" hx-post={ (url) "/freeze" }
                            hx-target={ "#" (row_id) } hx-swap="outerHTML" { "Freeze" }
                    }
                    LineStatus::Frozen => {
                        button type="button" class="btn small" hx-post={ (url) "/unfreeze" }
                            hx-target={ "#" (row_id) } hx-swap="outerHTML" { "Unfreeze" }
                    }
                    LineStatus::Closed => {}
                }
            }
        }
    }
}

fn equivalent_select(l: &Ledger, selected: Option<&str>, allow_any: bool) -> Markup {
    html! {
        select name="equivalent" {
            @if allow_any {
                option value="" { "all equivalents" }
            }
            @for e in l.equivalents() {
                @let code = e.code.as_str();
                option value=(code) selected[selected == Some(code)] { (code) }
            }
        }
    }
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
            let mut matching = l
                .lines()
                .iter()
                .filter(|line| code.as_deref().is_none_or(|c| l.equivalent_at(line.eq).code.as_str() == c))
                .filter(|line| status.is_none_or(|s| line.status == s));
            let rows: Vec<Markup> = matching
                .by_ref()
                .skip(skip)
                .take(PER_PAGE)
                .map(|line| line_row(l, line))
                .collect();
            let more = matching.next().is_some();
            let selected = status.map(LineStatus::as_str);
            let base = format!(
                "/admin/trustlines?equivalent={}&status={}",
                url_encode(code.as_deref().unwrap_or("")),
                selected.unwrap_or("")
            );
            html! {
                form class="filters" method="get" action="/admin/trustlines" {
                    (equivalent_select(l, code.as_deref(), true))
                    select name="status" {
                        option value="" { "any status" }
                        @for s in ["active", "frozen", "closed"] {
                            option value=(s) selected[selected == Some(s)] { (s) }
                        }
                    }
                    button class="btn small" type="submit" { "Filter" }
                }
                table id="trustlines" {
                    thead {
                        tr {
                            th { "Creditor (trusts)" } th { "Debtor (trusted)" } th { "Equiv." }
                            th class="num" { "Limit" } th class="num" { "Used" } th class="num" { "Available" }
                            th { "Auto-clearing" } th { "Status" } th { "Updated" } th { "Actions" }
                        }
                    }
                    tbody {
                        @if rows.is_empty() {
                            tr { td colspan="10" class="muted" { "No trust lines match." } }
                        }
                        @for r in rows { (r) }
                    }
                }
                (pager(&base, page, more))
            }
        })
        .await;
    Ok(render("Trust lines", "trustlines", &session, body))
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
    let admin = state.admin_action(&format!("trustline.{action}"), Some("admin pages"));
    state.service().set_line_status(admin, id, status).await?;
    let row = state
        .engine()
        .read(|l| l.line(&id).map(|line| line_row(l, line)))
        .await
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "trust line not found"))?;
    Ok(action_reply(&headers, row, "/admin/trustlines"))
}

/// The SVG drawing of one equivalent's credit graph: participants on a circle, one curved
/// arrow per open trust line (creditor -> debtor) labelled `used / limit`.
pub fn graph_svg(l: &Ledger, eq: EqId) -> Markup {
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
        return html! { p class="muted" id="graph-empty" { "No open trust lines in this equivalent." } };
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
    let drawn: Vec<&&TrustLine> = lines
        .iter()
        .filter(|x| index.contains_key(&x.from) && index.contains_key(&x.to))
        .collect();
    let labels = drawn.len() <= GRAPH_MAX_LABELS;
    let edges: Vec<Edge> = drawn
        .iter()
        .filter_map(|x| {
            let (a, b) = (*index.get(&x.from)?, *index.get(&x.to)?);
            Some(edge(l, x, pos[a], pos[b], node_r))
        })
        .collect();
    let name = |node: NodeId| l.participant_at(node).display_name.as_str();
    let code = e.code.as_str();
    let font_class = if n > 60 { "node-label small" } else { "node-label" };
    let arrow = |id: &str, class: &str| {
        html! {
            marker id=(id) viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto" {
                path d="M0,0 L10,5 L0,10 z" class=(class) {}
            }
        }
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id="graph" class="graph" viewBox={ "0 0 " (size) " " (size) }
            role="img" aria-label={ "Credit graph of " (code) } {
            defs { (arrow("arrow", "arrowhead")) (arrow("arrow-used", "arrowhead used")) }
            g class="edges" {
                @for x in &edges {
                    path class=(x.class) d=(x.d) marker-end={ "url(#" (x.marker) ")" } {
                        title {
                            (name(x.line.from)) " → " (name(x.line.to)) ": " (x.text) " " (code)
                            @if x.line.status == LineStatus::Frozen { " (frozen)" }
                        }
                    }
                }
            }
            g class="edge-labels" {
                @if labels {
                    @for x in &edges {
                        text class="edge-label" x=(format!("{:.1}", x.label_at.0)) y=(format!("{:.1}", x.label_at.1)) {
                            (x.text)
                        }
                    }
                }
            }
            g class="nodes" {
                @for (i, (node, _)) in nodes.iter().enumerate() {
                    @let p = l.participant_at(*node);
                    @let (x, y) = pos[i];
                    @let pos_net = views::position(l, eq, *node);
                    circle class={ "node n-" (p.status.as_str()) } cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(node_r) {
                        title {
                            (p.display_name) " (" (p.status.as_str()) "): net "
                            (fmt_atoms(pos_net.credit - pos_net.debt, e.precision)) " " (code)
                        }
                    }
                    @if n <= 120 {
                        @let (ux, uy) = ((x - center) / radius, (y - center) / radius);
                        @let (lx, ly) = (x + ux * (node_r + 6.0), y + uy * (node_r + 6.0) + 4.0);
                        text class=(font_class) x=(format!("{lx:.1}")) y=(format!("{ly:.1}"))
                            text-anchor=(if ux >= 0.0 { "start" } else { "end" }) {
                            (p.display_name.chars().take(18).collect::<String>())
                        }
                    }
                }
            }
        }
        @if dropped > 0 {
            p class="muted" {
                (dropped) " participants with fewer lines are not drawn (at most " (GRAPH_MAX_NODES) ")."
            }
        }
    }
}

/// One drawn trust line: its curve, arrowhead, label text and label position.
struct Edge<'a> {
    line: &'a TrustLine,
    class: &'static str,
    marker: &'static str,
    d: String,
    text: String,
    label_at: (f64, f64),
}

/// The curve of a line from the node at `(x1, y1)` to the node at `(x2, y2)`.
fn edge<'a>(
    l: &Ledger,
    x: &'a TrustLine,
    (x1, y1): (f64, f64),
    (x2, y2): (f64, f64),
    node_r: f64,
) -> Edge<'a> {
    let precision = l.equivalent_at(x.eq).precision;
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
    let frozen = x.status == LineStatus::Frozen;
    Edge {
        line: x,
        class: match (used > 0, frozen) {
            (true, false) => "edge used",
            (true, true) => "edge used frozen",
            (false, false) => "edge idle",
            (false, true) => "edge idle frozen",
        },
        marker: if used > 0 { "arrow-used" } else { "arrow" },
        d: format!("M{x1:.1},{y1:.1} Q{cx:.1},{cy:.1} {ex:.1},{ey:.1}"),
        text: format!(
            "{} / {}",
            fmt_atoms(used, precision),
            fmt_atoms(x.limit.atoms(), precision)
        ),
        label_at: (0.25 * x1 + 0.5 * cx + 0.25 * x2, 0.25 * y1 + 0.5 * cy + 0.25 * y2),
    }
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
        .read(|l| -> Result<Markup, PageError> {
            let eq: Option<EqId> = match &wanted {
                Some(c) => Some(l.eq_id(c)?),
                None => (!l.equivalents().is_empty()).then_some(0),
            };
            let Some(eq) = eq else {
                return Ok(html! { p class="muted" { "No equivalents yet." } });
            };
            let code = l.equivalent_at(eq).code.as_str();
            Ok(html! {
                form class="filters" method="get" action="/admin/graph" {
                    (equivalent_select(l, Some(code), false))
                    button class="btn small" type="submit" { "Show" }
                }
                div class="graph-box" { (graph_svg(l, eq)) }
                p class="legend" {
                    span class="key used" {} " line with debt "
                    span class="key idle" {} " line without debt " span class="key frozen" {} " frozen line. \
                     An arrow A → B means A trusts B; its label is B's debt to A / the limit. Hover for details."
                }
            })
        })
        .await?;
    Ok(render("Credit graph", "graph", &session, body))
}
