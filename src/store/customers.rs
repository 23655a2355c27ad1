//! Customers as last read from Partner Center, with their MCA facts and derived status.
//! Every statement filters by the partner tenant.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::customer_list::{SUMMARY_COLUMNS, SUMMARY_JOIN};
use super::customer_rows::{CustomerRead, insert_attestations, save_customers, upsert_customers};
use super::rows::{Param, RowRef};
use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};
use crate::domain::customer::BillingDetails;
use crate::domain::{Attestation, Customer, CustomerSummary, EffectiveStatus, LatestAttestation, StatusVerdict};

/// A customer with everything the account page shows.
#[derive(Debug, Clone)]
pub struct CustomerRecord {
    /// The partner tenant this record was read for.
    pub tenant_id: String,
    pub customer: Customer,
    pub accepted_directly: Option<bool>,
    pub direct_read_at: Option<DateTime<Utc>>,
    pub attestations: Vec<Attestation>,
    pub status: EffectiveStatus,
    pub status_reason: String,
    pub read_at: DateTime<Utc>,
    /// Names of the partner users who attested, where they have signed in here.
    pub user_names: std::collections::HashMap<String, String>,
}

impl CustomerRecord {
    pub fn user_name(&self, oid: &str) -> Option<&str> {
        self.user_names.get(oid).map(String::as_str)
    }
}

#[derive(Serialize, Deserialize, Default)]
struct BillingJson {
    email: Option<String>,
    language: Option<String>,
    culture: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    address_line1: Option<String>,
    address_line2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
}

impl From<&BillingDetails> for BillingJson {
    fn from(b: &BillingDetails) -> Self {
        BillingJson {
            email: b.email.clone(),
            language: b.language.clone(),
            culture: b.culture.clone(),
            first_name: b.first_name.clone(),
            last_name: b.last_name.clone(),
            phone: b.phone.clone(),
            address_line1: b.address_line1.clone(),
            address_line2: b.address_line2.clone(),
            city: b.city.clone(),
            state: b.state.clone(),
            postal_code: b.postal_code.clone(),
            country: b.country.clone(),
        }
    }
}

impl From<BillingJson> for BillingDetails {
    fn from(b: BillingJson) -> Self {
        BillingDetails {
            email: b.email,
            language: b.language,
            culture: b.culture,
            first_name: b.first_name,
            last_name: b.last_name,
            phone: b.phone,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            city: b.city,
            state: b.state,
            postal_code: b.postal_code,
            country: b.country,
        }
    }
}

/// Text as it is compared in searches: lower case, typographic apostrophes and quotes
/// as plain ones, no control characters.
pub fn search_form(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
            '\u{201C}' | '\u{201D}' => '"',
            other => other,
        })
        .collect::<String>()
        .to_lowercase()
}

/// The assignments that remember a change of status: the status before and when it
/// changed (`row` the stored row's prefix, `new` the status written, `at` the time). A
/// status written again unchanged keeps both.
pub(super) fn status_change(row: &str, new: &str, at: &str) -> String {
    format!(
        "previous_status = CASE WHEN {row}status <> {new} THEN {row}status ELSE {row}previous_status END, \
         status_changed_at = CASE WHEN {row}status <> {new} THEN {at} ELSE {row}status_changed_at END"
    )
}

/// The customer's own row, as `customer_rows::upsert_customers` writes it.
pub(super) async fn upsert_customer(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    (customer, accepted_directly, attestations): (&Customer, Option<bool>, &[Attestation]),
    verdict: &StatusVerdict,
    at: &str,
) -> StoreResult<()> {
    let read =
        CustomerRead { customer, accepted_directly, attestations, verdict, billing_json: billing_json(customer)? };
    upsert_customers(conn, tenant_id, std::slice::from_ref(&read), at).await
}

/// The customer's billing details as `customers.billing_json` keeps them.
fn billing_json(customer: &Customer) -> StoreResult<Option<String>> {
    let Some(b) = &customer.billing else { return Ok(None) };
    serde_json::to_string(&BillingJson::from(b)).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// One partner attestation of a customer, at a position of its list.
pub(super) async fn insert_attestation(
    conn: &mut sqlx::AnyConnection,
    (tenant_id, customer_id): (&str, &str),
    position: i64,
    a: &Attestation,
    at: &str,
) -> StoreResult<()> {
    insert_attestations(conn, tenant_id, &[(customer_id, position, a)], at).await
}

fn status_of(key: &str) -> StoreResult<EffectiveStatus> {
    EffectiveStatus::parse(key).ok_or_else(|| StoreError::Corrupt(format!("status {key:?}")))
}

/// A tenant's customers of one name in any letter case; `lower(company_name)` as the
/// index `customers_by_lower_name` has it, so that the lookup reads that index's range.
fn named_sql() -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM customers c {SUMMARY_JOIN} \
         WHERE c.tenant_id = $1 AND lower(c.company_name) = lower($2) LIMIT $3"
    )
}

/// A row of `SUMMARY_COLUMNS` as a list shows it.
pub(super) fn summary_of(r: RowRef<'_>) -> StoreResult<CustomerSummary> {
    let attested_on: String = r.try_get("latest_attestation_on")?;
    let latest_attestation = match attested_on.as_str() {
        "" => None,
        date => Some(LatestAttestation {
            date_agreed: date.parse::<NaiveDate>().map_err(|e| StoreError::Corrupt(format!("date {date:?}: {e}")))?,
            user_id: r.try_get("latest_attestation_by")?,
            user_name: r.try_get("attested_by_name")?,
        }),
    };
    Ok(CustomerSummary {
        id: r.try_get("customer_id")?,
        company_name: r.try_get("company_name")?,
        domain: r.try_get("domain")?,
        status: status_of(&r.try_get::<String, _>("status")?)?,
        status_reason: r.try_get("status_reason")?,
        accepted_directly: r.try_get::<Option<i64>, _>("accepted_directly")?.map(|s| s != 0),
        added_here_at: r.try_get::<Option<String>, _>("added_here_at")?.as_deref().map(parse_timestamp).transpose()?,
        latest_attestation,
        associated_partner_id: r.try_get("associated_partner_id")?,
    })
}

/// Makes the customer's latest attestation (date and partner user), as the list shows it,
/// the latest of those stored: for writers that add or replace attestations themselves.
pub(super) async fn sync_latest_attestation(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    customer_id: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE customers SET \
         latest_attestation_on = COALESCE((SELECT MAX(p.date_agreed) FROM partner_attestations p \
             WHERE p.tenant_id = customers.tenant_id AND p.customer_id = customers.customer_id), ''), \
         latest_attestation_by = (SELECT p.user_id FROM partner_attestations p \
             WHERE p.tenant_id = customers.tenant_id AND p.customer_id = customers.customer_id \
             ORDER BY p.date_agreed DESC, p.position DESC LIMIT 1) \
         WHERE tenant_id = $1 AND customer_id = $2",
    )
    .bind(tenant_id)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What Partner Center said of one customer, to be saved over what was read before.
pub struct CustomerWrite<'a> {
    pub customer: &'a Customer,
    pub accepted_directly: Option<bool>,
    pub attestations: &'a [Attestation],
    pub verdict: &'a StatusVerdict,
}

impl Store {
    /// Saves what Partner Center said of one customer, replacing what was read before.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, customer_id = %customer.id), err)]
    pub async fn customer_save(
        &self,
        tenant_id: &str,
        customer: &Customer,
        accepted_directly: Option<bool>,
        attestations: &[Attestation],
        verdict: &StatusVerdict,
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let one = CustomerWrite { customer, accepted_directly, attestations, verdict };
        self.customers_save_batch(tenant_id, std::slice::from_ref(&one), read_at).await
    }

    /// Saves many customers of one tenant as `customer_save` does each, in one write
    /// transaction and a few statements: for loading a large portfolio at once (the
    /// `seed` command). A customer appears at most once in `batch`.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, customers = batch.len()), err)]
    pub async fn customers_save_batch(
        &self,
        tenant_id: &str,
        batch: &[CustomerWrite<'_>],
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let at = timestamp(read_at);
        let reads = batch
            .iter()
            .map(|one| {
                let (customer, attestations, verdict) = (one.customer, one.attestations, one.verdict);
                let billing_json = billing_json(customer)?;
                Ok(CustomerRead {
                    customer,
                    accepted_directly: one.accepted_directly,
                    attestations,
                    verdict,
                    billing_json,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut tx = self.begin_write().await?;
        save_customers(&mut tx, tenant_id, &reads, &at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds an attestation Partner Center has just recorded to the customer's list, and
    /// makes it the latest the list shows unless one of a later date is there.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn attestation_add(&self, tenant_id: &str, customer_id: &str, a: &Attestation) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        // After every position a read gives (0, 1, …), and distinct however many are added at once.
        let position = 1_000_000 + Utc::now().timestamp_micros() % 1_000_000_000_000 + i64::from(rand::random::<u16>());
        insert_attestation(&mut tx, (tenant_id, customer_id), position, a, &timestamp(Utc::now())).await?;
        sqlx::query(
            "UPDATE customers SET latest_attestation_on = $1, latest_attestation_by = $2 \
             WHERE tenant_id = $3 AND customer_id = $4 AND latest_attestation_on < $1",
        )
        .bind(a.date_agreed.to_string())
        .bind(a.user_id.clone())
        .bind(tenant_id)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Derives the customer's status again from what is stored: direct acceptance,
    /// attestations and the portal's own submissions.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn customer_recompute_status(
        &self,
        tenant_id: &str,
        customer_id: &str,
        policy: &crate::domain::ReattestationPolicy,
    ) -> StoreResult<()> {
        let Some(record) = self.customer_get(tenant_id, customer_id).await? else { return Ok(()) };
        let s = self.submission_status(tenant_id, customer_id).await?;
        let verdict = crate::domain::StatusInputs {
            accepted_directly: record.accepted_directly,
            attestation_dates: record.attestations.iter().map(|a| a.date_agreed).collect(),
            pending: s.pending,
            waiting_for_customer: s.waiting_for_customer,
            needs_sign_in: s.needs_sign_in,
            failed_reason: s.failed_reason,
        }
        .verdict(policy);
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE customers SET {}, status = $1, status_reason = $2 WHERE tenant_id = $3 AND customer_id = $4",
            status_change("", "$1", "$5")
        ));
        sqlx::query(sql)
            .bind(verdict.status.key())
            .bind(&verdict.reason)
            .bind(tenant_id)
            .bind(customer_id)
            .bind(timestamp(Utc::now()))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// After a full read of the list: forgets customers Partner Center no longer lists.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customers_forget_unseen(&self, tenant_id: &str, read_since: DateTime<Utc>) -> StoreResult<u64> {
        let since = timestamp(read_since);
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM partner_attestations WHERE tenant_id = $1 AND customer_id IN (SELECT customer_id FROM customers WHERE tenant_id = $1 AND read_at < $2)",
            "DELETE FROM direct_acceptance WHERE tenant_id = $1 AND customer_id IN (SELECT customer_id FROM customers WHERE tenant_id = $1 AND read_at < $2)",
        ] {
            sqlx::query(sql).bind(tenant_id).bind(&since).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM customers WHERE tenant_id = $1 AND read_at < $2")
            .bind(tenant_id)
            .bind(&since)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Marks a customer as created with the portal's Add customer, at `at`.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn customer_mark_added_here(
        &self,
        tenant_id: &str,
        customer_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE customers SET added_here_at = $1 WHERE tenant_id = $2 AND customer_id = $3")
            .bind(timestamp(at))
            .bind(tenant_id)
            .bind(customer_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Whether any customer of the tenant is stored.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customers_any(&self, tenant_id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT customer_id FROM customers WHERE tenant_id = $1 LIMIT 1")
            .bind(tenant_id)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(row.is_some())
    }

    /// A tenant's customers whose company name is `name` in any letter case (at most
    /// `limit`), read through the index `customers_by_lower_name`.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn customers_named(&self, tenant_id: &str, name: &str, limit: i64) -> StoreResult<Vec<CustomerSummary>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(named_sql()))
            .bind(tenant_id)
            .bind(name.trim())
            .bind(limit)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(|r| summary_of(r.into())).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn customer_get(&self, tenant_id: &str, customer_id: &str) -> StoreResult<Option<CustomerRecord>> {
        const RECORD: &str = "SELECT c.customer_id, c.company_name, c.domain, c.relationship, c.commerce_id, c.billing_json, \
                c.status, c.status_reason, c.read_at, c.associated_partner_id, d.is_signed, d.read_at AS direct_read_at \
             FROM customers c LEFT JOIN direct_acceptance d ON d.tenant_id = c.tenant_id AND d.customer_id = c.customer_id \
             WHERE c.tenant_id = $1 AND c.customer_id = $2";
        // The attester's name by the primary key of `partner_users`, when they signed in here.
        const ATTESTATIONS: &str = "SELECT a.first_name, a.last_name, a.email, a.phone, a.date_agreed, a.user_id, \
                a.template_id, u.name AS user_name \
             FROM partner_attestations a LEFT JOIN partner_users u ON u.tenant_id = a.tenant_id AND u.oid = a.user_id \
             WHERE a.tenant_id = $1 AND a.customer_id = $2 ORDER BY a.date_agreed DESC, a.position";
        let params = [Param::from(tenant_id), Param::from(customer_id)];
        let Some(mut record) = self.read_row(RECORD, &params, |r| record_of(tenant_id, r)).await? else {
            return Ok(None);
        };
        let mut user_names = std::collections::HashMap::new();
        record.attestations = self
            .read_rows(ATTESTATIONS, &params, |r| {
                let attestation = attestation_of(r)?;
                if let (Some(oid), Some(name)) = (&attestation.user_id, r.try_get::<Option<String>, _>("user_name")?) {
                    user_names.insert(oid.clone(), name);
                }
                Ok(attestation)
            })
            .await?;
        record.user_names = user_names;
        Ok(Some(record))
    }
}

/// The customer's own columns of a row (`customer_id`, `company_name`, `domain`,
/// `relationship`, `commerce_id`, `associated_partner_id`), with its billing details.
pub(super) fn customer_of(r: RowRef<'_>, billing: Option<BillingDetails>) -> StoreResult<Customer> {
    Ok(Customer {
        id: r.try_get("customer_id")?,
        company_name: r.try_get("company_name")?,
        domain: r.try_get("domain")?,
        relationship: r.try_get("relationship")?,
        commerce_id: r.try_get("commerce_id")?,
        billing,
        associated_partner_id: r.try_get("associated_partner_id")?,
    })
}

/// A customer's record from its row, without its attestations.
fn record_of(tenant_id: &str, r: RowRef<'_>) -> StoreResult<CustomerRecord> {
    let billing: Option<String> = r.try_get("billing_json")?;
    let billing = match billing {
        Some(text) => Some(BillingDetails::from(
            serde_json::from_str::<BillingJson>(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        )),
        None => None,
    };
    let signed: Option<i64> = r.try_get("is_signed")?;
    let direct_read_at: Option<String> = r.try_get("direct_read_at")?;
    Ok(CustomerRecord {
        tenant_id: tenant_id.to_string(),
        customer: customer_of(r, billing)?,
        accepted_directly: signed.map(|s| s != 0),
        direct_read_at: direct_read_at.as_deref().map(parse_timestamp).transpose()?,
        attestations: Vec::new(),
        status: status_of(&r.try_get::<String, _>("status")?)?,
        status_reason: r.try_get("status_reason")?,
        read_at: parse_timestamp(&r.try_get::<String, _>("read_at")?)?,
        user_names: std::collections::HashMap::new(),
    })
}

fn attestation_of(r: RowRef<'_>) -> StoreResult<Attestation> {
    let date: String = r.try_get("date_agreed")?;
    Ok(Attestation {
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        email: r.try_get("email")?,
        phone: r.try_get("phone")?,
        date_agreed: date.parse::<NaiveDate>().map_err(|e| StoreError::Corrupt(format!("date {date:?}: {e}")))?,
        user_id: r.try_get("user_id")?,
        template_id: r.try_get("template_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::{Store, named_sql, search_form};
    use sqlx::Row;

    #[test]
    fn searches_compare_lower_case_with_plain_quotes() {
        assert_eq!(search_form("Liberty\u{2019}s\u{0} CON"), "liberty's con");
    }

    #[tokio::test]
    async fn the_same_name_lookup_reads_an_index_range_never_the_whole_table() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        let sql = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {}", named_sql()));
        let rows = sqlx::query(sql).bind("t1").bind("Contoso").bind(5).fetch_all(store.pool()).await.expect("explain");
        let plan =
            rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n");
        assert!(plan.contains("USING INDEX customers_by_lower_name (tenant_id=? AND <expr>=?)"), "{plan}");
        assert!(!plan.contains("SCAN customers"), "{plan}");
    }
}
