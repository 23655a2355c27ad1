//! Submissions: stored first, then delivered. The table is also the delivery queue,
//! claimed with leases.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};
use crate::domain::UserTokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionState {
    /// Saved; waiting for (another) delivery attempt.
    Queued,
    /// Partner Center took it.
    Delivered,
    /// Partner Center refused it; the reason is kept. Final.
    Failed,
}

impl SubmissionState {
    pub fn key(self) -> &'static str {
        match self {
            SubmissionState::Queued => "queued",
            SubmissionState::Delivered => "delivered",
            SubmissionState::Failed => "failed",
        }
    }
    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "queued" => Ok(SubmissionState::Queued),
            "delivered" => Ok(SubmissionState::Delivered),
            "failed" => Ok(SubmissionState::Failed),
            other => Err(StoreError::Corrupt(format!("submission state {other:?}"))),
        }
    }
}

/// What an attestation submission carries, as the agent typed it (already valid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestPayload {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub date_agreed: String,
}

/// A new customer as the form gave it, already valid; never a password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPayload {
    pub company_name: String,
    pub domain_prefix: String,
    pub country: String,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub culture: String,
    pub registration_number: String,
    pub associated_partner_id: String,
}

/// What the portal's own submissions say of a customer's status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionStatus {
    pub pending: bool,
    pub waiting_for_customer: bool,
    pub failed_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionKind {
    /// An attestation for an existing customer.
    Attest,
    /// A new customer, then (when the agent attested) its attestation.
    CreateCustomer,
}

impl SubmissionKind {
    fn key(self) -> &'static str {
        match self {
            SubmissionKind::Attest => "attest",
            SubmissionKind::CreateCustomer => "create_customer",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub id: String,
    pub tenant_id: String,
    pub idempotency_key: String,
    pub kind: SubmissionKind,
    pub customer_id: String,
    pub payload: AttestPayload,
    pub customer: Option<CustomerPayload>,
    pub attest_request_id: Option<String>,
    /// Enhanced attestation: its id and the link where the customer accepts.
    pub attestation_id: Option<String>,
    pub acceptance_link: Option<String>,
    pub state: SubmissionState,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub ms_request_id: String,
    pub ms_correlation_id: String,
    pub last_error: Option<String>,
    pub pc_code: Option<String>,
    pub created_by_oid: String,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub tokens: Option<UserTokens>,
}

/// A submission to be stored.
pub struct NewSubmission<'a> {
    pub tenant_id: &'a str,
    pub idempotency_key: &'a str,
    /// Empty for a new customer.
    pub customer_id: &'a str,
    pub payload: &'a AttestPayload,
    pub customer: Option<&'a CustomerPayload>,
    pub created_by_oid: &'a str,
    pub created_by_name: &'a str,
    pub tokens: &'a UserTokens,
}

/// What `submission_create` did.
pub enum Created {
    New(Submission),
    /// The idempotency key was used before: the first submission, unchanged.
    Existing(Submission),
}

const COLUMNS: &str = "id, tenant_id, idempotency_key, kind, customer_id, payload, customer_payload, attest_request_id, attestation_id, acceptance_link, state, attempts, next_attempt_at, ms_request_id, ms_correlation_id, \
     last_error, pc_code, created_by_oid, created_by_name, created_at, updated_at, access_token, refresh_token, token_expires_at";

fn submission_of(sealer: &super::sealing::Sealer, r: &AnyRow) -> StoreResult<Submission> {
    let payload: String = r.try_get("payload")?;
    let customer: Option<String> = r.try_get("customer_payload")?;
    let kind: String = r.try_get("kind")?;
    let access: Option<String> = r.try_get("access_token")?;
    let refresh: Option<String> = r.try_get("refresh_token")?;
    let expires: Option<i64> = r.try_get("token_expires_at")?;
    Ok(Submission {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        idempotency_key: r.try_get("idempotency_key")?,
        kind: match kind.as_str() {
            "attest" => SubmissionKind::Attest,
            "create_customer" => SubmissionKind::CreateCustomer,
            other => return Err(StoreError::Corrupt(format!("submission kind {other:?}"))),
        },
        customer_id: r.try_get("customer_id")?,
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?,
        customer: customer
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("customer payload: {e}")))?,
        attest_request_id: r.try_get("attest_request_id")?,
        attestation_id: r.try_get("attestation_id")?,
        acceptance_link: r.try_get("acceptance_link")?,
        state: SubmissionState::parse(&r.try_get::<String, _>("state")?)?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: parse_timestamp(&r.try_get::<String, _>("next_attempt_at")?)?,
        ms_request_id: r.try_get("ms_request_id")?,
        ms_correlation_id: r.try_get("ms_correlation_id")?,
        last_error: r.try_get("last_error")?,
        pc_code: r.try_get("pc_code")?,
        created_by_oid: r.try_get("created_by_oid")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: parse_timestamp(&r.try_get::<String, _>("created_at")?)?,
        updated_at: parse_timestamp(&r.try_get::<String, _>("updated_at")?)?,
        // Tokens sealed with another key are as good as gone: the delivery asks to sign in.
        tokens: access.and_then(|a| sealer.open(&a)).map(|access_token| UserTokens {
            access_token,
            refresh_token: refresh.and_then(|r| sealer.open(&r)),
            expires_at: expires.unwrap_or(0),
        }),
    })
}

impl Store {
    /// Stores a submission under its idempotency key, or returns the one stored before.
    pub async fn submission_create(&self, n: &NewSubmission<'_>) -> StoreResult<Created> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = timestamp(Utc::now());
        let payload = serde_json::to_string(n.payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let customer =
            n.customer.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let kind = if n.customer.is_some() { SubmissionKind::CreateCustomer } else { SubmissionKind::Attest };
        sqlx::query(
            "INSERT INTO submissions (id, tenant_id, idempotency_key, kind, customer_id, payload, customer_payload, attest_request_id, state, attempts, \
             next_attempt_at, ms_request_id, ms_correlation_id, created_by_oid, created_by_name, created_at, updated_at, access_token, refresh_token, \
             token_expires_at) \
             VALUES ($1, $2, $3, $14, $4, $5, $15, $16, 'queued', 0, $6, $7, $8, $9, $10, $6, $6, $11, $12, $13) \
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        )
        .bind(&id)
        .bind(n.tenant_id)
        .bind(n.idempotency_key)
        .bind(n.customer_id)
        .bind(payload)
        .bind(&now)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(n.created_by_oid)
        .bind(n.created_by_name)
        .bind(self.sealer().seal(&n.tokens.access_token))
        .bind(n.tokens.refresh_token.as_deref().map(|r| self.sealer().seal(r)))
        .bind(n.tokens.expires_at)
        .bind(kind.key())
        .bind(customer)
        .bind(uuid::Uuid::new_v4().to_string())
        .execute(self.pool())
        .await?;
        let stored = self
            .submission_by_key(n.tenant_id, n.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a submission vanished after it was stored".into()))?;
        Ok(if stored.id == id { Created::New(stored) } else { Created::Existing(stored) })
    }

    pub async fn submission_by_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Submission>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM submissions WHERE tenant_id = $1 AND idempotency_key = $2"
        ));
        let row = sqlx::query(sql).bind(tenant_id).bind(key).fetch_optional(self.pool()).await?;
        row.as_ref().map(|r| submission_of(self.sealer(), r)).transpose()
    }

    pub async fn submission_get(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Submission>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM submissions WHERE tenant_id = $1 AND id = $2"));
        let row = sqlx::query(sql).bind(tenant_id).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(|r| submission_of(self.sealer(), r)).transpose()
    }

    /// A customer's submissions, newest first.
    pub async fn submissions_for_customer(
        &self,
        tenant_id: &str,
        customer_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<Submission>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM submissions WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        ));
        let rows = sqlx::query(sql).bind(tenant_id).bind(customer_id).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(|r| submission_of(self.sealer(), r)).collect()
    }

    /// Claims one queued submission for `owner` until the lease runs out, if nobody holds it.
    pub async fn submission_claim(
        &self,
        tenant_id: &str,
        id: &str,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<Option<Submission>> {
        let now = Utc::now();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE submissions SET lease_owner = $1, lease_until = $2 \
             WHERE tenant_id = $3 AND id = $4 AND state = 'queued' AND (lease_until IS NULL OR lease_until < $5) RETURNING {COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(owner)
            .bind(timestamp(now + lease))
            .bind(tenant_id)
            .bind(id)
            .bind(timestamp(now))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| submission_of(self.sealer(), r)).transpose()
    }

    /// Claims up to `limit` queued submissions that are due, for `owner`.
    pub async fn submissions_claim_due(
        &self,
        owner: &str,
        lease: Duration,
        limit: i64,
    ) -> StoreResult<Vec<Submission>> {
        let now = Utc::now();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE submissions SET lease_owner = $1, lease_until = $2 \
             WHERE id IN (SELECT id FROM submissions WHERE state = 'queued' AND next_attempt_at <= $3 \
                          AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at LIMIT $4) \
             AND state = 'queued' AND (lease_until IS NULL OR lease_until < $3) RETURNING {COLUMNS}"
        ));
        let rows = sqlx::query(sql)
            .bind(owner)
            .bind(timestamp(now + lease))
            .bind(timestamp(now))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| submission_of(self.sealer(), r)).collect()
    }

    /// Records one more attempt that did not settle it: try again at `next`. Only the
    /// holder of the lease may; returns false when the lease was lost.
    pub async fn submission_retry_later(
        &self,
        id: &str,
        owner: &str,
        next: DateTime<Utc>,
        error: &str,
        tokens: Option<&UserTokens>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE submissions SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3, \
             access_token = COALESCE($4, access_token), refresh_token = COALESCE($5, refresh_token), token_expires_at = COALESCE($6, token_expires_at) \
             WHERE id = $7 AND lease_owner = $8 AND state = 'queued'",
        )
        .bind(timestamp(next))
        .bind(error)
        .bind(timestamp(Utc::now()))
        .bind(tokens.map(|t| self.sealer().seal(&t.access_token)))
        .bind(tokens.and_then(|t| t.refresh_token.as_deref()).map(|r| self.sealer().seal(r)))
        .bind(tokens.map(|t| t.expires_at))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Settles a submission: delivered or failed for good. The delegated tokens are
    /// removed. Only the holder of the lease may; returns false when the lease was lost.
    pub async fn submission_settle(
        &self,
        id: &str,
        owner: &str,
        state: SubmissionState,
        error: Option<&str>,
        pc_code: Option<&str>,
        result: Option<&str>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE submissions SET state = $1, attempts = attempts + 1, last_error = $2, pc_code = $3, result = $4, lease_owner = NULL, lease_until = NULL, \
             updated_at = $5, access_token = NULL, refresh_token = NULL, token_expires_at = NULL \
             WHERE id = $6 AND lease_owner = $7 AND state = 'queued'",
        )
        .bind(state.key())
        .bind(error.map(String::from))
        .bind(pc_code.map(String::from))
        .bind(result.map(String::from))
        .bind(timestamp(Utc::now()))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records the customer Partner Center created for a submission (by its lease holder).
    pub async fn submission_set_customer(&self, id: &str, owner: &str, customer_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE submissions SET customer_id = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND state = 'queued'")
            .bind(customer_id)
            .bind(timestamp(Utc::now()))
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records an enhanced attestation made for a submission (by its lease holder).
    pub async fn submission_set_attestation(
        &self,
        id: &str,
        owner: &str,
        attestation_id: &str,
        link: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE submissions SET attestation_id = $1, acceptance_link = $2, updated_at = $3 WHERE id = $4 AND lease_owner = $5 AND state = 'queued'",
        )
        .bind(attestation_id)
        .bind(link)
        .bind(timestamp(Utc::now()))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Waiting for the customer: look again at `next`, without counting an attempt.
    pub async fn submission_wait(
        &self,
        id: &str,
        owner: &str,
        next: DateTime<Utc>,
        tokens: Option<&UserTokens>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE submissions SET next_attempt_at = $1, last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $2, \
             access_token = COALESCE($3, access_token), refresh_token = COALESCE($4, refresh_token), token_expires_at = COALESCE($5, token_expires_at) \
             WHERE id = $6 AND lease_owner = $7 AND state = 'queued'",
        )
        .bind(timestamp(next))
        .bind(timestamp(Utc::now()))
        .bind(tokens.map(|t| self.sealer().seal(&t.access_token)))
        .bind(tokens.and_then(|t| t.refresh_token.as_deref()).map(|r| self.sealer().seal(r)))
        .bind(tokens.map(|t| t.expires_at))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes a customer's queued submissions due now (Refresh), returning their ids.
    pub async fn submissions_make_due(&self, tenant_id: &str, customer_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "UPDATE submissions SET next_attempt_at = $1 WHERE tenant_id = $2 AND customer_id = $3 AND state = 'queued' RETURNING id",
        )
        .bind(timestamp(Utc::now()))
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// What the portal's own submissions add to a customer's status: whether one is on
    /// its way, and the reason the latest one failed (unless a later one settled it).
    pub async fn submission_status(&self, tenant_id: &str, customer_id: &str) -> StoreResult<SubmissionStatus> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS queued, COALESCE(SUM(CASE WHEN attestation_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS waiting \
             FROM submissions WHERE tenant_id = $1 AND customer_id = $2 AND state = 'queued'",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_one(self.pool())
        .await?;
        let pending: i64 = row.try_get("queued")?;
        let waiting: i64 = row.try_get("waiting")?;
        let latest = sqlx::query(
            "SELECT state, last_error FROM submissions WHERE tenant_id = $1 AND customer_id = $2 AND state <> 'queued' ORDER BY updated_at DESC, id DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_optional(self.pool())
        .await?;
        let failed = match latest {
            Some(r) if r.try_get::<String, _>("state")? == "failed" => {
                Some(r.try_get::<Option<String>, _>("last_error")?.unwrap_or_else(|| "no reason given".into()))
            }
            _ => None,
        };
        Ok(SubmissionStatus { pending: pending > 0, waiting_for_customer: waiting > 0, failed_reason: failed })
    }

    /// How many submissions are in each state (for tests and the review screen).
    pub async fn submission_counts(&self, tenant_id: &str) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM submissions WHERE tenant_id = $1 GROUP BY state ORDER BY state",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("n")?))).collect()
    }
}
