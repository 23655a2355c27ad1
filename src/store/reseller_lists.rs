//! Each indirect provider's indirect resellers, as last read from Partner Center, with the
//! time of that read: one row per partner tenant, the list as JSON. Shared by every
//! instance of the portal on the database (docs/sessions.md, "Several instances").

use super::rows::RowRef;
use super::{Store, StoreResult, parse_timestamp, timestamp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An indirect reseller as kept in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptReseller {
    pub id: String,
    pub name: String,
    pub mpn_id: Option<String>,
}

/// A partner tenant's kept list and when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResellerList {
    pub resellers: Vec<KeptReseller>,
    pub read_at: DateTime<Utc>,
}

impl Store {
    /// The tenant's kept list, if any. A list that no longer reads (written by a later
    /// version) counts as none: it is read again from Partner Center.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn reseller_list(&self, tenant_id: &str) -> StoreResult<Option<ResellerList>> {
        const SQL: &str = "SELECT resellers, read_at FROM reseller_lists WHERE tenant_id = $1";
        let pair = |r: RowRef<'_>| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?));
        let Some((list, read_at)) = self.read_row(SQL, &[tenant_id.into()], pair).await? else { return Ok(None) };
        let read_at = parse_timestamp(&read_at)?;
        Ok(serde_json::from_str(&list).ok().map(|resellers| ResellerList { resellers, read_at }))
    }

    /// Keeps the tenant's list as read at `read_at`, in place of the one before.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn reseller_list_keep(
        &self,
        tenant_id: &str,
        resellers: &[KeptReseller],
        read_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(resellers).map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO reseller_lists (tenant_id, resellers, read_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET resellers = excluded.resellers, read_at = excluded.read_at",
        )
        .bind(tenant_id)
        .bind(json)
        .bind(timestamp(read_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
