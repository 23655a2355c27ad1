//! Storage: one set of portable SQL statements over SQLite (default) and PostgreSQL,
//! through sqlx's `Any` driver. Only text and 64-bit integers cross the boundary.

mod api_keys;
mod audit;
mod audit_search;
mod customer_counts;
mod customer_facts;
mod customer_list;
mod customer_rows;
mod customers;
mod direct_readers;
mod invitation_templates;
mod invitations;
mod key_rotation;
mod migrate;
mod new_customers_not_created;
mod readers;
mod refresh_items;
mod refresh_runs;
mod refresh_sign_ins;
mod reseller_lists;
mod rows;
pub mod sealing;
mod sessions;
mod status_changes;
mod submission_queue;
mod submission_tokens;
mod submissions;
mod submissions_legacy;
mod tenant_providers;
mod tenants;

pub use api_keys::{API_KEYS_LISTED, ApiKeyRecord, NewApiKey};
pub use audit::{AuditEntry, AuditRecord};
pub use audit_search::{AuditCursor, AuditFilter};
pub use customer_counts::{AcceptanceCounts, CustomerCounts, SEARCH_COUNTED, StatusCount, StatusCounts};
pub use customer_facts::{CustomerFacts, FactsCursor};
pub use customer_list::{
    Acceptance, CustomerFilter, CustomerPage, CustomerQuery, CustomerSort, Position, SEARCH_ANYWHERE_FROM, SortKey,
};
pub use customers::{CustomerRecord, CustomerWrite};
pub use invitation_templates::TemplateRecord;
pub use invitations::{
    InvitationAction, InvitationFilter, InvitationRecord, InvitationStateFilter, NewInvitation, company_key,
};
pub use key_rotation::Resealed;
pub use new_customers_not_created::NewCustomersNotCreated;
pub use refresh_items::{ReadAttestations, ReadCustomer, RefreshItem};
pub use refresh_runs::{NewRun, RefreshRun, RunPhase, RunState, Step as RunStep};
pub use refresh_sign_ins::{RefreshSignIn, ScheduleSkip};
pub use reseller_lists::{KeptReseller, ResellerList};
pub use sessions::{DbSessionStore, SESSION_EXTENSION_STEP_SECONDS, noting_ended_session};
pub use status_changes::{ChangeCursor, StatusChange};
pub use submission_queue::Settled;
pub use submissions::{Created, NewSubmission, Submission, SubmissionState, SubmissionStatus, TokenHolder};
pub use tenants::TenantRecord;

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From a read on SQLite's direct connections (`direct_readers`).
    #[error("database error: {0}")]
    Direct(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    /// The database lacks something the portal cannot set up itself; says what to do.
    #[error("the database is not ready: {0}")]
    Setup(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle every other area uses; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    sealer: std::sync::Arc<sealing::Sealer>,
    /// SQLite's reading connections (`readers`); PostgreSQL reads through the pool.
    readers: Option<std::sync::Arc<readers::Readers>>,
    /// SQLite's connections that read on the caller's thread (`rows`, `direct_readers`).
    direct: Option<std::sync::Arc<direct_readers::DirectReaders>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// Every SQLite connection's settings. WAL lets readers go on while one writer writes;
/// the busy timeout makes a second writer wait instead of failing at once.
const SQLITE_PRAGMAS: [&str; 4] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
];

impl Store {
    /// Connects (creating a SQLite file when missing) and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        let store = Self::connect_without_migrating(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn connect_without_migrating(url: &str) -> StoreResult<Store> {
        install_default_drivers();
        let backend = if url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // A SQLite connection is a file this process opened: it can't have gone away
            // while idle, and the test would cost a round trip to its thread per statement
            // (docs/benchmark.md). A PostgreSQL connection may have, after a restart.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        for pragma in SQLITE_PRAGMAS {
                            conn.execute(pragma).await?;
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await?;
        let (readers, direct) = match backend {
            Backend::Sqlite => (Some(readers::Readers::sqlite(&url)?), direct_readers::DirectReaders::sqlite(&url)?),
            Backend::Postgres => (None, None),
        };
        let (sealer, direct) = (std::sync::Arc::new(sealing::Sealer::ephemeral()), direct.map(std::sync::Arc::new));
        Ok(Store { pool, backend, sealer, readers, direct })
    }

    /// Seals secrets with this key from now on (the deployment's data key).
    pub fn with_sealer(mut self, sealer: sealing::Sealer) -> Store {
        self.sealer = std::sync::Arc::new(sealer);
        self
    }

    pub(crate) fn sealer(&self) -> &sealing::Sealer {
        &self.sealer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection for one reading statement at a time; statements that write, and
    /// transactions, go through `pool()`.
    pub(crate) async fn reader(&self) -> StoreResult<readers::Reader> {
        match &self.readers {
            Some(r) => r.lend().await,
            None => Ok(readers::Reader::Pooled(self.pool.acquire().await?)),
        }
    }

    /// A transaction that writes customers. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that writes the search index (FTS5,
    /// through the triggers on `customers`) reads before it writes, and would fail with
    /// "database is locked" instead of waiting when another writer went first.
    pub(crate) async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// After a bulk load (the seed command), what the databases would do later, at once.
    /// On PostgreSQL: statistics for the planner (until then a search of many rows may be
    /// planned as if the table were empty) and the trigram index's pending entries merged
    /// (until then every search reads them all: 12 ms against 3 ms for a search at 100,000
    /// customers). On SQLite, whose plans are fixed by the statements themselves
    /// (docs/architecture.md), the search index is compacted (`compact_search_index`).
    pub async fn tidy_after_bulk_load(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Postgres => {
                sqlx::raw_sql("VACUUM (ANALYZE)").execute(&self.pool).await?;
            }
            Backend::Sqlite => self.compact_search_index().await?,
        }
        Ok(())
    }

    /// On SQLite, merges the search index's segments into one. Customers written one at a
    /// time (a first refresh, a seed) leave it in many segments, and a search reads each
    /// trigram's entries in every one of them: at 100,000 customers a search of ten matches
    /// took 0.7 ms before and 0.2 ms after. It takes the write lock for about 0.4 s at that
    /// size, so it runs after a refresh has read every customer, not on each write.
    /// Then it counts again how many customers each trigram is found in, from which a
    /// search picks its rarest trigrams (`customers_search_terms`, about 0.2 s more).
    /// PostgreSQL's trigram index needs nothing of the kind (autovacuum merges it).
    pub async fn compact_search_index(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("INSERT INTO customers_search (customers_search) VALUES ('optimize')")
                .execute(&self.pool)
                .await?;
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM customers_search_terms").execute(&mut *tx).await?;
            sqlx::query("INSERT INTO customers_search_terms (term, docs) SELECT term, doc FROM customers_search_vocab")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// For `/readyz`.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(r) = &self.readers {
            readers::close(r).await;
        }
        self.pool.close().await;
    }
}

/// Timestamps are stored as fixed-width RFC 3339 text in UTC.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_timestamp(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}
