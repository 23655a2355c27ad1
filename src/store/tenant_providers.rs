//! The indirect provider of a partner tenant that is an indirect reseller, by name, kept
//! beside the partner type it was read with (Partner Center's relationships call).

use sqlx::Row;

use super::{Store, StoreResult};

impl Store {
    /// Keeps (or clears, with None) the tenant's indirect provider; the tenant's row is
    /// written first by `tenant_upsert`.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn tenant_provider_set(&self, tenant_id: &str, provider: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE partner_tenants SET indirect_provider = $1 WHERE tenant_id = $2")
            .bind(provider.map(str::to_string))
            .bind(tenant_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The tenant's indirect provider, when one was named.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn tenant_provider(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT indirect_provider FROM partner_tenants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>, _>(0)?,
            None => None,
        })
    }
}
