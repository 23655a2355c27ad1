//! API keys of the readiness API: only a hash of each key is stored, with a short prefix
//! that names it on the settings page. Every statement that lists or changes keys takes
//! the partner tenant; the lookup of a request's key goes by its hash alone (unique).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreResult, parse_timestamp, timestamp};

/// A key to be stored: its hash, never the key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    /// SHA-256 of the whole key, lower-case hex.
    pub key_hash: String,
    pub created_by_oid: String,
    pub created_by_name: String,
}

/// A key as the settings page and the API's check read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by_name: Option<String>,
}

impl ApiKeyRecord {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

const COLUMNS: &str =
    "id, tenant_id, name, prefix, created_by_name, created_at, last_used_at, revoked_at, revoked_by_name";

fn optional_time(r: &AnyRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    r.try_get::<Option<String>, _>(column)?.as_deref().map(parse_timestamp).transpose()
}

fn record_of(r: &AnyRow) -> StoreResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        prefix: r.try_get("prefix")?,
        created_by_name: r.try_get("created_by_name")?,
        created_at: parse_timestamp(&r.try_get::<String, _>("created_at")?)?,
        last_used_at: optional_time(r, "last_used_at")?,
        revoked_at: optional_time(r, "revoked_at")?,
        revoked_by_name: r.try_get("revoked_by_name")?,
    })
}

/// How many keys the settings page lists at most: a partner has a handful.
pub const API_KEYS_LISTED: i64 = 500;

impl Store {
    /// Stores a new key; returns its id.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %k.tenant_id), err)]
    pub async fn api_key_insert(&self, k: &NewApiKey, at: DateTime<Utc>) -> StoreResult<String> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_by_oid, created_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&k.tenant_id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(&k.created_by_oid)
        .bind(&k.created_by_name)
        .bind(timestamp(at))
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// A tenant's keys, revoked ones included, newest first (at most [`API_KEYS_LISTED`]).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn api_keys_of(&self, tenant_id: &str) -> StoreResult<Vec<ApiKeyRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ));
        let rows = sqlx::query(sql).bind(tenant_id).bind(API_KEYS_LISTED).fetch_all(&mut *self.reader().await?).await?;
        rows.iter().map(record_of).collect()
    }

    /// One of the tenant's keys.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn api_key_get(&self, tenant_id: &str, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2"));
        let row = sqlx::query(sql).bind(tenant_id).bind(id).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(record_of).transpose()
    }

    /// The key with this hash, revoked or not, whatever its tenant.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn api_key_by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1"));
        let row = sqlx::query(sql).bind(key_hash).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(record_of).transpose()
    }

    /// Revokes one of the tenant's keys; false when it was revoked already or is not the
    /// tenant's.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn api_key_revoke(
        &self,
        tenant_id: &str,
        id: &str,
        by_name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1, revoked_by_name = $2 WHERE tenant_id = $3 AND id = $4 AND revoked_at IS NULL",
        )
        .bind(timestamp(at))
        .bind(by_name)
        .bind(tenant_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a use of the key at `at` unless one at or after `not_before` is recorded
    /// already (another request or instance was first); true when it wrote.
    #[tracing::instrument(level = "debug", skip_all, fields(%id), err)]
    pub async fn api_key_mark_used(&self, id: &str, at: DateTime<Utc>, not_before: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(timestamp(at))
        .bind(id)
        .bind(timestamp(not_before))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
