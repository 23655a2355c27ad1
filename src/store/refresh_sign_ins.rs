//! The delegated tokens a partner's refreshes read with: those of the agent who last
//! started a refresh, sealed and bound to the row, kept no longer than that agent's
//! session and removed at their sign-out (the rule of tokens kept with a submission).
//! A refresh that runs on its own (on the schedule, or continued by another instance)
//! has no other sign-in to use. Also why the last scheduled refresh could not start.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::sealing::Purpose;
use super::submissions::TokenHolder;
use super::{Store, StoreResult, parse_timestamp, timestamp};
use crate::domain::UserTokens;

/// The tokens kept for a partner's refreshes, and whose they are.
#[derive(Debug, Clone)]
pub struct RefreshSignIn {
    pub tokens: UserTokens,
    pub user_name: String,
}

/// Why a scheduled refresh did not start, and when that was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSkip {
    pub at: DateTime<Utc>,
    pub reason: String,
}

fn row_of(tenant_id: &str, column: &str) -> String {
    format!("refresh_sign_ins/{tenant_id}/{column}")
}

impl Store {
    /// Keeps `tokens` of `holder` for the tenant's refreshes, in place of any kept before.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_sign_in_keep(
        &self,
        tenant_id: &str,
        holder: &TokenHolder,
        tokens: &UserTokens,
    ) -> StoreResult<()> {
        let seal = |column: &str, plain: &str| self.sealer().seal(Purpose::Tokens, &row_of(tenant_id, column), plain);
        sqlx::query(
            "INSERT INTO refresh_sign_ins (tenant_id, user_oid, user_name, access_token, refresh_token, token_expires_at, kept_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET user_oid = excluded.user_oid, \
             user_name = excluded.user_name, access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
             token_expires_at = excluded.token_expires_at, kept_until = excluded.kept_until",
        )
        .bind(tenant_id)
        .bind(&holder.oid)
        .bind(&holder.name)
        .bind(seal("access_token", &tokens.access_token))
        .bind(tokens.refresh_token.as_deref().map(|r| seal("refresh_token", r)))
        .bind(tokens.expires_at)
        .bind(timestamp(holder.kept_until))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The tokens kept for the tenant's refreshes, unless their session has ended (or
    /// they can't be opened with the data key).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_sign_in(&self, tenant_id: &str) -> StoreResult<Option<RefreshSignIn>> {
        let row = sqlx::query(
            "SELECT user_name, access_token, refresh_token, token_expires_at FROM refresh_sign_ins \
             WHERE tenant_id = $1 AND access_token IS NOT NULL AND kept_until > $2",
        )
        .bind(tenant_id)
        .bind(timestamp(Utc::now()))
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let open = |column: &str, sealed: &str| self.sealer().open(Purpose::Tokens, &row_of(tenant_id, column), sealed);
        let Some(access_token) = open("access_token", &r.try_get::<String, _>("access_token")?) else {
            return Ok(None);
        };
        let refresh: Option<String> = r.try_get("refresh_token")?;
        Ok(Some(RefreshSignIn {
            tokens: UserTokens {
                access_token,
                refresh_token: refresh.and_then(|s| open("refresh_token", &s)),
                expires_at: r.try_get::<Option<i64>, _>("token_expires_at")?.unwrap_or(0),
            },
            user_name: r.try_get::<Option<String>, _>("user_name")?.unwrap_or_default(),
        }))
    }

    /// Renewed tokens replace the kept ones, unless those were removed meanwhile (a
    /// sign-out): a renewal under way then can't bring them back.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_sign_in_renewed(&self, tenant_id: &str, tokens: &UserTokens) -> StoreResult<()> {
        self.refresh_sign_in_replace(tenant_id, None, tokens).await
    }

    /// A session of `user_oid` renewed its tokens: when the kept ones are theirs, the
    /// renewed ones replace them (a provider may take a refresh token once only).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_sign_in_renewed_by(
        &self,
        tenant_id: &str,
        user_oid: &str,
        tokens: &UserTokens,
    ) -> StoreResult<()> {
        self.refresh_sign_in_replace(tenant_id, Some(user_oid), tokens).await
    }

    async fn refresh_sign_in_replace(
        &self,
        tenant_id: &str,
        user_oid: Option<&str>,
        tokens: &UserTokens,
    ) -> StoreResult<()> {
        let seal = |column: &str, plain: &str| self.sealer().seal(Purpose::Tokens, &row_of(tenant_id, column), plain);
        sqlx::query(
            "UPDATE refresh_sign_ins SET access_token = $1, refresh_token = COALESCE($2, refresh_token), token_expires_at = $3 \
             WHERE tenant_id = $4 AND access_token IS NOT NULL AND ($5 = '' OR user_oid = $5)",
        )
        .bind(seal("access_token", &tokens.access_token))
        .bind(tokens.refresh_token.as_deref().map(|r| seal("refresh_token", r)))
        .bind(tokens.expires_at)
        .bind(tenant_id)
        .bind(user_oid.unwrap_or(""))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The user signed out: their tokens kept for refreshes go.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_sign_in_forget_of(&self, tenant_id: &str, user_oid: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refresh_sign_ins SET access_token = NULL, refresh_token = NULL, token_expires_at = NULL \
             WHERE tenant_id = $1 AND user_oid = $2",
        )
        .bind(tenant_id)
        .bind(user_oid)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes tokens kept past the end of the session they came from.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn refresh_sign_ins_forget_expired(&self) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refresh_sign_ins SET access_token = NULL, refresh_token = NULL, token_expires_at = NULL \
             WHERE access_token IS NOT NULL AND kept_until <= $1",
        )
        .bind(timestamp(Utc::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records why the tenant's scheduled refresh did not start (None: it started).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_schedule_skipped(&self, tenant_id: &str, reason: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE refresh_sign_ins SET skipped_at = $1, skipped_reason = $2 WHERE tenant_id = $3")
            .bind(reason.map(|_| timestamp(Utc::now())))
            .bind(reason)
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Why the tenant's last scheduled refresh did not start, if it did not.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_schedule_skip(&self, tenant_id: &str) -> StoreResult<Option<ScheduleSkip>> {
        let row = sqlx::query(
            "SELECT skipped_at, skipped_reason FROM refresh_sign_ins WHERE tenant_id = $1 AND skipped_at IS NOT NULL",
        )
        .bind(tenant_id)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(ScheduleSkip {
            at: parse_timestamp(&r.try_get::<String, _>("skipped_at")?)?,
            reason: r.try_get::<Option<String>, _>("skipped_reason")?.unwrap_or_default(),
        }))
    }

    /// Tenants whose refreshes have a sign-in row (someone started one once), none of
    /// whose runs is running or began after `now - every`: due for a scheduled refresh.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn refresh_tenants_due(&self, every: Duration) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT s.tenant_id FROM refresh_sign_ins s WHERE NOT EXISTS (SELECT 1 FROM refresh_runs r \
             WHERE r.tenant_id = s.tenant_id AND (r.state = 'running' OR r.started_at > $1))",
        )
        .bind(timestamp(Utc::now() - every))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Key rotation: each kept sign-in opened (with either key, or in the first format)
    /// and sealed again with the current key. Returns (re-sealed, unreadable) rows.
    pub(super) async fn reseal_refresh_sign_ins(&self) -> StoreResult<(u64, u64)> {
        let rows = sqlx::query(
            "SELECT tenant_id, access_token, refresh_token FROM refresh_sign_ins WHERE access_token IS NOT NULL",
        )
        .fetch_all(&mut *self.reader().await?)
        .await?;
        let (mut done, mut unreadable) = (0, 0);
        for r in rows {
            let (tenant_id, access): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let refresh: Option<String> = r.try_get(2)?;
            let reseal = |column: &str, sealed: &str| {
                let row = row_of(&tenant_id, column);
                let plain = self.sealer().open_for_rotation(Purpose::Tokens, &row, sealed)?;
                Some(self.sealer().seal(Purpose::Tokens, &row, &plain))
            };
            let new_refresh = match &refresh {
                Some(sealed) => reseal("refresh_token", sealed).map(Some),
                None => Some(None),
            };
            let (Some(new_access), Some(new_refresh)) = (reseal("access_token", &access), new_refresh) else {
                unreadable += 1;
                continue;
            };
            let changed = sqlx::query(
                "UPDATE refresh_sign_ins SET access_token = $1, refresh_token = $2 \
                 WHERE tenant_id = $3 AND access_token = $4 AND COALESCE(refresh_token, '') = $5",
            )
            .bind(new_access)
            .bind(new_refresh)
            .bind(&tenant_id)
            .bind(&access)
            .bind(refresh.unwrap_or_default())
            .execute(self.pool())
            .await?;
            done += changed.rows_affected();
        }
        Ok((done, unreadable))
    }
}
