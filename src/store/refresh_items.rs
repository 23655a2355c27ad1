//! The customers a refresh reads, each with what the agreement-records listing said of
//! it, until the run has stored its status. Every write goes with the run's counts in one
//! transaction, and only while the writer holds the run's lease: a run continued by
//! another instance never counts a customer twice, nor loses one.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::customers::{customer_of, insert_attestation, sync_latest_attestation, upsert_customer};
use super::refresh_runs::{Step, step_on};
use super::{Store, StoreError, StoreResult, timestamp};
use crate::domain::{Attestation, Customer, StatusVerdict};

/// A customer a run still has to read, with what is known of it.
#[derive(Debug, Clone)]
pub struct RefreshItem {
    pub customer: Customer,
    /// Whether the listing mentions the customer.
    pub in_listing: bool,
    /// The listing's `partnerAttestationCompleted`.
    pub attested: bool,
    /// The listing's latest attestation.
    pub latest: Option<Attestation>,
    /// What was read before of the customer's direct acceptance, if anything.
    pub stored_direct: Option<bool>,
    /// The latest attestation date stored before.
    pub stored_latest_date: Option<NaiveDate>,
}

/// What a run learnt of a customer's attestations.
pub enum ReadAttestations<'a> {
    /// Every attestation, from the per-customer read: they replace what was stored.
    All(&'a [Attestation]),
    /// The listing's latest one: added to what is stored unless it is there already.
    Latest(Option<&'a Attestation>),
}

/// What a run stores of one customer.
pub struct ReadCustomer<'a> {
    pub customer: &'a Customer,
    pub accepted_directly: Option<bool>,
    pub attestations: ReadAttestations<'a>,
    pub verdict: &'a StatusVerdict,
    pub read_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct LatestJson {
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    date_agreed: NaiveDate,
}

fn latest_json(a: &Attestation) -> StoreResult<String> {
    let j = LatestJson {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        date_agreed: a.date_agreed,
    };
    serde_json::to_string(&j).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn item_of(r: &AnyRow) -> StoreResult<RefreshItem> {
    let latest: Option<String> = r.try_get("latest_json")?;
    let latest = match latest {
        Some(text) => {
            let j: LatestJson = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Some(Attestation {
                first_name: j.first_name,
                last_name: j.last_name,
                email: j.email,
                phone: j.phone,
                date_agreed: j.date_agreed,
                user_id: None,
                template_id: None,
            })
        }
        None => None,
    };
    let stored_latest: Option<String> = r.try_get("stored_latest")?;
    Ok(RefreshItem {
        customer: customer_of(r.into(), None)?,
        in_listing: r.try_get::<i64, _>("in_listing")? != 0,
        attested: r.try_get::<i64, _>("attested")? != 0,
        latest,
        stored_direct: r.try_get::<Option<i64>, _>("is_signed")?.map(|s| s != 0),
        stored_latest_date: stored_latest.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
    })
}

/// The waiting customers of a run after `after`, in customer id order, with what is
/// stored of them: read through `refresh_items_waiting` and the primary keys.
const WAITING_SQL: &str = "SELECT i.customer_id, i.company_name, i.domain, i.relationship, i.commerce_id, i.associated_partner_id, i.in_listing, \
     i.attested, i.latest_json, d.is_signed, \
     (SELECT MAX(p.date_agreed) FROM partner_attestations p WHERE p.tenant_id = i.tenant_id AND p.customer_id = i.customer_id) AS stored_latest \
     FROM refresh_items i LEFT JOIN direct_acceptance d ON d.tenant_id = i.tenant_id AND d.customer_id = i.customer_id \
     WHERE i.tenant_id = $1 AND i.state = 'listed' AND i.customer_id > $2 AND i.run_id = $3 \
     ORDER BY i.customer_id LIMIT $4";

impl Store {
    /// A page of the customer list: its customers join the run, and the run moves on to
    /// `step`'s cursor. False when `owner` no longer holds the run (nothing is written).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %run_id), err)]
    pub async fn refresh_items_listed(
        &self,
        (tenant_id, run_id, owner): (&str, &str, &str),
        customers: &[Customer],
        step: &Step<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        if !step_on(&mut tx, run_id, owner, step).await? {
            return Ok(false);
        }
        let mut added = 0;
        for c in customers {
            let done = sqlx::query(
                "INSERT INTO refresh_items (tenant_id, customer_id, run_id, company_name, domain, relationship, commerce_id, associated_partner_id, state, in_listing, attested) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'listed', 0, 0) ON CONFLICT (tenant_id, customer_id) DO NOTHING",
            )
            .bind(tenant_id)
            .bind(&c.id)
            .bind(run_id)
            .bind(&c.company_name)
            .bind(&c.domain)
            .bind(c.relationship.clone())
            .bind(c.commerce_id.clone())
            .bind(c.associated_partner_id.clone())
            .execute(&mut *tx)
            .await?;
            added += i64::try_from(done.rows_affected()).unwrap_or(0);
        }
        sqlx::query("UPDATE refresh_runs SET total = total + $1 WHERE run_id = $2")
            .bind(added)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A page of the agreement-records listing: what it says of the run's customers.
    /// Records of customers the list did not give are left out. False without the lease.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %run_id), err)]
    pub async fn refresh_items_recorded(
        &self,
        (tenant_id, run_id, owner): (&str, &str, &str),
        records: &[(String, bool, Option<Attestation>)],
        step: &Step<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        if !step_on(&mut tx, run_id, owner, step).await? {
            return Ok(false);
        }
        for (customer_id, attested, latest) in records {
            let latest = latest.as_ref().map(latest_json).transpose()?;
            sqlx::query(
                "UPDATE refresh_items SET in_listing = 1, attested = $1, latest_json = $2 \
                 WHERE tenant_id = $3 AND customer_id = $4 AND run_id = $5",
            )
            .bind(i64::from(*attested))
            .bind(latest)
            .bind(tenant_id)
            .bind(customer_id)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Up to `limit` customers the run has still to read, after `after` (customer ids).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %run_id), err)]
    pub async fn refresh_items_waiting(
        &self,
        tenant_id: &str,
        run_id: &str,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<RefreshItem>> {
        let rows = sqlx::query(WAITING_SQL)
            .bind(tenant_id)
            .bind(after)
            .bind(run_id)
            .bind(limit)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(item_of).collect()
    }

    /// Stores what was read of one of the run's customers, counts it done, and adds
    /// `calls` to the run's. False (and nothing written) without the lease.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, customer_id = %read.customer.id), err)]
    pub async fn refresh_item_read(
        &self,
        (tenant_id, run_id, owner): (&str, &str, &str),
        read: &ReadCustomer<'_>,
        calls: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !count_item(&mut tx, (tenant_id, run_id, owner), &read.customer.id, "done", calls).await? {
            return Ok(false);
        }
        let at = timestamp(read.read_at);
        upsert_customer(&mut tx, tenant_id, (read.customer, read.accepted_directly, &[]), read.verdict, &at).await?;
        if let Some(signed) = read.accepted_directly {
            sqlx::query(
                "INSERT INTO direct_acceptance (tenant_id, customer_id, is_signed, read_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, customer_id) DO UPDATE SET is_signed = excluded.is_signed, read_at = excluded.read_at",
            )
            .bind(tenant_id)
            .bind(&read.customer.id)
            .bind(i64::from(signed))
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        save_attestations(&mut tx, (tenant_id, &read.customer.id), &read.attestations, &at).await?;
        sync_latest_attestation(&mut tx, tenant_id, &read.customer.id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One of the run's customers could not be read: counted as failed; a customer not
    /// stored before is stored as not read (`verdict`), never left out of the list.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, customer_id = %customer.id), err)]
    pub async fn refresh_item_failed(
        &self,
        (tenant_id, run_id, owner): (&str, &str, &str),
        customer: &Customer,
        verdict: &StatusVerdict,
        calls: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !count_item(&mut tx, (tenant_id, run_id, owner), &customer.id, "failed", calls).await? {
            return Ok(false);
        }
        let known = sqlx::query("SELECT 1 FROM customers WHERE tenant_id = $1 AND customer_id = $2")
            .bind(tenant_id)
            .bind(&customer.id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            upsert_customer(&mut tx, tenant_id, (customer, None, &[]), verdict, &timestamp(Utc::now())).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Marks the item `state` (done or failed) and counts it in the run, with the lease.
async fn count_item(
    tx: &mut sqlx::AnyConnection,
    (tenant_id, run_id, owner): (&str, &str, &str),
    customer_id: &str,
    state: &str,
    calls: i64,
) -> StoreResult<bool> {
    let failed = i64::from(state == "failed");
    let counted = sqlx::query(
        "UPDATE refresh_runs SET done = done + 1, failed = failed + $1, calls = calls + $2 \
         WHERE run_id = $3 AND lease_owner = $4 AND state = 'running'",
    )
    .bind(failed)
    .bind(calls)
    .bind(run_id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    if counted.rows_affected() == 0 {
        return Ok(false);
    }
    let marked = sqlx::query(
        "UPDATE refresh_items SET state = $1 WHERE tenant_id = $2 AND customer_id = $3 AND run_id = $4 AND state = 'listed'",
    )
    .bind(state)
    .bind(tenant_id)
    .bind(customer_id)
    .bind(run_id)
    .execute(&mut *tx)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// Every attestation replaces the stored ones; the listing's latest is added unless one
/// with the same date and contact is stored.
async fn save_attestations(
    tx: &mut sqlx::AnyConnection,
    (tenant_id, customer_id): (&str, &str),
    read: &ReadAttestations<'_>,
    at: &str,
) -> StoreResult<()> {
    match read {
        ReadAttestations::All(all) => {
            sqlx::query("DELETE FROM partner_attestations WHERE tenant_id = $1 AND customer_id = $2")
                .bind(tenant_id)
                .bind(customer_id)
                .execute(&mut *tx)
                .await?;
            for (i, a) in all.iter().enumerate() {
                insert_attestation(&mut *tx, (tenant_id, customer_id), i as i64, a, at).await?;
            }
        }
        ReadAttestations::Latest(None) => {}
        ReadAttestations::Latest(Some(a)) => {
            let stored = sqlx::query(
                "SELECT 1 FROM partner_attestations WHERE tenant_id = $1 AND customer_id = $2 AND date_agreed = $3 \
                 AND first_name = $4 AND last_name = $5 AND email = $6",
            )
            .bind(tenant_id)
            .bind(customer_id)
            .bind(a.date_agreed.to_string())
            .bind(&a.first_name)
            .bind(&a.last_name)
            .bind(&a.email)
            .fetch_optional(&mut *tx)
            .await?;
            if stored.is_none() {
                let position: i64 = sqlx::query(
                    "SELECT COALESCE(MAX(position), -1) + 1 FROM partner_attestations WHERE tenant_id = $1 AND customer_id = $2",
                )
                .bind(tenant_id)
                .bind(customer_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
                insert_attestation(&mut *tx, (tenant_id, customer_id), position, a, at).await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::{Store, WAITING_SQL};

    #[tokio::test]
    async fn the_customers_still_to_read_come_through_the_index_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        let sql = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {WAITING_SQL}"));
        let rows =
            sqlx::query(sql).bind("t1").bind("").bind("r1").bind(200).fetch_all(store.pool()).await.expect("explain");
        let plan =
            rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n");
        assert!(
            plan.contains("USING INDEX refresh_items_waiting (tenant_id=? AND state=? AND customer_id>?)"),
            "{plan}"
        );
        assert!(!plan.contains("USE TEMP B-TREE"), "no sort: {plan}");
    }
}
