//! The engine's ordered command log: what the writer applied, batch by batch, with everything
//! the ledger needed from outside (the batch's time, the id seed of every command, the answers
//! of store lookups). Applying the log to a fresh ledger rebuilds the very same state and
//! change sets on any machine ([`LogBatch::replay`]): it is the unit Raft replicates and the
//! simulator replays.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::command::{Command, Reply};
use crate::ledger::model::{Millis, TxRecord};
use crate::ledger::{IdSeed, Ledger, LedgerError};

/// One step of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum LogStep {
    /// A command, with the seed of the ids it gives out.
    Command {
        /// Seed of the command's ids (fixed before the command entered the ledger).
        seed: IdSeed,
        /// The command.
        command: Command,
    },
    /// The store's answer to a lookup of an older transaction the ledger asked for (its replay
    /// window had forgotten the record): `found` is the stored record, `None` if there is none.
    Lookup {
        /// Transaction id looked up.
        tx_id: String,
        /// The stored record.
        found: Option<TxRecord>,
    },
}

/// One batch of the log, persisted by the writer in one database transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogBatch {
    /// Position of the batch since the engine started (0 is the start-up batch: expiry of the
    /// locks found in the store and the first checkpoint).
    pub seq: u64,
    /// The engine's clock when the batch ran: the only time the ledger sees.
    pub at: Millis,
    /// Steps in the order they were applied.
    pub steps: Vec<LogStep>,
    /// Whether the batch ended with the full invariant check and checkpoint.
    pub checkpoint: bool,
}

/// Receives every batch the writer persisted, in order, before its callers are answered.
pub type LogSink = Arc<dyn Fn(&LogBatch) + Send + Sync>;

impl LogBatch {
    /// The seed of the ids a batch's own work (lock expiry) gives out.
    fn own_seed(seq: u64) -> IdSeed {
        IdSeed::from_u128(u128::from(seq))
    }

    /// Starts a batch on `ledger`: prepare locks due at `at` expire (presumed abort).
    pub fn begin(ledger: &mut Ledger, seq: u64, at: Millis) -> LogBatch {
        ledger.seed_ids(Self::own_seed(seq));
        ledger.expire_locks(at);
        LogBatch {
            seq,
            at,
            steps: Vec::new(),
            checkpoint: false,
        }
    }

    /// Applies a command to `ledger` and appends it to the batch.
    pub fn command(
        &mut self,
        ledger: &mut Ledger,
        seed: IdSeed,
        command: Command,
    ) -> Result<Reply, LedgerError> {
        ledger.seed_ids(seed);
        let reply = command.apply(ledger, self.at);
        self.steps.push(LogStep::Command { seed, command });
        reply
    }

    /// Hands the store's answer to a lookup to `ledger` and appends it to the batch.
    pub fn lookup(&mut self, ledger: &mut Ledger, tx_id: String, found: Option<TxRecord>) {
        let step = LogStep::Lookup { tx_id, found };
        apply_step(ledger, &step, self.at);
        self.steps.push(step);
    }

    /// Ends the batch, with the full check and checkpoint when `checkpoint` is set.
    pub fn finish(&mut self, ledger: &mut Ledger, checkpoint: bool) {
        self.checkpoint = checkpoint;
        if checkpoint {
            ledger.checkpoint(self.at);
        }
    }

    /// Applies the whole batch to `ledger` as the writer did; returns the replies of its
    /// commands in order. The change set is left in the ledger ([`Ledger::take_changes`]).
    ///
    /// The lookups the writer made are steps of the log. A replica whose replay window forgot
    /// other transactions than the writer's did asks `lookup` (its own store, say) before a
    /// command that needs one, just as the writer asks its store: the window only caches what
    /// the store knows, so the outcome is the same.
    pub fn replay(
        &self,
        ledger: &mut Ledger,
        mut lookup: impl FnMut(&str) -> Option<TxRecord>,
    ) -> Vec<Result<Reply, LedgerError>> {
        let mut replay = LogBatch::begin(ledger, self.seq, self.at);
        let mut replies = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            if let LogStep::Command { command, .. } = step {
                if let Some(tx_id) = command.tx_id().filter(|id| ledger.needs_lookup(id)) {
                    let found = lookup(tx_id);
                    apply_step(
                        ledger,
                        &LogStep::Lookup {
                            tx_id: tx_id.to_owned(),
                            found,
                        },
                        self.at,
                    );
                }
            }
            replies.extend(apply_step(ledger, step, self.at));
        }
        replay.finish(ledger, self.checkpoint);
        replies
    }
}

fn apply_step(ledger: &mut Ledger, step: &LogStep, at: Millis) -> Option<Result<Reply, LedgerError>> {
    match step {
        LogStep::Command { seed, command } => {
            ledger.seed_ids(*seed);
            Some(command.apply(ledger, at))
        }
        LogStep::Lookup { tx_id, found } => {
            match found {
                Some(tx) => ledger.remember_transaction(tx.clone()),
                None => ledger.forget_fingerprint(tx_id),
            }
            None
        }
    }
}
