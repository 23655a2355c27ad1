//! Server-side sessions for actix-session. The cookie carries only a random key; the
//! table keeps its SHA-256 hash, so a copy of the database cannot be replayed as cookies.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreResult};

#[derive(Clone)]
pub struct DbSessionStore {
    store: Store,
}

impl DbSessionStore {
    pub fn new(store: Store) -> Self {
        DbSessionStore { store }
    }
}

fn hash(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

type State = HashMap<String, String>;

impl Store {
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_load(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT state FROM sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(hash(key))
            .bind(now())
            .fetch_optional(self.pool())
            .await?;
        // A session sealed with another key (after the key changed) is no session.
        Ok(match row {
            Some(r) => self.sealer().open(&r.try_get::<String, _>(0)?),
            None => None,
        })
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_insert(&self, key: &str, state: &str, ttl_seconds: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (id_hash, state, expires_at) VALUES ($1, $2, $3)")
            .bind(hash(key))
            .bind(self.sealer().seal(state))
            .bind(now() + ttl_seconds)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Returns false when the session is gone (expired or signed out).
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_update(&self, key: &str, state: &str, ttl_seconds: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE sessions SET state = $1, expires_at = $2 WHERE id_hash = $3 AND expires_at > $4")
                .bind(self.sealer().seal(state))
                .bind(now() + ttl_seconds)
                .bind(hash(key))
                .bind(now())
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_touch(&self, key: &str, ttl_seconds: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id_hash = $2 AND expires_at > $3")
            .bind(now() + ttl_seconds)
            .bind(hash(key))
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_delete(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(hash(key)).execute(self.pool()).await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_purge_expired(&self) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now()).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let Some(text) = self.store.session_load(session_key.as_ref()).await.map_err(|e| LoadError::Other(e.into()))?
        else {
            return Ok(None);
        };
        serde_json::from_str(&text).map(Some).map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, session_state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let text = serde_json::to_string(&session_state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = new_key();
        self.store.session_insert(&key, &text, ttl.whole_seconds()).await.map_err(|e| SaveError::Other(e.into()))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let text = serde_json::to_string(&session_state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let updated = self
            .store
            .session_update(session_key.as_ref(), &text, ttl.whole_seconds())
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            return Ok(session_key);
        }
        // The row expired or was deleted meanwhile: never revive it under the old key.
        let key = new_key();
        self.store.session_insert(&key, &text, ttl.whole_seconds()).await.map_err(|e| UpdateError::Other(e.into()))?;
        SessionKey::try_from(key).map_err(|e| UpdateError::Other(e.into()))
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        self.store.session_touch(session_key.as_ref(), ttl.whole_seconds()).await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        self.store.session_delete(session_key.as_ref()).await?;
        Ok(())
    }
}
