//! The customer list for its CSV export (docs/audit-and-export.md): the list's filter,
//! read in chunks by keyset on `(company_name, customer_id)` along the index
//! `customers_by_name`, so that each chunk starts where the last one stopped and the whole
//! export reads each row once, whatever its size.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::customer_list::contains_pattern;
use super::{CustomerFilter, Store, StoreError, StoreResult};
use crate::domain::EffectiveStatus;

/// One customer as the export writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerExportRow {
    pub id: String,
    pub company_name: String,
    pub domain: String,
    pub status: EffectiveStatus,
    pub status_reason: String,
    /// Partner Center's "Customer acceptance through Microsoft"; `None` when not read.
    pub accepted_directly: Option<bool>,
    /// The date of the latest partner attestation, as the account page orders them.
    pub latest_attestation: Option<NaiveDate>,
    /// The partner user who made that attestation: their name when they signed in here,
    /// else their object id; `None` when Partner Center names no user.
    pub attested_by: Option<String>,
}

/// Where a chunk ended: the company name and id of its last customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCursor {
    pub company_name: String,
    pub customer_id: String,
}

impl CustomerCursor {
    /// The place after this customer.
    pub fn after(r: &CustomerExportRow) -> Self {
        CustomerCursor { company_name: r.company_name.clone(), customer_id: r.id.clone() }
    }
}

/// One chunk of the filtered list: a range of `customers_by_name` after the cursor (an
/// empty cursor is before every customer); search and status are checked on the rows read.
const CHUNK_SQL: &str = "SELECT c.customer_id, c.company_name, c.domain, c.status, c.status_reason, d.is_signed \
     FROM customers c LEFT JOIN direct_acceptance d ON d.tenant_id = c.tenant_id AND d.customer_id = c.customer_id \
     WHERE c.tenant_id = $1 AND ($2 = '%%' OR c.search_text LIKE $2 ESCAPE '\\') AND ($3 = '' OR c.status = $3) \
     AND c.company_name >= $4 AND (c.company_name > $4 OR c.customer_id > $5) \
     ORDER BY c.company_name, c.customer_id LIMIT $6";

fn row_of(r: &AnyRow) -> StoreResult<CustomerExportRow> {
    let status: String = r.try_get("status")?;
    Ok(CustomerExportRow {
        id: r.try_get("customer_id")?,
        company_name: r.try_get("company_name")?,
        domain: r.try_get("domain")?,
        status: EffectiveStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        status_reason: r.try_get("status_reason")?,
        accepted_directly: r.try_get::<Option<i64>, _>("is_signed")?.map(|s| s != 0),
        latest_attestation: None,
        attested_by: None,
    })
}

impl Store {
    /// Up to `limit` customers of the tenant matching `filter`, by company name, after
    /// `after`, each with its latest attestation.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customers_export_chunk(
        &self,
        tenant_id: &str,
        filter: &CustomerFilter,
        after: Option<&CustomerCursor>,
        limit: i64,
    ) -> StoreResult<Vec<CustomerExportRow>> {
        let (name, id) = after.map(|c| (c.company_name.as_str(), c.customer_id.as_str())).unwrap_or(("", ""));
        let mut rows: Vec<CustomerExportRow> = sqlx::query(CHUNK_SQL)
            .bind(tenant_id)
            .bind(contains_pattern(&super::customers::search_form(filter.search.trim())))
            .bind(filter.status.map(|s| s.key()).unwrap_or(""))
            .bind(name)
            .bind(id)
            .bind(limit.clamp(1, 5000))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(row_of)
            .collect::<StoreResult<_>>()?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut latest = self.latest_attestations(tenant_id, &ids).await?;
        for r in &mut rows {
            if let Some((date, by)) = latest.remove(&r.id) {
                r.latest_attestation = Some(date);
                r.attested_by = by;
            }
        }
        Ok(rows)
    }

    /// The latest attestation of each of `ids` that has one (the newest date; of one date,
    /// the first Partner Center listed) and who made it: primary-key ranges of
    /// `partner_attestations`, and of `partner_users` for the names.
    async fn latest_attestations(
        &self,
        tenant_id: &str,
        ids: &[String],
    ) -> StoreResult<HashMap<String, (NaiveDate, Option<String>)>> {
        let mut latest: HashMap<String, (NaiveDate, i64, Option<String>)> = HashMap::new();
        for chunk in ids.chunks(1000) {
            let each: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT a.customer_id, a.date_agreed, a.position, a.user_id, u.name FROM partner_attestations a \
                 LEFT JOIN partner_users u ON u.tenant_id = a.tenant_id AND u.oid = a.user_id \
                 WHERE a.tenant_id = $1 AND a.customer_id IN ({})",
                each.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for r in q.fetch_all(self.pool()).await? {
                let text: String = r.try_get("date_agreed")?;
                let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("date {text:?}: {e}")))?;
                let position: i64 = r.try_get("position")?;
                let by = r.try_get::<Option<String>, _>("name")?.or(r.try_get::<Option<String>, _>("user_id")?);
                let entry = latest.entry(r.try_get("customer_id")?).or_insert((date, position, by.clone()));
                if (date, std::cmp::Reverse(position)) > (entry.0, std::cmp::Reverse(entry.1)) {
                    *entry = (date, position, by);
                }
            }
        }
        Ok(latest.into_iter().map(|(id, (date, _, by))| (id, (date, by))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK_SQL, Row, Store};

    #[tokio::test]
    async fn a_chunk_reads_a_range_of_the_name_index_in_its_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        let sql = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {CHUNK_SQL}"));
        let rows = sqlx::query(sql)
            .bind("t1")
            .bind("%con%")
            .bind("attested")
            .bind("Contoso")
            .bind("c1")
            .bind(1000)
            .fetch_all(store.pool())
            .await
            .expect("explain");
        let plan =
            rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n");
        assert!(plan.contains("SEARCH c USING INDEX customers_by_name (tenant_id=? AND company_name>?)"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE") && !plan.contains("SCAN c"), "{plan}");
    }
}
