//! SQLite connections that read on the caller's own thread (docs/architecture.md, "Reads
//! on SQLite").
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement, and every
//! row of it, is a trip from the request's task to that thread and back. On one busy core
//! those trips cost several times what reading a page of rows costs SQLite itself. A
//! reading statement of a page reads a few dozen rows through an index in tens of
//! microseconds, so these connections run it at once, on the thread that asked, the way
//! an embedded database is meant to be used. They may only read (`query_only`): writes,
//! and transactions, stay with sqlx's pool. In write-ahead-log mode a reader never waits for a
//! writer.

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use super::rows::{Param, RowRef};
use super::{StoreError, StoreResult};

/// Statements each connection keeps prepared (the pages' statements differ by filter).
const PREPARED_KEPT: usize = 64;

/// Idle connections kept for the next read; more are opened while more read at once.
const IDLE_KEPT: usize = 8;

pub(crate) struct DirectReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Direct(e.to_string())
    }
}

impl DirectReaders {
    /// Readers of the database file at `url`; `None` for a database in memory, which only
    /// the connection that made it can see.
    pub(crate) fn sqlite(url: &str) -> StoreResult<Option<DirectReaders>> {
        use std::str::FromStr;
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Ok(None);
        }
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
        Ok(Some(DirectReaders { path: options.get_filename().to_path_buf(), idle: Mutex::new(Vec::new()) }))
    }

    /// Runs one reading statement and decodes every row it gives.
    pub(crate) fn read<T>(
        &self,
        sql: &str,
        params: &[Param],
        mut decode: impl FnMut(RowRef<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let conn = self.lend()?;
        let result = (|| {
            let mut statement = conn.prepare_cached(sql)?;
            bind(&mut statement, params)?;
            let names: Vec<String> = statement.column_names().into_iter().map(String::from).collect();
            let mut rows = statement.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(decode(RowRef::Sqlite(row, &names))?);
            }
            Ok(out)
        })();
        self.give_back(conn);
        result
    }

    fn lend(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        // Read and write at the file's level (a connection that may only read can't open
        // the write-ahead log's index when no other connection has it open), but
        // `query_only`: a statement that would write fails.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        // A plan that does not depend on the values bound: without it SQLite marks a
        // statement whose `LIMIT` is a parameter to be prepared again at every new value,
        // which cost a page's read more than the read itself.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.set_prepared_statement_cache_capacity(PREPARED_KEPT);
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_KEPT {
            idle.push(conn);
        }
    }
}

/// Binds `$n` (as sqlx writes them for both databases) to `params[n - 1]`: SQLite names
/// such a parameter "$n" and numbers parameters in the order they first appear.
fn bind(statement: &mut rusqlite::CachedStatement<'_>, params: &[Param]) -> StoreResult<()> {
    statement.clear_bindings();
    for index in 1..=statement.parameter_count() {
        let name = statement.parameter_name(index).unwrap_or_default();
        let n: usize = name.trim_start_matches(['$', '?']).parse().unwrap_or(index);
        let value = n.checked_sub(1).and_then(|i| params.get(i));
        let value = value.ok_or_else(|| StoreError::Direct(format!("no value for the parameter {name:?}")))?;
        match value {
            Param::Text(t) => statement.raw_bind_parameter(index, t)?,
            Param::Int(i) => statement.raw_bind_parameter(index, i)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Store::connect(&format!("sqlite://{}", dir.path().join("direct.db").display())).await.expect("store");
        (store, dir)
    }

    fn direct(store: &Store) -> &DirectReaders {
        store.direct.as_deref().expect("a SQLite file has direct readers")
    }

    #[tokio::test]
    async fn parameters_are_bound_by_their_number_wherever_they_appear() {
        let (store, _dir) = store().await;
        let params = [Param::Int(1), Param::Text("two".into())];
        let got = direct(&store)
            .read("SELECT $2 AS a, $1 AS b, $2 AS c", &params, |r| {
                Ok((r.try_get::<String, _>("a")?, r.try_get::<i64, _>(1)?, r.try_get::<String, _>("c")?))
            })
            .expect("read");
        assert_eq!(got, vec![("two".to_string(), 1, "two".to_string())]);
    }

    #[tokio::test]
    async fn a_missing_value_or_column_is_an_error_not_a_panic() {
        let (store, _dir) = store().await;
        let missing = direct(&store).read("SELECT $2 AS a", &[Param::Int(1)], |r| r.try_get::<i64, _>(0));
        assert!(matches!(missing, Err(StoreError::Direct(ref e)) if e.contains("$2")), "{missing:?}");
        let column = direct(&store).read("SELECT 1 AS a", &[], |r| r.try_get::<i64, _>("b"));
        assert!(matches!(column, Err(StoreError::Direct(ref e)) if e.contains("\"b\"")), "{column:?}");
    }

    #[tokio::test]
    async fn the_direct_connections_refuse_to_write() {
        let (store, _dir) = store().await;
        let write = direct(&store).read("DELETE FROM sessions RETURNING id_hash", &[], |r| r.try_get::<String, _>(0));
        assert!(matches!(write, Err(StoreError::Direct(_))), "{write:?}");
    }

    /// With the query planner stability guarantee a statement is prepared once per
    /// connection, however its values change; without it SQLite prepares a statement
    /// with `LIMIT $n` again at every new value.
    #[tokio::test]
    async fn a_statement_is_not_prepared_again_when_its_values_change() {
        let (store, _dir) = store().await;
        let sql = "SELECT customer_id FROM customers WHERE tenant_id = $1 ORDER BY company_name LIMIT $2";
        for limit in [26, 51, 101, 26] {
            direct(&store)
                .read(sql, &[Param::from("t1"), Param::Int(limit)], |r| r.try_get::<String, _>(0))
                .expect("read");
        }
        let conn = direct(&store).lend().expect("a connection");
        let prepared_again = conn.prepare_cached(sql).expect("kept").get_status(rusqlite::StatementStatus::RePrepare);
        assert_eq!(prepared_again, 0);
    }
}
