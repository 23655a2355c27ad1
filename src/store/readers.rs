//! The connections that read: on SQLite, the store's own few connections, lent and taken
//! back without the pool's ping; on PostgreSQL, the pool's (docs/benchmark.md).
//!
//! sqlx runs each SQLite connection on a thread of its own, and its pool pings a
//! connection when it comes back: a round trip to that thread, which on a busy core costs
//! more than a short statement. A SQLite connection is a file this process opened; it
//! can't have hung up, so the store keeps reading connections itself. Each holds no
//! transaction between statements (autocommit), so the write-ahead log is never held back.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use sqlx::AnyConnection;
use sqlx::pool::PoolConnection;
use sqlx::{Any, ConnectOptions, Connection, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::StoreResult;

/// At most this many SQLite connections read at once (the pool's connections write).
const SQLITE_READERS: usize = 8;

/// A partner of the pool for reading SQLite: idle connections and a permit per connection.
pub(crate) struct Readers {
    options: sqlx::any::AnyConnectOptions,
    idle: Mutex<Vec<AnyConnection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub(crate) fn sqlite(url: &str) -> StoreResult<Arc<Readers>> {
        Ok(Arc::new(Readers {
            options: url.parse()?,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(SQLITE_READERS)),
        }))
    }

    /// An idle connection, or a new one with the store's settings, once a permit is free.
    pub(crate) async fn lend(self: &Arc<Self>) -> StoreResult<Reader> {
        let permit = self.permits.clone().acquire_owned().await.expect("the semaphore is never closed");
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(Reader::Own(Lent { conn: Some(conn), readers: self.clone(), _permit: permit }))
    }

    async fn connect(&self) -> StoreResult<AnyConnection> {
        let mut conn = self.options.connect().await?;
        for pragma in super::SQLITE_PRAGMAS {
            conn.execute(pragma).await?;
        }
        Ok(conn)
    }
}

/// A connection that reads; it goes back where it came from when dropped. Use it as
/// `.fetch_all(&mut *store.reader().await?)`.
pub(crate) enum Reader {
    Own(Lent),
    Pooled(PoolConnection<Any>),
}

/// One of the store's own SQLite connections, lent.
pub(crate) struct Lent {
    conn: Option<AnyConnection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }
}

impl Deref for Reader {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Reader::Own(l) => l.conn.as_ref().expect("lent until dropped"),
            Reader::Pooled(c) => c,
        }
    }
}

impl DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Reader::Own(l) => l.conn.as_mut().expect("lent until dropped"),
            Reader::Pooled(c) => c,
        }
    }
}

/// Closes the idle connections (when the store closes).
pub(crate) async fn close(readers: &Readers) {
    let idle: Vec<AnyConnection> = std::mem::take(&mut *readers.idle.lock().unwrap_or_else(|e| e.into_inner()));
    for conn in idle {
        let _ = conn.close().await;
    }
}
