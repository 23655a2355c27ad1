//! Migrations embedded in the binary and applied in order, once each. A migration is
//! never edited after it has shipped: add a new file instead.

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Store, StoreError, StoreResult, timestamp};

/// What a migration does: SQL, or a step written in Rust where the rows' content must be
/// read (the same on both databases).
enum Step {
    Sql(&'static str),
    /// Stored submissions from before the parsed request was kept (`submissions_legacy`).
    SubmissionRequests,
    /// SQL that differs between the databases (triggers, search indexes), and the
    /// PostgreSQL extensions it needs.
    PerBackend {
        sqlite: &'static str,
        postgres: &'static str,
        pg_extensions: &'static [&'static str],
    },
}

struct Migration {
    version: i64,
    name: &'static str,
    step: Step,
}

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "initial", step: Step::Sql(include_str!("../../migrations/0001_initial.sql")) },
    Migration {
        version: 2,
        name: "partner_users",
        step: Step::Sql(include_str!("../../migrations/0002_partner_users.sql")),
    },
    Migration {
        version: 3,
        name: "submissions",
        step: Step::Sql(include_str!("../../migrations/0003_submissions.sql")),
    },
    Migration { version: 4, name: "submission_requests", step: Step::SubmissionRequests },
    Migration {
        version: 5,
        name: "submission_token_keeping",
        step: Step::Sql(include_str!("../../migrations/0005_submission_token_keeping.sql")),
    },
    Migration {
        version: 6,
        name: "partner_user_sign_out",
        step: Step::Sql(include_str!("../../migrations/0006_partner_user_sign_out.sql")),
    },
    Migration {
        version: 7,
        name: "customers_added_here",
        step: Step::Sql(include_str!("../../migrations/0007_customers_added_here.sql")),
    },
    Migration {
        version: 8,
        name: "partner_tenant_provider",
        step: Step::Sql(include_str!("../../migrations/0008_partner_tenant_provider.sql")),
    },
    Migration {
        version: 9,
        name: "customers_by_lower_name",
        step: Step::Sql(include_str!("../../migrations/0009_customers_by_lower_name.sql")),
    },
    Migration {
        version: 10,
        name: "invitations",
        step: Step::Sql(include_str!("../../migrations/0010_invitations.sql")),
    },
    Migration {
        version: 11,
        name: "customer_list",
        step: Step::Sql(include_str!("../../migrations/0011_customer_list.sql")),
    },
    Migration {
        version: 12,
        name: "customer_search",
        step: Step::PerBackend {
            sqlite: include_str!("../../migrations/0012_customer_search_sqlite.sql"),
            postgres: include_str!("../../migrations/0012_customer_search_postgres.sql"),
            pg_extensions: &["pg_trgm"],
        },
    },
    Migration {
        version: 13,
        name: "refresh_runs",
        step: Step::Sql(include_str!("../../migrations/0013_refresh_runs.sql")),
    },
    Migration {
        version: 14,
        name: "customer_status_changes",
        step: Step::Sql(include_str!("../../migrations/0014_customer_status_changes.sql")),
    },
    Migration { version: 15, name: "api_keys", step: Step::Sql(include_str!("../../migrations/0015_api_keys.sql")) },
    Migration {
        version: 16,
        name: "audit_log",
        step: Step::PerBackend {
            sqlite: include_str!("../../migrations/0016_audit_log.sqlite.sql"),
            postgres: include_str!("../../migrations/0016_audit_log.postgres.sql"),
            pg_extensions: &[],
        },
    },
    Migration {
        version: 17,
        name: "reseller_lists",
        step: Step::Sql(include_str!("../../migrations/0017_reseller_lists.sql")),
    },
    Migration {
        version: 18,
        name: "search_term_counts",
        step: Step::PerBackend {
            sqlite: include_str!("../../migrations/0018_search_term_counts.sqlite.sql"),
            postgres: include_str!("../../migrations/0018_search_term_counts.postgres.sql"),
            pg_extensions: &[],
        },
    },
];

impl Store {
    async fn run(&self, step: &Step, tx: &mut sqlx::AnyConnection) -> StoreResult<()> {
        match *step {
            Step::Sql(sql) => {
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
            Step::SubmissionRequests => super::submissions_legacy::upgrade(tx).await?,
            Step::PerBackend { sqlite, postgres, pg_extensions } => match self.backend {
                Backend::Sqlite => {
                    sqlx::raw_sql(AssertSqlSafe(sqlite)).execute(&mut *tx).await?;
                }
                Backend::Postgres => {
                    for name in pg_extensions {
                        require_extension(tx, name).await?;
                    }
                    sqlx::raw_sql(AssertSqlSafe(postgres)).execute(&mut *tx).await?;
                }
            },
        }
        Ok(())
    }
}

/// Creates a PostgreSQL extension the schema needs, unless it is there already. Creating
/// one takes a superuser, or for a trusted extension such as pg_trgm the right to create
/// in the database; without it the portal stops with what the database owner must run.
async fn require_extension(conn: &mut sqlx::AnyConnection, name: &str) -> StoreResult<()> {
    let present = sqlx::query("SELECT extname FROM pg_extension WHERE extname = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if present {
        return Ok(());
    }
    let sql = AssertSqlSafe(format!("CREATE EXTENSION IF NOT EXISTS {name}"));
    sqlx::raw_sql(sql).execute(&mut *conn).await.map_err(|e| {
        StoreError::Setup(format!(
            "the PostgreSQL extension {name} is needed and the portal's database user could not create it ({e}); \
             the database owner or a superuser runs `CREATE EXTENSION {name};` in the portal's database once \
             (on Debian it comes with the postgresql-contrib package), then the portal starts"
        ))
    })?;
    Ok(())
}

/// The advisory lock key that keeps two PostgreSQL instances from migrating at once.
const PG_LOCK_KEY: i64 = 0x6d63_615f_706f_7274;

impl Store {
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn migrate(&self) -> StoreResult<()> {
        self.migrate_to(i64::MAX).await
    }

    /// Applies the pending migrations up to `version` only: for tests of a migration on
    /// the data of an older schema.
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i64) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
        }
        let result = async {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?;
            if let Some(newest) = applied.iter().max()
                && *newest > MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
            {
                return Err(StoreError::Corrupt(format!(
                    "the database has migration {newest}, newer than this build knows: run a newer mca-portal"
                )));
            }
            for m in MIGRATIONS.iter().filter(|m| m.version <= version && !applied.contains(&m.version)) {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                self.run(&m.step, &mut tx).await?;
                sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                    .bind(m.version)
                    .bind(m.name)
                    .bind(timestamp(chrono::Utc::now()))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!(version = m.version, name = m.name, "applied migration");
            }
            Ok(())
        }
        .await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock($1)").bind(PG_LOCK_KEY).execute(&mut *conn).await?;
        }
        result
    }
}
