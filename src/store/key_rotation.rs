//! Key rotation: every sealed value (session state, queued submissions' tokens, the
//! sign-in kept for refreshes) opened
//! with the current or the previous data key, or in the first (v1) format, and sealed
//! again with the current key, bound to its row. docs/sealed-data.md describes the steps.

use sqlx::Row;

use super::sealing::Purpose;
use super::submissions::TokenColumn;
use super::{Store, StoreResult};

/// What a rotation did, in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub sessions: u64,
    pub submissions: u64,
    /// The sign-ins kept for partners' refreshes of all customers.
    pub refresh_sign_ins: u64,
    /// Rows with a value neither key opens: left as they are (the portal reads them as a
    /// signed-out session, or a submission that needs its user to sign in).
    pub unreadable: u64,
}

impl Resealed {
    pub fn rows(&self) -> u64 {
        self.sessions + self.submissions + self.refresh_sign_ins
    }
}

impl Store {
    /// Re-seals every row with the current data key. A row changed meanwhile by the running
    /// portal is left to it (it wrote it with the current key already).
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn reseal_all(&self) -> StoreResult<Resealed> {
        self.session_purge_expired().await?;
        let (sessions, unreadable_sessions) = self.reseal_sessions().await?;
        let (submissions, unreadable_submissions) = self.reseal_submission_tokens().await?;
        let (refresh_sign_ins, unreadable_sign_ins) = self.reseal_refresh_sign_ins().await?;
        let unreadable = unreadable_sessions + unreadable_submissions + unreadable_sign_ins;
        Ok(Resealed { sessions, submissions, refresh_sign_ins, unreadable })
    }

    async fn reseal_sessions(&self) -> StoreResult<(u64, u64)> {
        let rows = sqlx::query("SELECT id_hash, state FROM sessions").fetch_all(&mut *self.reader().await?).await?;
        let (mut done, mut unreadable) = (0, 0);
        for r in rows {
            let (id_hash, state): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let Some(plain) = self.sealer().open_for_rotation(Purpose::Session, &id_hash, &state) else {
                unreadable += 1;
                continue;
            };
            let changed = sqlx::query("UPDATE sessions SET state = $1 WHERE id_hash = $2 AND state = $3")
                .bind(self.sealer().seal(Purpose::Session, &id_hash, &plain))
                .bind(&id_hash)
                .bind(&state)
                .execute(self.pool())
                .await?;
            done += changed.rows_affected();
        }
        Ok((done, unreadable))
    }

    async fn reseal_submission_tokens(&self) -> StoreResult<(u64, u64)> {
        let rows = sqlx::query(
            "SELECT id, access_token, refresh_token FROM submissions WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL",
        )
        .fetch_all(&mut *self.reader().await?)
        .await?;
        let (mut done, mut unreadable) = (0, 0);
        for r in rows {
            let id: String = r.try_get(0)?;
            let access: Option<String> = r.try_get(1)?;
            let refresh: Option<String> = r.try_get(2)?;
            let reseal = |column: TokenColumn, sealed: &Option<String>| match sealed {
                None => Some(None),
                Some(s) => self
                    .sealer()
                    .open_for_rotation(Purpose::Tokens, &column.row(&id), s)
                    .map(|plain| Some(self.seal_token(&id, column, &plain))),
            };
            let (Some(new_access), Some(new_refresh)) =
                (reseal(TokenColumn::Access, &access), reseal(TokenColumn::Refresh, &refresh))
            else {
                unreadable += 1;
                continue;
            };
            let changed = sqlx::query(
                "UPDATE submissions SET access_token = $1, refresh_token = $2 \
                 WHERE id = $3 AND COALESCE(access_token, '') = $4 AND COALESCE(refresh_token, '') = $5",
            )
            .bind(new_access)
            .bind(new_refresh)
            .bind(&id)
            .bind(access.unwrap_or_default())
            .bind(refresh.unwrap_or_default())
            .execute(self.pool())
            .await?;
            done += changed.rows_affected();
        }
        Ok((done, unreadable))
    }
}
