//! What readiness is derived from, per customer: status, direct acceptance and the latest
//! attestation's date; one customer, or a page of them in the order of the keyset
//! (company name, then id), optionally of one status. Every statement takes the tenant.
//!
//! Fast at any number of customers (docs/readiness.md): one customer by its primary key;
//! a page reads one range of `customers_by_name (tenant_id, company_name, customer_id)`,
//! or of `customers_by_status_and_name (tenant_id, status, company_name, customer_id)`
//! with a status, starting after the cursor (never an `OFFSET`); the direct acceptance
//! and the latest attestation come per row of the page by primary key.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, StoreResult, parse_timestamp};
use crate::domain::{EffectiveStatus, ReadinessInputs};

/// A customer with the facts its readiness comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFacts {
    pub id: String,
    pub company_name: String,
    pub domain: String,
    pub status: EffectiveStatus,
    pub accepted_directly: Option<bool>,
    pub latest_attestation: Option<NaiveDate>,
    /// When Partner Center was last read for this customer.
    pub read_at: DateTime<Utc>,
}

impl CustomerFacts {
    pub fn readiness_inputs(&self) -> ReadinessInputs {
        ReadinessInputs {
            status: self.status,
            accepted_directly: self.accepted_directly,
            latest_attestation: self.latest_attestation,
        }
    }

    /// Where the next page starts: after this customer.
    pub fn cursor(&self) -> FactsCursor {
        FactsCursor { company_name: self.company_name.clone(), customer_id: self.id.clone() }
    }
}

/// A position in the keyset order: the last customer of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactsCursor {
    pub company_name: String,
    pub customer_id: String,
}

const SELECT: &str = "SELECT c.customer_id, c.company_name, c.domain, c.status, c.read_at, d.is_signed, \
     (SELECT MAX(a.date_agreed) FROM partner_attestations a WHERE a.tenant_id = c.tenant_id AND a.customer_id = c.customer_id) AS latest_attestation \
     FROM customers c LEFT JOIN direct_acceptance d ON d.tenant_id = c.tenant_id AND d.customer_id = c.customer_id";

/// The page statements: `$1` tenant, `$2` limit, then the status and the cursor when
/// given. Each a statement of its own, so that each reads its index's range.
pub(crate) fn page_sql(status: bool, after: bool) -> String {
    let mut sql = format!("{SELECT} WHERE c.tenant_id = $1");
    let mut next = 3;
    if status {
        sql.push_str(&format!(" AND c.status = ${next}"));
        next += 1;
    }
    if after {
        sql.push_str(&format!(" AND (c.company_name, c.customer_id) > (${}, ${})", next, next + 1));
    }
    sql.push_str(" ORDER BY c.company_name, c.customer_id LIMIT $2");
    sql
}

fn facts_of(r: &AnyRow) -> StoreResult<CustomerFacts> {
    let status: String = r.try_get("status")?;
    let latest: Option<String> = r.try_get("latest_attestation")?;
    Ok(CustomerFacts {
        id: r.try_get("customer_id")?,
        company_name: r.try_get("company_name")?,
        domain: r.try_get("domain")?,
        status: EffectiveStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        accepted_directly: r.try_get::<Option<i64>, _>("is_signed")?.map(|s| s != 0),
        latest_attestation: latest
            .as_deref()
            .map(str::parse::<NaiveDate>)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("date {latest:?}: {e}")))?,
        read_at: parse_timestamp(&r.try_get::<String, _>("read_at")?)?,
    })
}

impl Store {
    /// One customer of the tenant with its readiness facts.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn customer_facts(&self, tenant_id: &str, customer_id: &str) -> StoreResult<Option<CustomerFacts>> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.tenant_id = $1 AND c.customer_id = $2"));
        let row = sqlx::query(sql).bind(tenant_id).bind(customer_id).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(facts_of).transpose()
    }

    /// Up to `limit` customers of the tenant after `after` in the order (company name,
    /// id), only those of `status` when given.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %limit), err)]
    pub async fn customer_facts_page(
        &self,
        tenant_id: &str,
        status: Option<EffectiveStatus>,
        after: Option<&FactsCursor>,
        limit: i64,
    ) -> StoreResult<Vec<CustomerFacts>> {
        let sql = sqlx::AssertSqlSafe(page_sql(status.is_some(), after.is_some()));
        let mut q = sqlx::query(sql).bind(tenant_id).bind(limit.max(1));
        if let Some(s) = status {
            q = q.bind(s.key());
        }
        if let Some(a) = after {
            q = q.bind(a.company_name.clone()).bind(a.customer_id.clone());
        }
        q.fetch_all(&mut *self.reader().await?).await?.iter().map(facts_of).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Row, Store, page_sql};

    async fn plan(store: &Store, status: bool, after: bool) -> String {
        let sql = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {}", page_sql(status, after)));
        let mut q = sqlx::query(sql).bind("t1").bind(100i64);
        if status {
            q = q.bind("attested");
        }
        if after {
            q = q.bind("Contoso").bind("c1");
        }
        let rows = q.fetch_all(store.pool()).await.expect("explain");
        rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn every_page_reads_one_index_range_in_order_never_the_whole_table_or_a_sort() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        for (status, after, index) in [
            (false, false, "customers_by_name (tenant_id=?)"),
            (false, true, "customers_by_name (tenant_id=? AND (company_name,customer_id)>(?,?))"),
            (true, false, "customers_by_status_and_name (tenant_id=? AND status=?)"),
            (
                true,
                true,
                "customers_by_status_and_name (tenant_id=? AND status=? AND (company_name,customer_id)>(?,?))",
            ),
        ] {
            let plan = plan(&store, status, after).await;
            assert!(plan.contains(&format!("SEARCH c USING INDEX {index}")), "status {status}, after {after}:\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort of the rows: {plan}");
            assert!(!plan.contains("SCAN c"), "no scan of the customers: {plan}");
            assert!(!plan.contains("SCAN a") && !plan.contains("SCAN d"), "facts by key: {plan}");
        }
    }
}
