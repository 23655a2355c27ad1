//! Partner tenants the portal has seen: name, partner type and when customers were read.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::RowRef;
use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};
use crate::domain::PartnerType;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    pub tenant_id: String,
    pub name: String,
    pub partner_type: PartnerType,
    pub type_checked_at: DateTime<Utc>,
    pub customers_synced_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Remembers a partner user's name at sign-in.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %oid), err)]
    pub async fn partner_user_seen(&self, tenant_id: &str, oid: &str, name: &str, email: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO partner_users (tenant_id, oid, name, email, last_seen_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, oid) DO UPDATE SET name = excluded.name, email = excluded.email, last_seen_at = excluded.last_seen_at",
        )
        .bind(tenant_id)
        .bind(oid)
        .bind(name)
        .bind(email)
        .bind(timestamp(Utc::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Counts one more sign-out of the user.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %oid), err)]
    pub async fn partner_user_signed_out(&self, tenant_id: &str, oid: &str) -> StoreResult<()> {
        sqlx::query("UPDATE partner_users SET sign_outs = sign_outs + 1 WHERE tenant_id = $1 AND oid = $2")
            .bind(tenant_id)
            .bind(oid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many times the user has signed out (0 for a user not seen).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %oid), err)]
    pub async fn partner_user_sign_outs(&self, tenant_id: &str, oid: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT sign_outs FROM partner_users WHERE tenant_id = $1 AND oid = $2")
            .bind(tenant_id)
            .bind(oid)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }

    /// The name of a partner user of this tenant, when they have signed in here.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %oid), err)]
    pub async fn partner_user_name(&self, tenant_id: &str, oid: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT name FROM partner_users WHERE tenant_id = $1 AND oid = $2")
            .bind(tenant_id)
            .bind(oid)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn tenant_upsert(&self, tenant_id: &str, name: &str, partner_type: PartnerType) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO partner_tenants (tenant_id, name, partner_type, type_checked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name, partner_type = excluded.partner_type, type_checked_at = excluded.type_checked_at",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(partner_type.as_str())
        .bind(timestamp(Utc::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn tenant_get(&self, tenant_id: &str) -> StoreResult<Option<TenantRecord>> {
        const SQL: &str =
            "SELECT name, partner_type, type_checked_at, customers_synced_at FROM partner_tenants WHERE tenant_id = $1";
        self.read_row(SQL, &[tenant_id.into()], |r| tenant_of(tenant_id, r)).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn tenant_mark_synced(&self, tenant_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE partner_tenants SET customers_synced_at = $1 WHERE tenant_id = $2")
            .bind(timestamp(at))
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records that the tenant's customers were loaded at `at` without a read from
    /// Partner Center (the `seed` command): the tenant is added, when new, with a partner
    /// type checked long ago, so that the first sign-in reads its type again.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn tenant_mark_seeded(
        &self,
        tenant_id: &str,
        name: &str,
        partner_type: PartnerType,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO partner_tenants (tenant_id, name, partner_type, type_checked_at, customers_synced_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET customers_synced_at = excluded.customers_synced_at",
        )
        .bind(tenant_id)
        .bind(name)
        .bind(partner_type.as_str())
        .bind(timestamp(DateTime::<Utc>::UNIX_EPOCH))
        .bind(timestamp(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// A tenant's record from its row.
fn tenant_of(tenant_id: &str, r: RowRef<'_>) -> StoreResult<TenantRecord> {
    let pt: String = r.try_get("partner_type")?;
    let synced: Option<String> = r.try_get("customers_synced_at")?;
    Ok(TenantRecord {
        tenant_id: tenant_id.to_string(),
        name: r.try_get("name")?,
        partner_type: PartnerType::parse(&pt).ok_or_else(|| StoreError::Corrupt(format!("partner type {pt:?}")))?,
        type_checked_at: parse_timestamp(&r.try_get::<String, _>("type_checked_at")?)?,
        customers_synced_at: synced.as_deref().map(parse_timestamp).transpose()?,
    })
}
