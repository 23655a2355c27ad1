//! New customers not created yet: a partner's Add customer submissions for which Partner
//! Center has no customer (yet): queued, waiting for a sign-in, or refused. The Customers
//! page lists them (docs/architecture.md, "New customers not created yet").
//!
//! A new customer's submission has an empty `customer_id` until Partner Center has created
//! it, so these rows are the range `(tenant_id, '')` of the index `submissions_by_customer`
//! (`tenant_id, customer_id, created_at`): however many customers and attestations a
//! partner has, the query reads only its new customers that were never created.

use super::rows::Param;
use super::submissions::{COLUMNS, Submission};
use super::{Store, StoreResult};

/// The conditions of a new customer not created yet, in tenant `$1`.
const NOT_CREATED: &str = "tenant_id = $1 AND customer_id = '' AND kind = 'create_customer' \
     AND state IN ('queued', 'needs_sign_in', 'failed')";

/// The newest of them first; `$2` is how many.
fn newest_sql() -> String {
    format!("SELECT {COLUMNS} FROM submissions WHERE {NOT_CREATED} ORDER BY created_at DESC, id DESC LIMIT $2")
}

fn count_sql() -> String {
    format!("SELECT COUNT(*) AS n FROM submissions WHERE {NOT_CREATED}")
}

/// The newest of a partner's new customers not created yet, and how many there are.
#[derive(Debug, Clone)]
pub struct NewCustomersNotCreated {
    /// At most the number asked for, newest first.
    pub newest: Vec<Submission>,
    pub total: i64,
}

impl Store {
    /// The partner's new customers not created yet: the newest `limit`, and how many in all.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn new_customers_not_created(&self, tenant_id: &str, limit: i64) -> StoreResult<NewCustomersNotCreated> {
        let params = [Param::from(tenant_id), Param::from(limit)];
        let newest = self.read_rows(&newest_sql(), &params, |r| self.submission_of(r)).await?;
        let shown = i64::try_from(newest.len()).unwrap_or(i64::MAX);
        if shown < limit {
            return Ok(NewCustomersNotCreated { newest, total: shown });
        }
        let total = self.read_row(&count_sql(), &params[..1], |r| r.try_get::<i64, _>("n")).await?.unwrap_or(0);
        Ok(NewCustomersNotCreated { newest, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// SQLite's plan for a query of tenant t1's list, one line per step.
    async fn plan_of(store: &Store, select: &str, limit: Option<i64>) -> String {
        let sql = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {select}"));
        let query = sqlx::query(sql).bind("t1");
        let query = match limit {
            Some(n) => query.bind(n),
            None => query,
        };
        let rows = query.fetch_all(store.pool()).await.expect("explain");
        rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn both_queries_read_an_index_range_never_the_whole_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        for (select, limit) in [(newest_sql(), Some(20)), (count_sql(), None)] {
            let plan = plan_of(&store, &select, limit).await;
            assert!(plan.contains("USING INDEX submissions_by_customer (tenant_id=? AND customer_id=?)"), "{plan}");
            assert!(!plan.contains("SCAN submissions"), "{plan}");
        }
    }
}
