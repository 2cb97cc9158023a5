//! Payments (GEO v0.1 section 6): routing, PREPARE with prepare locks, COMMIT, ABORT, expiry.
//!
//! A local payment is prepared and committed inside one operation, so its reservation never
//! outlives the batch; explicit [`Ledger::prepare`] / [`Ledger::commit`] / [`Ledger::abort`]
//! serve payments whose outcome is decided elsewhere (cross-hub two-phase commit).

use geo_protocol::{Amount, EquivalentCode, Pid};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::LedgerError;
use super::graph::{NodeId, PairId};
use super::model::{EqId, Millis, PrepareLock, TxKind, TxRecord, TxState};
use super::payload::{PaymentPayload, RoutePayload, TxPayload};
use super::routing::{check_routes, Route, RouteLimits, RoutingError};
use super::state::Ledger;

/// A payment as the ledger receives it (signature and authorisation were checked at the edge).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// Client idempotency key.
    pub tx_id: String,
    /// Payer.
    pub from: Pid,
    /// Payee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Amount as sent, checked against the equivalent's precision.
    pub amount: String,
    /// Description.
    pub description: Option<String>,
    /// Longest route in hops (default 6).
    pub max_hops: Option<usize>,
    /// Most routes (default 3).
    pub max_paths: Option<usize>,
    /// Participants to keep off the routes.
    pub avoid: Vec<Pid>,
    /// SHA-256 of the canonical signed request: the same `tx_id` with another hash is a conflict.
    pub request_hash: String,
}

/// What a payment operation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Decided now (committed, aborted for lack of capacity, or prepared).
    Fresh(TxRecord),
    /// The same request was seen before: its recorded outcome.
    Replay(TxRecord),
}

impl PaymentOutcome {
    /// The transaction record.
    pub fn record(&self) -> &TxRecord {
        match self {
            PaymentOutcome::Fresh(r) | PaymentOutcome::Replay(r) => r,
        }
    }
}

struct Planned {
    eq: EqId,
    from: NodeId,
    to: NodeId,
    atoms: i128,
    routes: Result<Vec<Route>, LedgerError>,
}

impl Ledger {
    /// The routing limits of a payment: the spec's defaults (6 hops, 3 routes) unless given,
    /// with `avoid` plus every participant that is not active kept off the routes. Payments and
    /// the capacity / max-flow queries use this one function, so that what max-flow reports is
    /// payable by a payment with the same options.
    pub fn route_limits(
        &self,
        max_hops: Option<usize>,
        max_paths: Option<usize>,
        avoid: &[Pid],
    ) -> RouteLimits {
        let defaults = RouteLimits::default();
        let mut limits = RouteLimits {
            max_hops: max_hops.unwrap_or(defaults.max_hops).clamp(1, 10),
            max_paths: max_paths.unwrap_or(defaults.max_paths).clamp(1, 10),
            avoid: avoid.iter().filter_map(|p| self.by_pid.get(p).copied()).collect(),
        };
        limits.avoid.extend(self.inactive.iter().copied());
        limits
    }

    /// Validates and routes; `Err` for requests that are refused outright (nothing recorded),
    /// `Ok(Planned { routes: Err(..) })` for valid requests that cannot be routed (recorded as
    /// aborted), or the replayed record.
    fn plan(&mut self, req: &PaymentRequest) -> Result<Result<Planned, PaymentOutcome>, LedgerError> {
        if let Some(known) = self.known_tx(&req.tx_id)? {
            if known.request_hash.as_deref() == Some(req.request_hash.as_str()) {
                return Ok(Err(PaymentOutcome::Replay(known.clone())));
            }
            return Err(LedgerError::TxConflict(req.tx_id.clone()));
        }
        if req.from == req.to {
            return Err(LedgerError::SameParticipant);
        }
        let eq = self.active_eq(&req.equivalent)?;
        let precision = self.equivalents[eq as usize].precision;
        let amount = Amount::parse_positive(&req.amount, precision)?;
        let from = self.active_node(&req.from)?;
        let to = self.active_node(&req.to)?;
        let limits = self.route_limits(req.max_hops, req.max_paths, &req.avoid);
        let graph = &self.books[eq as usize].graph;
        let atoms = amount.atoms();
        let routes = match self.router.route(graph, from, to, atoms, &limits) {
            Ok(routes) => match check_routes(graph, from, to, atoms, &routes, &limits) {
                Ok(()) => Ok(routes),
                Err(v) => Err(LedgerError::Integrity(format!(
                    "router produced invalid routes: {v:?}"
                ))),
            },
            Err(RoutingError::InsufficientCapacity { available }) => Err(LedgerError::InsufficientCapacity {
                available: Ledger::amount(available),
            }),
            Err(_) => Err(LedgerError::NoRoute),
        };
        Ok(Ok(Planned {
            eq,
            from,
            to,
            atoms,
            routes,
        }))
    }

    fn payment_payload(&self, req: &PaymentRequest, p: &Planned, routes: &[Route]) -> TxPayload {
        let precision = self.equivalents[p.eq as usize].precision;
        TxPayload::Payment(PaymentPayload {
            from: req.from.clone(),
            to: req.to.clone(),
            amount: Ledger::amount(p.atoms).to_string_with(precision),
            description: req.description.clone(),
            routes: routes
                .iter()
                .map(|r| RoutePayload {
                    path: r.path.iter().map(|n| self.pid(*n).clone()).collect(),
                    amount: Ledger::amount(r.amount).to_string_with(precision),
                })
                .collect(),
        })
    }

    fn payment_record(
        &self,
        req: &PaymentRequest,
        p: &Planned,
        routes: &[Route],
        state: TxState,
        error: Option<&LedgerError>,
        now: Millis,
    ) -> TxRecord {
        TxRecord {
            tx_id: req.tx_id.clone(),
            kind: TxKind::Payment,
            initiator: Some(req.from.clone()),
            equivalent: Some(req.equivalent.clone()),
            payload: self.payment_payload(req, p, routes),
            state,
            request_hash: Some(req.request_hash.clone()),
            error: error.map(|e| json!({ "code": e.code(), "message": e.to_string() })),
            created_at: now,
            updated_at: now,
        }
    }

    /// Applies committed routes to the debts; returns the pairs touched.
    fn apply_routes(&mut self, eq: EqId, routes: &[(Vec<NodeId>, i128)]) -> Vec<PairId> {
        let mut touched = Vec::new();
        for (path, atoms) in routes {
            for hop in path.windows(2) {
                touched.push(self.shift_debt(eq, hop[0], hop[1], *atoms));
            }
        }
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    /// Routes and commits a payment at once (the local PREPARE and COMMIT in one step).
    /// A payment that cannot be routed is recorded `ABORTED` (a final outcome for its `tx_id`).
    pub fn pay(&mut self, req: &PaymentRequest, now: Millis) -> Result<PaymentOutcome, LedgerError> {
        let planned = match self.plan(req)? {
            Ok(p) => p,
            Err(replay) => return Ok(replay),
        };
        let routes = match &planned.routes {
            Ok(r) => r.clone(),
            Err(e) => {
                let rec = self.payment_record(req, &planned, &[], TxState::Aborted, Some(e), now);
                self.record_tx(rec.clone());
                return Ok(PaymentOutcome::Fresh(rec));
            }
        };
        let before = self.digest_hex(planned.eq);
        let hops: Vec<(Vec<NodeId>, i128)> = routes.iter().map(|r| (r.path.clone(), r.amount)).collect();
        let touched = self.apply_routes(planned.eq, &hops);
        let rec = self.payment_record(req, &planned, &routes, TxState::Committed, None, now);
        self.record_tx(rec.clone());
        let mut affected: Vec<NodeId> = hops.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        affected.sort_unstable();
        affected.dedup();
        let audit_id = self.ids.next_uuid();
        self.audit(
            "PAYMENT",
            Some(&req.tx_id),
            planned.eq,
            before,
            affected,
            &touched,
            audit_id,
            now,
        );
        if self.config.clear_after_payment {
            self.clear_triggered(planned.eq, &touched, now);
        }
        Ok(PaymentOutcome::Fresh(rec))
    }

    /// PREPARE: routes the payment and reserves capacity on every hop until `expires_at`.
    pub fn prepare(
        &mut self,
        req: &PaymentRequest,
        expires_at: Millis,
        now: Millis,
    ) -> Result<PaymentOutcome, LedgerError> {
        let planned = match self.plan(req)? {
            Ok(p) => p,
            Err(replay) => return Ok(replay),
        };
        let routes = match &planned.routes {
            Ok(r) => r.clone(),
            Err(e) => {
                let rec = self.payment_record(req, &planned, &[], TxState::Aborted, Some(e), now);
                self.record_tx(rec.clone());
                return Ok(PaymentOutcome::Fresh(rec));
            }
        };
        let lock = PrepareLock {
            tx_id: req.tx_id.clone(),
            eq: planned.eq,
            from: planned.from,
            to: planned.to,
            routes: routes.iter().map(|r| (r.path.clone(), r.amount)).collect(),
            expires_at,
            created_at: now,
        };
        self.reserve_lock(&lock, 1);
        self.locks.insert(req.tx_id.clone(), lock);
        self.dirty.locks.insert(req.tx_id.clone());
        let rec = self.payment_record(req, &planned, &routes, TxState::Prepared, None, now);
        self.record_tx(rec.clone());
        Ok(PaymentOutcome::Fresh(rec))
    }

    fn finish(
        &mut self,
        tx_id: &str,
        state: TxState,
        error: Option<Value>,
        now: Millis,
    ) -> Result<TxRecord, LedgerError> {
        let mut rec = match self.known_tx(tx_id)? {
            Some(r) => r.clone(),
            None => return Err(LedgerError::UnknownTransaction(tx_id.to_owned())),
        };
        if rec.state == state {
            return Ok(rec);
        }
        if rec.state != TxState::Prepared {
            return Err(LedgerError::NotPrepared(tx_id.to_owned()));
        }
        let lock = self
            .locks
            .remove(tx_id)
            .ok_or_else(|| LedgerError::NotPrepared(tx_id.to_owned()))?;
        self.dirty.locks.insert(tx_id.to_owned());
        self.reserve_lock(&lock, -1);
        if state == TxState::Committed {
            let before = self.digest_hex(lock.eq);
            let touched = self.apply_routes(lock.eq, &lock.routes);
            let mut affected: Vec<NodeId> = lock.routes.iter().flat_map(|(p, _)| p.iter().copied()).collect();
            affected.sort_unstable();
            affected.dedup();
            let audit_id = self.ids.next_uuid();
            self.audit(
                "PAYMENT",
                Some(tx_id),
                lock.eq,
                before,
                affected,
                &touched,
                audit_id,
                now,
            );
            if self.config.clear_after_payment {
                self.clear_triggered(lock.eq, &touched, now);
            }
        }
        rec.state = state;
        rec.error = error;
        rec.updated_at = now;
        self.record_tx(rec.clone());
        Ok(rec)
    }

    /// COMMIT of a prepared payment (idempotent: committing twice returns the record).
    pub fn commit(&mut self, tx_id: &str, now: Millis) -> Result<TxRecord, LedgerError> {
        self.finish(tx_id, TxState::Committed, None, now)
    }

    /// ABORT of a prepared payment: the reservation is released, no debt changes (idempotent).
    pub fn abort(&mut self, tx_id: &str, reason: &str, now: Millis) -> Result<TxRecord, LedgerError> {
        self.finish(
            tx_id,
            TxState::Aborted,
            Some(json!({"code": "ABORTED", "message": reason})),
            now,
        )
    }

    /// Aborts every prepare lock whose expiry has passed (presumed abort). Returns their records.
    pub fn expire_locks(&mut self, now: Millis) -> Vec<TxRecord> {
        let expired: Vec<String> = self
            .locks
            .values()
            .filter(|l| l.expires_at <= now)
            .map(|l| l.tx_id.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|id| {
                self.finish(
                    &id,
                    TxState::Aborted,
                    Some(json!({"code": "TIMEOUT", "message": "prepare lock expired"})),
                    now,
                )
                .ok()
            })
            .collect()
    }

    /// The earliest expiry among open locks.
    pub fn next_lock_expiry(&self) -> Option<Millis> {
        self.locks.values().map(|l| l.expires_at).min()
    }
}
