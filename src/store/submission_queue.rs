//! The delivery queue over the submissions table: claims with leases (so two instances
//! never deliver the same submission at once), and what each attempt came to. Only the
//! holder of a lease may record an attempt; each call says whether it still held it.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::submissions::{COLUMNS, Submission, SubmissionState};
use super::{Store, StoreResult, timestamp};
use crate::domain::UserTokens;

/// How an attempt ended, as the queue records it.
pub enum Settled<'a> {
    Delivered,
    /// Refused for good, with the reason and Partner Center's code.
    Failed {
        reason: &'a str,
        code: Option<&'a str>,
    },
}

/// The assignments that put renewed tokens (parameters `$first` to `$first + 2`: access
/// token, refresh token, expiry; NULL when not renewed) in place of the kept ones. Tokens
/// already removed (by a sign-out, or the end of their session) stay removed: an attempt
/// under way when they went can't bring them back.
fn renewed_tokens(first: u8) -> String {
    let (a, r, e) = (first, first + 1, first + 2);
    format!(
        "access_token = CASE WHEN access_token IS NULL THEN NULL ELSE COALESCE(${a}, access_token) END, \
         refresh_token = CASE WHEN access_token IS NULL THEN NULL ELSE COALESCE(${r}, refresh_token) END, \
         token_expires_at = CASE WHEN access_token IS NULL THEN NULL ELSE COALESCE(${e}, token_expires_at) END"
    )
}

impl Store {
    /// Claims one queued submission for `owner` until the lease runs out, if nobody holds it.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, submission_id = %id, %owner), err)]
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
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(|r| self.submission_of(r)).transpose()
    }

    /// Claims up to `limit` queued submissions that are due, for `owner`.
    #[tracing::instrument(level = "debug", skip_all, fields(%owner, %limit), err)]
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
            .fetch_all(&mut *self.reader().await?)
            .await?;
        rows.iter().map(|r| self.submission_of(r)).collect()
    }

    /// Records one more attempt that did not settle it: try again at `next`. Renewed
    /// tokens replace the stored ones.
    #[tracing::instrument(level = "debug", skip_all, fields(submission_id = %id, %owner), err)]
    pub async fn submission_retry_later(
        &self,
        id: &str,
        owner: &str,
        next: DateTime<Utc>,
        error: &str,
        tokens: Option<&UserTokens>,
    ) -> StoreResult<bool> {
        self.submission_release(id, owner, next, Some(error), tokens).await
    }

    /// Gives a leased submission back to the queue, due at `next`: after a failed attempt
    /// (`error`, counted) or while it waits (no error, not counted). Only the lease holder.
    async fn submission_release(
        &self,
        id: &str,
        owner: &str,
        next: DateTime<Utc>,
        error: Option<&str>,
        tokens: Option<&UserTokens>,
    ) -> StoreResult<bool> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE submissions SET {counted}next_attempt_at = $1, last_error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3, \
             {renewed} WHERE id = $7 AND lease_owner = $8 AND state = 'queued'",
            counted = if error.is_some() { "attempts = attempts + 1, " } else { "" },
            renewed = renewed_tokens(4)
        ));
        let (access, refresh) = self.sealed_tokens(id, tokens);
        let done = sqlx::query(sql)
            .bind(timestamp(next))
            .bind(error)
            .bind(timestamp(Utc::now()))
            .bind(access)
            .bind(refresh)
            .bind(tokens.map(|t| t.expires_at))
            .bind(id)
            .bind(owner)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Settles a submission: delivered or failed for good. The delegated tokens are removed.
    #[tracing::instrument(level = "debug", skip_all, fields(submission_id = %id, %owner), err)]
    pub async fn submission_settle(&self, id: &str, owner: &str, how: Settled<'_>) -> StoreResult<bool> {
        let (state, error, code) = match how {
            Settled::Delivered => (SubmissionState::Delivered, None, None),
            Settled::Failed { reason, code } => (SubmissionState::Failed, Some(reason), code),
        };
        let done = sqlx::query(
            "UPDATE submissions SET state = $1, attempts = attempts + 1, last_error = $2, pc_code = $3, lease_owner = NULL, lease_until = NULL, \
             updated_at = $4, access_token = NULL, refresh_token = NULL, token_expires_at = NULL, \
             tokens_user_oid = NULL, tokens_user_name = NULL, tokens_kept_until = NULL \
             WHERE id = $5 AND lease_owner = $6 AND state = 'queued'",
        )
        .bind(state.key())
        .bind(error.map(String::from))
        .bind(code.map(String::from))
        .bind(timestamp(Utc::now()))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records the customer Partner Center created for a submission.
    #[tracing::instrument(level = "debug", skip_all, fields(submission_id = %id, %owner, %customer_id), err)]
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

    /// Records an enhanced attestation made for a submission.
    #[tracing::instrument(level = "debug", skip_all, fields(submission_id = %id, %owner, %attestation_id), err)]
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
    #[tracing::instrument(level = "debug", skip_all, fields(submission_id = %id, %owner), err)]
    pub async fn submission_wait(
        &self,
        id: &str,
        owner: &str,
        next: DateTime<Utc>,
        tokens: Option<&UserTokens>,
    ) -> StoreResult<bool> {
        self.submission_release(id, owner, next, None, tokens).await
    }

    /// Makes a customer's queued submissions due now (Refresh), returning their ids.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn submissions_make_due(&self, tenant_id: &str, customer_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "UPDATE submissions SET next_attempt_at = $1 WHERE tenant_id = $2 AND customer_id = $3 AND state = 'queued' RETURNING id",
        )
        .bind(timestamp(Utc::now()))
        .bind(tenant_id)
        .bind(customer_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}
