//! The writer loop: drain the queue into a batch, apply, persist, answer, publish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, RwLock};
use tokio::time::Instant;

use super::command::{Command, Event, Reply};
use super::{EngineConfig, EngineError, Envelope};
use crate::ledger::model::TxState;
use crate::ledger::snapshot::ChangeSet;
use crate::ledger::{Ledger, LedgerError};
use crate::store::Store;

pub(crate) struct Writer {
    ledger: Arc<RwLock<Ledger>>,
    store: Arc<dyn Store>,
    events: broadcast::Sender<Arc<Event>>,
    config: EngineConfig,
    /// Batches being written (see [`Writer::persist`]).
    persisting: Arc<AtomicUsize>,
}

/// Counts a batch write in progress for as long as it lives.
struct Persisting(Arc<AtomicUsize>);

impl Persisting {
    fn enter(counter: &Arc<AtomicUsize>) -> Persisting {
        counter.fetch_add(1, Ordering::SeqCst);
        Persisting(counter.clone())
    }
}

impl Drop for Persisting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Writer {
    pub fn new(
        ledger: Arc<RwLock<Ledger>>,
        store: Arc<dyn Store>,
        events: broadcast::Sender<Arc<Event>>,
        config: EngineConfig,
        persisting: Arc<AtomicUsize>,
    ) -> Writer {
        Writer {
            ledger,
            store,
            events,
            config,
            persisting,
        }
    }

    /// Writes a change set on a task of its own and waits for it. Aborting the writer (a
    /// simulated crash) cannot interrupt the write half-way: it commits or rolls back entirely,
    /// and [`super::Engine::is_running`] stays true until it has, so that a restart in the same
    /// process never races a commit of the writer it replaces.
    async fn persist(&self, changes: ChangeSet) -> (Result<(), String>, ChangeSet) {
        let store = self.store.clone();
        let guard = Persisting::enter(&self.persisting);
        let task = tokio::spawn(async move {
            let _guard = guard;
            let result = store.apply(&changes).await.map_err(|e| e.to_string());
            (result, changes)
        });
        match task.await {
            Ok(done) => done,
            // The task is never aborted; a panic inside the store is a failed write.
            Err(e) => (Err(format!("store write task failed: {e}")), ChangeSet::default()),
        }
    }

    pub async fn run(self, mut rx: mpsc::Receiver<Envelope>) {
        let mut next_checkpoint = Instant::now() + self.config.checkpoint_every;
        loop {
            let next_expiry = {
                let ledger = self.ledger.read().await;
                ledger.next_lock_expiry()
            };
            let wake = match next_expiry {
                Some(at) => {
                    let wait = u64::try_from(at.saturating_sub((self.config.clock)())).unwrap_or(0);
                    (Instant::now() + std::time::Duration::from_millis(wait)).min(next_checkpoint)
                }
                None => next_checkpoint,
            };
            let first = tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => Some(m),
                    None => return,
                },
                _ = tokio::time::sleep_until(wake) => None,
            };
            let mut batch = Vec::new();
            if let Some(first) = first {
                batch.push(first);
                while batch.len() < self.config.max_batch {
                    match rx.try_recv() {
                        Ok(m) => batch.push(m),
                        Err(_) => break,
                    }
                }
            }
            let checkpoint = Instant::now() >= next_checkpoint;
            if checkpoint {
                next_checkpoint = Instant::now() + self.config.checkpoint_every;
            }
            if !self.run_batch(batch, checkpoint).await {
                return;
            }
        }
    }

    /// Applies and persists one batch; false when the writer must stop.
    async fn run_batch(&self, batch: Vec<Envelope>, checkpoint: bool) -> bool {
        let mut ledger = self.ledger.write().await;
        let now = (self.config.clock)();
        ledger.expire_locks(now);
        let mut results: Vec<Result<Reply, EngineError>> = Vec::with_capacity(batch.len());
        for env in &batch {
            results.push(self.apply_one(&mut ledger, &env.command, now).await);
        }
        if checkpoint {
            ledger.checkpoint(now);
        }
        if !ledger.has_changes() {
            drop(ledger);
            for (env, result) in batch.into_iter().zip(results) {
                let _ = env.reply.send(result);
            }
            return true;
        }
        let (persisted, changes) = self.persist(ledger.take_changes()).await;
        match persisted {
            Ok(()) => {
                drop(ledger);
                for (env, result) in batch.into_iter().zip(results) {
                    let _ = env.reply.send(result);
                }
                for tx in changes.transactions {
                    if tx.state != TxState::Prepared {
                        let _ = self.events.send(Arc::new(Event::of(tx)));
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "batch not persisted; rebuilding the ledger from the store");
                // Memory must match disk again: rebuild from the store, which still holds the
                // state before this batch.
                match self
                    .store
                    .load()
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|snap| {
                        Ledger::restore(self.config.ledger.clone(), snap).map_err(|e| e.to_string())
                    }) {
                    Ok(fresh) => *ledger = fresh,
                    Err(reload) => {
                        tracing::error!(error = %reload, "cannot rebuild the ledger; the writer stops");
                        for env in batch {
                            let _ = env.reply.send(Err(EngineError::Store(e.to_string())));
                        }
                        // Without a trustworthy state the writer must not go on: readers see an
                        // empty ledger rather than state that was never persisted, and the hub
                        // answers "not running" until restarted.
                        *ledger = Ledger::new(self.config.ledger.clone());
                        return false;
                    }
                }
                drop(ledger);
                for env in batch {
                    let _ = env.reply.send(Err(EngineError::Store(e.to_string())));
                }
            }
        }
        true
    }

    async fn apply_one(
        &self,
        ledger: &mut Ledger,
        command: &Command,
        now: i64,
    ) -> Result<Reply, EngineError> {
        match command.apply(ledger, now) {
            Err(LedgerError::NeedsLookup(tx_id)) => {
                match self.store.transaction(&tx_id).await {
                    Ok(Some(tx)) => ledger.remember_transaction(tx),
                    Ok(None) => ledger.forget_fingerprint(&tx_id),
                    Err(e) => return Err(EngineError::Store(e.to_string())),
                }
                command.apply(ledger, now).map_err(EngineError::from)
            }
            other => other.map_err(EngineError::from),
        }
    }
}
