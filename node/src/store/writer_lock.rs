//! One writer per database: a hub holds an exclusive lock on its database for as long as its
//! store is open, so that a second hub started on the same database (an overlapping restart, a
//! copy-pasted command) is refused at start instead of overwriting the first one's debts.
//!
//! - SQLite: an OS file lock (`flock`) on `<database file>.lock` beside the database. The kernel
//!   releases it when the process ends, however it ends.
//! - PostgreSQL: a session-level advisory lock held by one dedicated connection. The server
//!   releases it when that connection ends, so a crashed hub never leaves it behind.
//!
//! In-memory SQLite databases and the memory store are private to their process and need none.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sqlx::postgres::PgConnection;
use sqlx::Connection;

use super::StoreError;

/// Advisory lock key of the hub's writer in PostgreSQL (the bytes of "geo:hub"); advisory locks
/// are per database, so hubs on different databases of one server do not meet.
pub const PG_WRITER_LOCK_KEY: i64 = 0x0067_656f_3a68_7562;

/// The lock a store holds while open; released by [`WriterLock::release`] or on drop.
#[derive(Default)]
pub struct WriterLock {
    held: Mutex<Option<Held>>,
}

enum Held {
    File(File),
    Postgres(PgConnection),
}

impl WriterLock {
    /// No lock (in-memory databases).
    pub fn none() -> WriterLock {
        WriterLock::default()
    }

    /// Takes the file lock of the SQLite database at `db`.
    pub fn sqlite(db: &Path) -> Result<WriterLock, StoreError> {
        let path = lock_path(db);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Locked(format!("cannot open the lock file {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(WriterLock {
                held: Mutex::new(Some(Held::File(file))),
            }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
                "{} is in use by another hub (lock file {})",
                db.display(),
                path.display()
            ))),
            Err(TryLockError::Error(e)) => {
                Err(StoreError::Locked(format!("cannot lock {}: {e}", path.display())))
            }
        }
    }

    /// Takes the advisory writer lock of the PostgreSQL database at `url` on a connection of
    /// its own.
    pub async fn postgres(url: &str) -> Result<WriterLock, StoreError> {
        let mut conn = PgConnection::connect(url).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(PG_WRITER_LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        if !got {
            let _ = conn.close().await;
            return Err(StoreError::Locked(
                "the database is in use by another hub (PostgreSQL advisory lock held)".to_owned(),
            ));
        }
        Ok(WriterLock {
            held: Mutex::new(Some(Held::Postgres(conn))),
        })
    }

    /// Releases the lock (idempotent).
    pub async fn release(&self) {
        let held = match self.held.lock() {
            Ok(mut h) => h.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        match held {
            Some(Held::File(file)) => {
                let _ = file.unlock();
            }
            Some(Held::Postgres(mut conn)) => {
                // Unlock explicitly: closing only sends the server a goodbye, and the server
                // frees the lock when that backend has exited, which may be after another store
                // (a restart in the same process) already asked for it.
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_WRITER_LOCK_KEY)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
            None => {}
        }
    }
}

/// `<db>.lock` beside the database file.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_sqlite_lock_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("hub.db");
        let first = WriterLock::sqlite(&db).expect("first lock");
        let err = WriterLock::sqlite(&db).err().expect("second lock refused");
        assert!(
            matches!(err, StoreError::Locked(ref m) if m.contains("another hub")),
            "{err}"
        );
        first.release().await;
        first.release().await;
        let again = WriterLock::sqlite(&db).expect("lock after release");
        drop(again);
        WriterLock::sqlite(&db).expect("lock after drop");
    }
}
