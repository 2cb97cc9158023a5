//! JSON renderings of ledger records in the shapes of the GEO v0.1 contract.

use geo_protocol::{Amount, Pid, Precision};
use serde_json::{json, Value};

use super::util::{fmt_atoms, fmt_time};
use crate::ledger::graph::NodeId;
use crate::ledger::model::{
    AdminAuditRecord, AuditRecord, EqId, Equivalent, Participant, TrustLine, TxRecord, TxState,
};
use crate::ledger::policy::PolicyRecord;
use crate::ledger::Ledger;

/// `Participant`.
pub fn participant(p: &Participant) -> Value {
    json!({
        "pid": p.pid.as_str(),
        "display_name": p.display_name,
        "type": p.kind,
        "status": p.status.as_str(),
        "verification_level": p.verification_level,
        "public_key": p.public_key,
        "profile": p.profile,
        "created_at": fmt_time(p.created_at),
        "updated_at": fmt_time(p.updated_at),
    })
}

/// `ParticipantPublic`.
pub fn participant_public(p: &Participant) -> Value {
    json!({
        "pid": p.pid.as_str(),
        "display_name": p.display_name,
        "status": p.status.as_str(),
    })
}

/// `Equivalent`.
pub fn equivalent(e: &Equivalent) -> Value {
    json!({
        "code": e.code.as_str(),
        "symbol": e.symbol,
        "description": e.description,
        "precision": e.precision.get(),
        "metadata": e.metadata,
        "is_active": e.is_active,
        "created_at": fmt_time(e.created_at),
        "updated_at": fmt_time(e.updated_at),
    })
}

/// The wire policy of a line.
pub fn line_policy(line: &TrustLine, precision: Precision) -> Value {
    let amount = |a: Option<i128>| a.map(|x| Amount::from_atoms(x).unwrap_or(Amount::MAX));
    PolicyRecord {
        auto_clearing: line.policy.auto_clearing,
        can_be_intermediate: line.policy.can_be_intermediate,
        max_hop_usage: amount(line.policy.max_hop_usage),
        daily_limit: amount(line.policy.daily_limit),
        blocked_participants: line.blocked_pids.clone(),
    }
    .to_json(precision)
}

/// `TrustLine` (with `used` and `available` from the current debts).
pub fn trust_line(l: &Ledger, line: &TrustLine) -> Value {
    let eq = l.equivalent_at(line.eq);
    let precision = eq.precision;
    let used = l.line_used(line);
    let limit = line.limit.atoms();
    let from = l.participant_at(line.from);
    let to = l.participant_at(line.to);
    json!({
        "id": line.id.to_string(),
        "from": from.pid.as_str(),
        "to": to.pid.as_str(),
        "from_display_name": from.display_name,
        "to_display_name": to.display_name,
        "equivalent": eq.code.as_str(),
        "limit": fmt_atoms(limit, precision),
        "used": fmt_atoms(used, precision),
        "available": fmt_atoms((limit - used).max(0), precision),
        "policy": line_policy(line, precision),
        "status": line.status.as_str(),
        "created_at": fmt_time(line.created_at),
        "updated_at": fmt_time(line.updated_at),
    })
}

/// `PaymentResult` of a payment transaction record.
pub fn payment(tx: &TxRecord) -> Value {
    let p = tx.payload.payment();
    let mut out = json!({
        "tx_id": tx.tx_id,
        "status": tx.state.as_str(),
        "from": p.map(|p| p.from.as_str()),
        "to": p.map(|p| p.to.as_str()),
        "equivalent": tx.equivalent.as_ref().map(|e| e.as_str().to_owned()),
        "amount": p.map(|p| p.amount.as_str()),
        "routes": p.map_or(&[][..], |p| &p.routes[..]),
        "created_at": fmt_time(tx.created_at),
    });
    if let Value::Object(m) = &mut out {
        if let Some(d) = p.and_then(|p| p.description.as_deref()) {
            m.insert("description".into(), Value::String(d.to_owned()));
        }
        if let Some(e) = &tx.error {
            m.insert("error".into(), e.clone());
        }
        if tx.state == TxState::Committed {
            m.insert("committed_at".into(), Value::String(fmt_time(tx.updated_at)));
        }
    }
    out
}

/// A transaction record of any kind (WebSocket events, admin views).
pub fn transaction(tx: &TxRecord) -> Value {
    json!({
        "tx_id": tx.tx_id,
        "type": tx.kind.as_str(),
        "state": tx.state.as_str(),
        "initiator": tx.initiator.as_ref().map(Pid::as_str),
        "equivalent": tx.equivalent.as_ref().map(|e| e.as_str().to_owned()),
        "payload": tx.payload,
        "error": tx.error,
        "created_at": fmt_time(tx.created_at),
        "updated_at": fmt_time(tx.updated_at),
    })
}

/// An integrity audit record.
pub fn audit(a: &AuditRecord) -> Value {
    json!({
        "id": a.id.to_string(),
        "timestamp": fmt_time(a.at),
        "action": a.operation,
        "object_type": "equivalent",
        "object_id": a.equivalent.as_str(),
        "tx_id": a.tx_id,
        "passed": a.passed,
        "after_state": {
            "checksum_before": a.checksum_before,
            "checksum_after": a.checksum_after,
            "affected_participants": a.affected.iter().map(Pid::as_str).collect::<Vec<_>>(),
            "invariants_checked": a.invariants,
            "passed": a.passed,
            "error": a.error,
        },
    })
}

/// An admin audit record (`GET /admin/audit-log`).
pub fn admin_action(a: &AdminAuditRecord) -> Value {
    json!({
        "id": a.id.to_string(),
        "timestamp": fmt_time(a.at),
        "actor_id": a.actor_id,
        "actor_role": a.actor_role,
        "action": a.action,
        "object_type": a.object_type,
        "object_id": a.object_id,
        "reason": a.reason,
        "before_state": a.before_state,
        "after_state": a.after_state,
        "request_id": a.request_id,
        "ip_address": a.ip_address,
        "user_agent": a.user_agent,
    })
}

/// Per-equivalent position of one participant.
#[derive(Debug, Clone, Default)]
pub struct Position {
    /// What the participant owes.
    pub debt: i128,
    /// What others owe the participant.
    pub credit: i128,
    /// Direct capacity to pay neighbours.
    pub spend: i128,
    /// Direct capacity to be paid by neighbours.
    pub receive: i128,
    /// Sum of limits of active lines others opened to the participant.
    pub incoming_trust: i128,
    /// Sum of limits of active lines the participant opened.
    pub outgoing_trust: i128,
}

/// The position of `me` in one equivalent.
pub fn position(l: &Ledger, eq: EqId, me: NodeId) -> Position {
    let graph = &l.book(eq).graph;
    let mut pos = Position::default();
    for &(nb, id) in graph.neighbors(me) {
        let pair = graph.pair(id);
        pos.debt += pair.debt_of(me);
        pos.credit += pair.debt_of(nb);
        pos.spend += pair.capacity_for(me, me, nb);
        pos.receive += pair.capacity_for(nb, nb, me);
        let active = |s: Option<&crate::ledger::graph::LineSlot>| {
            s.filter(|s| s.status == crate::ledger::graph::LineStatus::Active)
                .map_or(0, |s| s.limit)
        };
        pos.incoming_trust += active(pair.line_from(nb));
        pos.outgoing_trust += active(pair.line_from(me));
    }
    pos
}

/// `ParticipantStats` summed over equivalents, plus the per-equivalent breakdown.
pub fn participant_stats(l: &Ledger, me: NodeId) -> Value {
    let mut total = Position::default();
    let mut by_eq = serde_json::Map::new();
    for (i, e) in l.equivalents().iter().enumerate() {
        let Ok(eq) = EqId::try_from(i) else { continue };
        let p = position(l, eq, me);
        total.debt += p.debt;
        total.credit += p.credit;
        total.incoming_trust += p.incoming_trust;
        total.outgoing_trust += p.outgoing_trust;
        by_eq.insert(e.code.as_str().to_owned(), stats_json(&p, e.precision));
    }
    let mut v = stats_json(&total, Precision::ZERO);
    if let Value::Object(m) = &mut v {
        m.insert("by_equivalent".into(), Value::Object(by_eq));
    }
    v
}

fn stats_json(p: &Position, precision: Precision) -> Value {
    json!({
        "total_incoming_trust": fmt_atoms(p.incoming_trust, precision),
        "total_outgoing_trust": fmt_atoms(p.outgoing_trust, precision),
        "total_debt": fmt_atoms(p.debt, precision),
        "total_credit": fmt_atoms(p.credit, precision),
        "net_balance": fmt_atoms(p.credit - p.debt, precision),
    })
}
