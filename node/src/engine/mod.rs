//! The engine: one writer task per hub that owns the [`Ledger`], applies commands in batches,
//! persists each batch in one database transaction (group commit), and only then answers the
//! callers and publishes events.
//!
//! A failed write leaves memory as it was before the batch: the ledger is rebuilt from the store
//! (the source of truth) and every caller of the batch gets a retryable error. Readers share the
//! ledger through a read lock that the writer holds exclusively while a batch is applied *and*
//! persisted, so no reader ever sees state that is not yet durable.

mod command;
mod log;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, RwLock};

use crate::ledger::routing::Router;
use crate::ledger::{Ledger, LedgerConfig, LedgerError, RestoreError};
use crate::store::{Store, StoreError};

pub use command::{Command, Event, Reply};
pub use log::{LogBatch, LogSink, LogStep};

use crate::ledger::IdSeed;

/// A source of time in Unix milliseconds (real, or simulated in deterministic runs).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A source of id seeds for submitted commands (random in a hub, a counter in deterministic runs).
pub type SeedSource = Arc<dyn Fn() -> IdSeed + Send + Sync>;

/// Random seeds (version-4 UUIDs).
pub fn random_seeds() -> SeedSource {
    Arc::new(|| IdSeed(uuid::Uuid::new_v4()))
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// Tunables of the engine.
#[derive(Clone)]
pub struct EngineConfig {
    /// Most commands applied and persisted together.
    pub max_batch: usize,
    /// Queue length before submitters wait.
    pub queue: usize,
    /// How often the full invariant check and checkpoint run.
    pub checkpoint_every: Duration,
    /// Ledger tunables.
    pub ledger: LedgerConfig,
    /// Time source: the one clock of the hub (batches, lock expiry, checkpoints, and through
    /// [`Engine::now`] authentication and rate limits).
    pub clock: Clock,
    /// Where the id seeds of submitted commands come from.
    pub seeds: SeedSource,
    /// Receives every persisted batch of the command log, if set.
    pub log: Option<LogSink>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_batch: 2048,
            queue: 65_536,
            checkpoint_every: Duration::from_secs(300),
            ledger: LedgerConfig::default(),
            clock: system_clock(),
            seeds: random_seeds(),
            log: None,
        }
    }
}

/// Why a submitted command did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The ledger refused the command (nothing changed).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The batch could not be persisted; nothing changed, the command may be retried.
    #[error("storage failure, nothing was applied: {0}")]
    Store(String),
    /// The engine has stopped.
    #[error("the engine is not running")]
    Stopped,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Loading failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored state is inconsistent.
    #[error(transparent)]
    Restore(#[from] RestoreError),
}

pub(crate) struct Envelope {
    pub seed: IdSeed,
    pub command: Command,
    pub reply: oneshot::Sender<Result<Reply, EngineError>>,
}

/// A handle to a running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Envelope>,
    ledger: Arc<RwLock<Ledger>>,
    store: Arc<dyn Store>,
    events: broadcast::Sender<Arc<Event>>,
    routers: Mutex<Vec<Router>>,
    clock: Clock,
    seeds: SeedSource,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Batch writes in progress (they outlive a killed writer until they finish).
    persisting: Arc<std::sync::atomic::AtomicUsize>,
}

impl Engine {
    /// Loads the ledger from `store`, verifies it, resolves expired prepare locks (presumed
    /// abort), writes a checkpoint, and starts the writer task.
    pub async fn start(store: Arc<dyn Store>, config: EngineConfig) -> Result<Engine, StartError> {
        let snapshot = store.load().await?;
        let mut ledger = Ledger::restore(config.ledger.clone(), snapshot)?;
        let mut batch = LogBatch::begin(&mut ledger, 0, (config.clock)());
        batch.finish(&mut ledger, true);
        let changes = ledger.take_changes();
        store.apply(&changes).await?;
        if let Some(log) = &config.log {
            log(&batch);
        }
        let ledger = Arc::new(RwLock::new(ledger));
        let (queue, rx) = mpsc::channel(config.queue.max(1));
        let (events, _) = broadcast::channel(4096);
        let persisting = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writer = writer::Writer::new(
            ledger.clone(),
            store.clone(),
            events.clone(),
            config.clone(),
            persisting.clone(),
        );
        let task = tokio::spawn(writer.run(rx));
        Ok(Engine {
            inner: Arc::new(Inner {
                queue,
                ledger,
                store,
                events,
                routers: Mutex::new(Vec::new()),
                clock: config.clock.clone(),
                seeds: config.seeds.clone(),
                task: Mutex::new(Some(task)),
                persisting,
            }),
        })
    }

    /// Submits a command and waits for its durable outcome. If the caller stops waiting, the
    /// command still runs to completion.
    pub async fn submit(&self, command: Command) -> Result<Reply, EngineError> {
        self.submit_seeded((self.inner.seeds)(), command).await
    }

    /// Submits a command whose id seed the caller fixed (replays, simulations, replication).
    pub async fn submit_seeded(&self, seed: IdSeed, command: Command) -> Result<Reply, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .queue
            .send(Envelope { seed, command, reply })
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }

    /// Runs a read against committed state.
    pub async fn read<R>(&self, f: impl FnOnce(&Ledger) -> R) -> R {
        let guard = self.inner.ledger.read().await;
        f(&guard)
    }

    /// Runs a routing query (capacity, max-flow) against committed state with a pooled router.
    pub async fn route<R>(&self, f: impl FnOnce(&Ledger, &mut Router) -> R) -> R {
        let mut router = self
            .inner
            .routers
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default();
        let out = {
            let guard = self.inner.ledger.read().await;
            f(&guard, &mut router)
        };
        if let Ok(mut pool) = self.inner.routers.lock() {
            if pool.len() < 8 {
                pool.push(router);
            }
        }
        out
    }

    /// Events of committed operations.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.events.subscribe()
    }

    /// The store (for history and list reads).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Current time by the engine's clock.
    pub fn now(&self) -> i64 {
        (self.inner.clock)()
    }

    /// Stops the writer abruptly, as a crash would: queued commands are dropped, a batch being
    /// written is rolled back by the database unless its commit already happened.
    pub fn kill(&self) {
        // The handle stays so that `is_running` reports the task until it has really stopped
        // (an abort takes effect at the task's next await point).
        if let Ok(t) = self.inner.task.lock() {
            if let Some(task) = t.as_ref() {
                task.abort();
            }
        }
    }

    /// True while the writer task runs, or a batch write it started has not finished (after
    /// [`Engine::kill`], false means nothing of this engine will touch the store any more).
    pub fn is_running(&self) -> bool {
        let writer = self
            .inner
            .task
            .lock()
            .map(|t| t.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false);
        writer || self.inner.persisting.load(std::sync::atomic::Ordering::SeqCst) > 0
    }
}
