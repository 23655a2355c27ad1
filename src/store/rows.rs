//! Reading rows the same way on both databases: one statement's text, its values and a
//! decoder of a row. On SQLite the statement runs at once on the request's own thread,
//! through the store's direct connections (`direct_readers`); on PostgreSQL (and on a
//! SQLite database in memory) through sqlx (docs/architecture.md, "Reads on SQLite").

use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe};

use super::{Store, StoreError, StoreResult};

/// A value bound to a statement's `$n`.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

impl From<&str> for Param {
    fn from(t: &str) -> Param {
        Param::Text(t.to_string())
    }
}

impl From<String> for Param {
    fn from(t: String) -> Param {
        Param::Text(t)
    }
}

impl From<i64> for Param {
    fn from(i: i64) -> Param {
        Param::Int(i)
    }
}

/// A type a column is read as: text, integers, and either of them when it may be `NULL`.
pub(crate) trait StoredValue:
    for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + rusqlite::types::FromSql
{
}

impl<T> StoredValue for T where T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> + rusqlite::types::FromSql {}

/// A column, by its name or its place (from 0).
pub(crate) trait ColumnAt: sqlx::ColumnIndex<AnyRow> + Copy + std::fmt::Debug {
    /// Its place among the columns `names`.
    fn place(self, names: &[String]) -> Option<usize>;
}

impl ColumnAt for usize {
    fn place(self, names: &[String]) -> Option<usize> {
        (self < names.len()).then_some(self)
    }
}

impl ColumnAt for &str {
    fn place(self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}

/// A row read by either path, for a decoder that serves both.
#[derive(Clone, Copy)]
pub(crate) enum RowRef<'a> {
    Any(&'a AnyRow),
    /// A row of SQLite's direct connections, and the names of its columns.
    Sqlite(&'a rusqlite::Row<'a>, &'a [String]),
}

impl<'a> From<&'a AnyRow> for RowRef<'a> {
    fn from(r: &'a AnyRow) -> RowRef<'a> {
        RowRef::Any(r)
    }
}

impl RowRef<'_> {
    pub(crate) fn try_get<T: StoredValue, I: ColumnAt>(&self, column: I) -> StoreResult<T> {
        match self {
            RowRef::Any(r) => Ok(sqlx::Row::try_get(*r, column)?),
            RowRef::Sqlite(r, names) => {
                let place = column.place(names).ok_or_else(|| StoreError::Direct(format!("no column {column:?}")))?;
                r.get(place).map_err(|e| StoreError::Direct(format!("column {column:?}: {e}")))
            }
        }
    }
}

impl Store {
    /// Every row of one reading statement, each made into a `T` by `decode`.
    pub(crate) async fn read_rows<T>(
        &self,
        sql: &str,
        params: &[Param],
        mut decode: impl FnMut(RowRef<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        if let Some(direct) = &self.direct {
            return direct.read(sql, params, decode);
        }
        let mut q = sqlx::query(AssertSqlSafe(sql.to_string()));
        for p in params {
            q = match p {
                Param::Text(t) => q.bind(t.clone()),
                Param::Int(i) => q.bind(*i),
            };
        }
        let rows = q.fetch_all(&mut *self.reader().await?).await?;
        rows.iter().map(|r| decode(RowRef::Any(r))).collect()
    }

    /// The first row of one reading statement, if any.
    pub(crate) async fn read_row<T>(
        &self,
        sql: &str,
        params: &[Param],
        decode: impl FnMut(RowRef<'_>) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        Ok(self.read_rows(sql, params, decode).await?.into_iter().next())
    }
}
