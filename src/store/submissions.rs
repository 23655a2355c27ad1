//! Submissions: what an agent asked for, stored before anything is sent, with what became
//! of it. The same rows are the delivery queue (`submission_queue`).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{Param, RowRef};
use super::sealing::Purpose;
use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};
use crate::domain::{Request, UserTokens};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionState {
    /// Saved; waiting for (another) delivery attempt.
    Queued,
    /// Partner Center took it.
    Delivered,
    /// Partner Center refused it; the reason is kept. Final.
    Failed,
    /// Not sent, and not tried again: the delegated tokens it needs are gone (its user
    /// signed out, or the session's absolute lifetime ended). It waits until an attester
    /// of the partner sends it with their own sign-in.
    NeedsSignIn,
}

impl SubmissionState {
    pub fn key(self) -> &'static str {
        match self {
            SubmissionState::Queued => "queued",
            SubmissionState::Delivered => "delivered",
            SubmissionState::Failed => "failed",
            SubmissionState::NeedsSignIn => "needs_sign_in",
        }
    }
    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "queued" => Ok(SubmissionState::Queued),
            "delivered" => Ok(SubmissionState::Delivered),
            "failed" => Ok(SubmissionState::Failed),
            "needs_sign_in" => Ok(SubmissionState::NeedsSignIn),
            other => Err(StoreError::Corrupt(format!("submission state {other:?}"))),
        }
    }
}

/// What the portal's own submissions say of a customer's status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionStatus {
    pub pending: bool,
    pub waiting_for_customer: bool,
    /// One of them waits for an attester to sign in and send it.
    pub needs_sign_in: bool,
    pub failed_reason: Option<String>,
}

/// Whose delegated tokens a queued submission keeps, and until when it may keep them (the
/// absolute end of that person's session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    pub oid: String,
    pub name: String,
    pub kept_until: DateTime<Utc>,
}

/// A stored submission. `Debug` shows no token (`UserTokens` redacts them).
#[derive(Debug, Clone)]
pub struct Submission {
    pub id: String,
    pub tenant_id: String,
    pub idempotency_key: String,
    /// What was asked for, as the form was parsed into it.
    pub request: Request,
    /// The customer; for a new customer, known once Partner Center has created it.
    pub customer_id: Option<String>,
    /// The `MS-RequestId` of the attestation that follows a new customer's creation.
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
    /// The delegated tokens to deliver it with, while they may be kept.
    pub tokens: Option<UserTokens>,
    /// Whose they are, while they are kept.
    pub token_holder: Option<TokenHolder>,
}

/// A submission to be stored.
pub struct NewSubmission<'a> {
    pub tenant_id: &'a str,
    pub idempotency_key: &'a str,
    /// None for a new customer.
    pub customer_id: Option<&'a str>,
    pub request: &'a Request,
    pub created_by_oid: &'a str,
    pub created_by_name: &'a str,
    pub tokens: &'a UserTokens,
    /// The end of the submitter's session: the tokens are not kept past it.
    pub tokens_kept_until: DateTime<Utc>,
}

/// What `submission_create` did.
pub enum Created {
    New(Submission),
    /// The idempotency key was used before: the first submission, unchanged.
    Existing(Submission),
}

pub(super) const COLUMNS: &str = "id, tenant_id, idempotency_key, customer_id, payload, attest_request_id, attestation_id, acceptance_link, state, attempts, next_attempt_at, ms_request_id, ms_correlation_id, \
     last_error, pc_code, created_by_oid, created_by_name, created_at, updated_at, access_token, refresh_token, token_expires_at, \
     tokens_user_oid, tokens_user_name, tokens_kept_until";

/// Whose tokens a row keeps, while it may keep them.
fn holder_of(r: RowRef<'_>) -> StoreResult<Option<TokenHolder>> {
    let oid: Option<String> = r.try_get("tokens_user_oid")?;
    let name: Option<String> = r.try_get("tokens_user_name")?;
    let until: Option<String> = r.try_get("tokens_kept_until")?;
    let (Some(oid), Some(until)) = (oid, until) else { return Ok(None) };
    let kept_until = parse_timestamp(&until)?;
    Ok((kept_until > Utc::now()).then(|| TokenHolder { oid, name: name.unwrap_or_default(), kept_until }))
}

/// The two sealed token columns of a submission; each value is bound to its submission
/// and its column (docs/sealed-data.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TokenColumn {
    Access,
    Refresh,
}

impl TokenColumn {
    /// The associated data of a value of this column in submission `id`.
    pub(super) fn row(self, id: &str) -> String {
        match self {
            TokenColumn::Access => format!("submissions/{id}/access_token"),
            TokenColumn::Refresh => format!("submissions/{id}/refresh_token"),
        }
    }
}

fn kind_of(r: &Request) -> &'static str {
    match r {
        Request::Attest(_) => "attest",
        Request::CreateCustomer(_) => "create_customer",
    }
}

impl Store {
    /// A stored row as a submission; tokens sealed with another key are as good as gone
    /// (the delivery then asks to sign in).
    pub(super) fn submission_of<'r>(&self, r: impl Into<RowRef<'r>>) -> StoreResult<Submission> {
        let r = r.into();
        let payload: String = r.try_get("payload")?;
        let customer_id: String = r.try_get("customer_id")?;
        Ok(Submission {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            idempotency_key: r.try_get("idempotency_key")?,
            request: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(format!("submission: {e}")))?,
            customer_id: Some(customer_id).filter(|c| !c.is_empty()),
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
            tokens: self.tokens_of(r)?,
            token_holder: holder_of(r)?,
        })
    }

    /// The kept tokens, opened for the row they were sealed for (a value copied from
    /// another submission does not open), unless their time is up: past the end of the
    /// session they came from they count as gone even before the sweeper removes them.
    fn tokens_of(&self, r: RowRef<'_>) -> StoreResult<Option<UserTokens>> {
        if holder_of(r)?.is_none() {
            return Ok(None);
        }
        let id: String = r.try_get("id")?;
        let access: Option<String> = r.try_get("access_token")?;
        let refresh: Option<String> = r.try_get("refresh_token")?;
        let expires: Option<i64> = r.try_get("token_expires_at")?;
        Ok(access.and_then(|a| self.open_token(&id, TokenColumn::Access, &a)).map(|access_token| UserTokens {
            access_token,
            refresh_token: refresh.and_then(|r| self.open_token(&id, TokenColumn::Refresh, &r)),
            expires_at: expires.unwrap_or(0),
        }))
    }

    /// A token sealed for its submission and column.
    /// Both tokens sealed for submission `id`, ready to bind; None for what is absent.
    pub(super) fn sealed_tokens(&self, id: &str, tokens: Option<&UserTokens>) -> (Option<String>, Option<String>) {
        let access = tokens.map(|t| self.seal_token(id, TokenColumn::Access, &t.access_token));
        let refresh =
            tokens.and_then(|t| t.refresh_token.as_deref()).map(|r| self.seal_token(id, TokenColumn::Refresh, r));
        (access, refresh)
    }

    pub(super) fn seal_token(&self, id: &str, column: TokenColumn, token: &str) -> String {
        self.sealer().seal(Purpose::Tokens, &column.row(id), token)
    }

    pub(super) fn open_token(&self, id: &str, column: TokenColumn, sealed: &str) -> Option<String> {
        self.sealer().open(Purpose::Tokens, &column.row(id), sealed)
    }

    /// Stores a submission under its idempotency key, or returns the one stored before.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = n.tenant_id), err)]
    pub async fn submission_create(&self, n: &NewSubmission<'_>) -> StoreResult<Created> {
        let id = uuid::Uuid::new_v4().to_string();
        let (access, refresh) = self.sealed_tokens(&id, Some(n.tokens));
        let now = timestamp(Utc::now());
        let payload = serde_json::to_string(n.request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO submissions (id, tenant_id, idempotency_key, kind, customer_id, payload, attest_request_id, state, attempts, \
             next_attempt_at, ms_request_id, ms_correlation_id, created_by_oid, created_by_name, created_at, updated_at, access_token, refresh_token, \
             token_expires_at, tokens_user_oid, tokens_user_name, tokens_kept_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9, $10, $11, $12, $8, $8, $13, $14, $15, $11, $12, $16) \
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        )
        .bind(&id)
        .bind(n.tenant_id)
        .bind(n.idempotency_key)
        .bind(kind_of(n.request))
        .bind(n.customer_id.unwrap_or(""))
        .bind(payload)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&now)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(n.created_by_oid)
        .bind(n.created_by_name)
        .bind(access)
        .bind(refresh)
        .bind(n.tokens.expires_at)
        .bind(timestamp(n.tokens_kept_until))
        .execute(self.pool())
        .await?;
        let stored = self
            .submission_by_key(n.tenant_id, n.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a submission vanished after it was stored".into()))?;
        Ok(if stored.id == id { Created::New(stored) } else { Created::Existing(stored) })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn submission_by_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Submission>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM submissions WHERE tenant_id = $1 AND idempotency_key = $2"
        ));
        let row = sqlx::query(sql).bind(tenant_id).bind(key).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(|r| self.submission_of(r)).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, submission_id = %id), err)]
    pub async fn submission_get(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Submission>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM submissions WHERE tenant_id = $1 AND id = $2"));
        let row = sqlx::query(sql).bind(tenant_id).bind(id).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(|r| self.submission_of(r)).transpose()
    }

    /// A customer's submissions, newest first.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn submissions_for_customer(
        &self,
        tenant_id: &str,
        customer_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<Submission>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM submissions WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let params = [Param::from(tenant_id), Param::from(customer_id), Param::from(limit)];
        self.read_rows(&sql, &params, |r| self.submission_of(r)).await
    }

    /// What the portal's own submissions add to a customer's status: whether one is on
    /// its way, and the reason the latest one failed (unless a later one settled it).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn submission_status(&self, tenant_id: &str, customer_id: &str) -> StoreResult<SubmissionStatus> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS queued, \
             COALESCE(SUM(CASE WHEN state = 'queued' AND attestation_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS waiting, \
             COALESCE(SUM(CASE WHEN state = 'needs_sign_in' THEN 1 ELSE 0 END), 0) AS needs_sign_in \
             FROM submissions WHERE tenant_id = $1 AND customer_id = $2 AND state IN ('queued', 'needs_sign_in')",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_one(&mut *self.reader().await?)
        .await?;
        let pending: i64 = row.try_get("queued")?;
        let waiting: i64 = row.try_get("waiting")?;
        let needs_sign_in: i64 = row.try_get("needs_sign_in")?;
        let latest = sqlx::query(
            "SELECT state, last_error FROM submissions WHERE tenant_id = $1 AND customer_id = $2 AND state IN ('delivered', 'failed') ORDER BY updated_at DESC, id DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        let failed = match latest {
            Some(r) if r.try_get::<String, _>("state")? == "failed" => {
                Some(r.try_get::<Option<String>, _>("last_error")?.unwrap_or_else(|| "no reason given".into()))
            }
            _ => None,
        };
        Ok(SubmissionStatus {
            pending: pending > 0,
            waiting_for_customer: waiting > 0,
            needs_sign_in: needs_sign_in > 0,
            failed_reason: failed,
        })
    }

    /// How many submissions are in each state (for tests and the review screen).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn submission_counts(&self, tenant_id: &str) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM submissions WHERE tenant_id = $1 GROUP BY state ORDER BY state",
        )
        .bind(tenant_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("state")?, r.try_get("n")?))).collect()
    }
}
