//! The writer loop: drain the queue into a batch, apply, persist, answer, publish.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, RwLock};
use tokio::time::Instant;

use super::command::{Command, Event, Reply};
use super::log::LogBatch;
use super::{EngineConfig, EngineError, Envelope};
use crate::ledger::model::TxState;
use crate::ledger::snapshot::ChangeSet;
use crate::ledger::IdSeed;
use crate::ledger::Ledger;
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
        let every = i64::try_from(self.config.checkpoint_every.as_millis()).unwrap_or(i64::MAX);
        let mut next_checkpoint = (self.config.clock)().saturating_add(every);
        // Batch 0 was the start-up batch (see `Engine::start`).
        let mut seq: u64 = 1;
        loop {
            let next_expiry = {
                let ledger = self.ledger.read().await;
                ledger.next_lock_expiry()
            };
            let due = next_expiry.map_or(next_checkpoint, |at| at.min(next_checkpoint));
            let wait = u64::try_from(due.saturating_sub((self.config.clock)())).unwrap_or(0);
            let wake = Instant::now() + std::time::Duration::from_millis(wait);
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
            let now = (self.config.clock)();
            let checkpoint = now >= next_checkpoint;
            if checkpoint {
                next_checkpoint = now.saturating_add(every);
            }
            match self.run_batch(batch, seq, now, checkpoint).await {
                Some(true) => seq += 1,
                Some(false) => {}
                None => return,
            }
        }
    }

    /// Applies and persists one batch: `Some(true)` when it was persisted (it joins the log),
    /// `Some(false)` when it changed nothing or failed and was rolled back, `None` when the
    /// writer must stop.
    async fn run_batch(&self, batch: Vec<Envelope>, seq: u64, now: i64, checkpoint: bool) -> Option<bool> {
        let mut ledger = self.ledger.write().await;
        let mut log = LogBatch::begin(&mut ledger, seq, now);
        let mut results: Vec<Result<Reply, EngineError>> = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for env in batch {
            results.push(self.apply_one(&mut ledger, &mut log, env.seed, env.command).await);
            replies.push(env.reply);
        }
        log.finish(&mut ledger, checkpoint);
        if !ledger.has_changes() {
            drop(ledger);
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
            return Some(false);
        }
        let (persisted, changes) = self.persist(ledger.take_changes()).await;
        match persisted {
            Ok(()) => {
                if let Some(sink) = &self.config.log {
                    sink(&log);
                }
                drop(ledger);
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
                for tx in changes.transactions {
                    if tx.state != TxState::Prepared {
                        let _ = self.events.send(Arc::new(Event::of(tx)));
                    }
                }
                Some(true)
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
                        for reply in replies {
                            let _ = reply.send(Err(EngineError::Store(e.to_string())));
                        }
                        // Without a trustworthy state the writer must not go on: readers see an
                        // empty ledger rather than state that was never persisted, and the hub
                        // answers "not running" until restarted.
                        *ledger = Ledger::new(self.config.ledger.clone());
                        return None;
                    }
                }
                drop(ledger);
                for reply in replies {
                    let _ = reply.send(Err(EngineError::Store(e.to_string())));
                }
                Some(false)
            }
        }
    }

    /// Applies one command as a step of `log`. When the ledger's replay window cannot tell
    /// whether the command's tx id was seen, the store is asked and its answer becomes a step of
    /// the log too, before the command.
    async fn apply_one(
        &self,
        ledger: &mut Ledger,
        log: &mut LogBatch,
        seed: IdSeed,
        command: Command,
    ) -> Result<Reply, EngineError> {
        let lookup = match command.tx_id() {
            Some(tx_id) => match ledger.needs_lookup(tx_id) {
                true => Some(tx_id.to_owned()),
                false => None,
            },
            None => None,
        };
        if let Some(tx_id) = lookup {
            let found = match self.store.transaction(&tx_id).await {
                Ok(found) => found,
                Err(e) => return Err(EngineError::Store(e.to_string())),
            };
            log.lookup(ledger, tx_id, found);
        }
        log.command(ledger, seed, command).map_err(EngineError::from)
    }
}
