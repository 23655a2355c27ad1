//! The delegated tokens a queued submission keeps, which must not outlive the session they
//! came from: removed when their user signs out or when that session's absolute lifetime
//! ends. A submission that still needs them then waits as `needs_sign_in`, until an
//! attester of the partner sends it with their own tokens. See docs/architecture.md,
//! "Tokens kept with a submission".

use chrono::Utc;
use sqlx::Row;

use super::submissions::{COLUMNS, Submission, TokenHolder};
use super::{Store, StoreResult, timestamp};
use crate::domain::UserTokens;

/// The assignments that remove a row's tokens (`$1` is now, `$2` the reason to show). A
/// submission that waits for the customer's acceptance goes on waiting, with App-only
/// calls, and asks for a sign-in only when it needs a delegated token again; one under
/// way in an attempt right now is parked by that attempt, which finds no tokens next time.
const FORGET_TOKENS: &str = "access_token = NULL, refresh_token = NULL, token_expires_at = NULL, \
     tokens_user_oid = NULL, tokens_user_name = NULL, tokens_kept_until = NULL, updated_at = $1, \
     last_error = CASE WHEN attestation_id IS NULL AND (lease_until IS NULL OR lease_until < $1) THEN $2 ELSE last_error END, \
     state = CASE WHEN attestation_id IS NULL AND (lease_until IS NULL OR lease_until < $1) THEN 'needs_sign_in' ELSE state END";

/// The customers whose submissions an update touched, for their status to be derived again.
fn touched(rows: &[sqlx::any::AnyRow]) -> StoreResult<Vec<(String, String)>> {
    let mut touched: Vec<(String, String)> =
        rows.iter().map(|r| Ok((r.try_get("tenant_id")?, r.try_get("customer_id")?))).collect::<StoreResult<_>>()?;
    touched.retain(|(_, customer)| !customer.is_empty());
    touched.sort();
    touched.dedup();
    Ok(touched)
}

impl Store {
    /// A user signed out: the tokens of theirs that queued submissions keep are removed.
    /// Returns the (tenant, customer) pairs touched.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn submissions_forget_tokens_of(
        &self,
        tenant_id: &str,
        user_oid: &str,
        reason: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE submissions SET {FORGET_TOKENS} \
             WHERE tenant_id = $3 AND tokens_user_oid = $4 AND state = 'queued' AND access_token IS NOT NULL \
             RETURNING tenant_id, customer_id"
        ));
        let now = timestamp(Utc::now());
        let rows = sqlx::query(sql)
            .bind(now)
            .bind(reason)
            .bind(tenant_id)
            .bind(user_oid)
            .fetch_all(&mut *self.reader().await?)
            .await?;
        touched(&rows)
    }

    /// Removes the tokens kept past the end of the session they came from (and those of
    /// rows that recorded no end, from before the end was recorded). Returns the (tenant,
    /// customer) pairs touched.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn submissions_forget_expired_tokens(&self, reason: &str) -> StoreResult<Vec<(String, String)>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE submissions SET {FORGET_TOKENS} \
             WHERE state = 'queued' AND access_token IS NOT NULL AND (tokens_kept_until IS NULL OR tokens_kept_until <= $1) \
             RETURNING tenant_id, customer_id"
        ));
        let rows =
            sqlx::query(sql).bind(timestamp(Utc::now())).bind(reason).fetch_all(&mut *self.reader().await?).await?;
        touched(&rows)
    }

    /// An attempt found the tokens gone or unusable: the submission waits for a sign-in,
    /// with the reason; nothing is tried until someone sends it. Only the lease holder.
    #[tracing::instrument(level = "debug", skip_all, fields(submission_id = %id, %owner), err)]
    pub async fn submission_needs_sign_in(&self, id: &str, owner: &str, reason: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE submissions SET state = 'needs_sign_in', last_error = $1, lease_owner = NULL, lease_until = NULL, updated_at = $2, \
             access_token = NULL, refresh_token = NULL, token_expires_at = NULL, \
             tokens_user_oid = NULL, tokens_user_name = NULL, tokens_kept_until = NULL \
             WHERE id = $3 AND lease_owner = $4 AND state = 'queued'",
        )
        .bind(reason)
        .bind(timestamp(Utc::now()))
        .bind(id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Send now: a submission waiting for a sign-in gets `holder`'s tokens and is queued,
    /// due at once. None when it was not waiting for a sign-in (sent by someone else
    /// meanwhile, or not this tenant's).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, submission_id = %id), err)]
    pub async fn submission_send_with(
        &self,
        tenant_id: &str,
        id: &str,
        tokens: &UserTokens,
        holder: &TokenHolder,
    ) -> StoreResult<Option<Submission>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE submissions SET state = 'queued', next_attempt_at = $1, last_error = NULL, updated_at = $1, \
             access_token = $2, refresh_token = $3, token_expires_at = $4, tokens_user_oid = $5, tokens_user_name = $6, tokens_kept_until = $7 \
             WHERE tenant_id = $8 AND id = $9 AND state = 'needs_sign_in' RETURNING {COLUMNS}"
        ));
        let (access, refresh) = self.sealed_tokens(id, Some(tokens));
        let row = sqlx::query(sql)
            .bind(timestamp(Utc::now()))
            .bind(access)
            .bind(refresh)
            .bind(tokens.expires_at)
            .bind(&holder.oid)
            .bind(&holder.name)
            .bind(timestamp(holder.kept_until))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(|r| self.submission_of(r)).transpose()
    }
}
