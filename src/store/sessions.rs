//! Server-side sessions for actix-session. The cookie carries only a random key; the
//! table keeps its SHA-256 hash, so a copy of the database cannot be replayed as cookies.
//! A session whose row is gone (signed out, idle too long) is never written again: a
//! request that was under way when it ended cannot bring it back, and a session in use
//! extends its idle deadline at most once a minute (docs/sessions.md).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::rows::Param;
use super::sealing::Purpose;
use super::{Store, StoreResult};

/// The idle deadline is moved only when it would move by at least this much: a session
/// in use costs at most one write a minute, not one per request (docs/sessions.md).
pub const SESSION_EXTENSION_STEP_SECONDS: i64 = 60;

/// What the store knows about the session of the request being served.
struct RequestSession {
    /// The store refused to write the session because it had ended meanwhile.
    ended: Cell<bool>,
    /// The session loaded for this request: its id hash and the idle deadline it had.
    loaded: RefCell<Option<(String, i64)>>,
}

tokio::task_local! {
    /// Set while a request is served.
    static REQUEST_SESSION: RequestSession;
}

/// Runs `request` (a request being served, sessions and all) and says whether its session
/// ended while it ran, so that no cookie is issued for it.
pub async fn noting_ended_session<F: Future>(request: F) -> (F::Output, bool) {
    let scope = RequestSession { ended: Cell::new(false), loaded: RefCell::new(None) };
    REQUEST_SESSION
        .scope(scope, async {
            let out = request.await;
            (out, REQUEST_SESSION.with(|r| r.ended.get()))
        })
        .await
}

fn note_session_ended() {
    // Outside a request (the store used on its own) there is nobody to tell.
    let _ = REQUEST_SESSION.try_with(|r| r.ended.set(true));
}

fn note_session_loaded(id_hash: String, expires_at: i64) {
    let _ = REQUEST_SESSION.try_with(|r| *r.loaded.borrow_mut() = Some((id_hash, expires_at)));
}

/// The idle deadline this request's session had when it was loaded, if it is `id_hash`.
fn loaded_deadline(id_hash: &str) -> Option<i64> {
    REQUEST_SESSION
        .try_with(|r| r.loaded.borrow().as_ref().filter(|(h, _)| h == id_hash).map(|(_, at)| *at))
        .ok()
        .flatten()
}

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

/// Every request of a signed-in user reads its session by the primary key, and nothing else.
const LOAD_SQL: &str = "SELECT state, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";

/// Moves the idle deadline only when it moves by at least the step ($4 = new deadline − step).
const TOUCH_SQL: &str =
    "UPDATE sessions SET expires_at = $1 WHERE id_hash = $2 AND expires_at > $3 AND expires_at <= $4";

impl Store {
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_load(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.session_load_with_deadline(key).await?.map(|(state, _)| state))
    }

    /// The session's state and its idle deadline (seconds since the epoch), when it is live.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_load_with_deadline(&self, key: &str) -> StoreResult<Option<(String, i64)>> {
        let id_hash = hash(key);
        let params = [Param::from(id_hash.as_str()), Param::from(now())];
        let found =
            self.read_row(LOAD_SQL, &params, |r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?))).await?;
        let Some((sealed, deadline)) = found else { return Ok(None) };
        // A session sealed with another key (after the key changed), or for another row, is
        // no session.
        let state = self.sealer().open(Purpose::Session, &id_hash, &sealed);
        Ok(state.map(|s| (s, deadline)))
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_insert(&self, key: &str, state: &str, ttl_seconds: i64) -> StoreResult<()> {
        let id_hash = hash(key);
        sqlx::query("INSERT INTO sessions (id_hash, state, expires_at) VALUES ($1, $2, $3)")
            .bind(&id_hash)
            .bind(self.sealer().seal(Purpose::Session, &id_hash, state))
            .bind(now() + ttl_seconds)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Returns false, having written nothing, when the session is gone (expired or signed
    /// out).
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_update(&self, key: &str, state: &str, ttl_seconds: i64) -> StoreResult<bool> {
        let id_hash = hash(key);
        let done =
            sqlx::query("UPDATE sessions SET state = $1, expires_at = $2 WHERE id_hash = $3 AND expires_at > $4")
                .bind(self.sealer().seal(Purpose::Session, &id_hash, state))
                .bind(now() + ttl_seconds)
                .bind(&id_hash)
                .bind(now())
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Moves the idle deadline of a live session to `ttl_seconds` from now, but only when
    /// that moves it by at least [`SESSION_EXTENSION_STEP_SECONDS`]; says whether it wrote.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_touch(&self, key: &str, ttl_seconds: i64) -> StoreResult<bool> {
        let deadline = now() + ttl_seconds;
        let done = sqlx::query(TOUCH_SQL)
            .bind(deadline)
            .bind(hash(key))
            .bind(now())
            .bind(deadline - SESSION_EXTENSION_STEP_SECONDS)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_delete(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(hash(key)).execute(self.pool()).await?;
        Ok(())
    }

    /// How many session rows there are, ended ones not yet purged included.
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn session_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM sessions").fetch_one(&mut *self.reader().await?).await?.try_get(0)?)
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
        let key = session_key.as_ref();
        let loaded = self.store.session_load_with_deadline(key).await.map_err(|e| LoadError::Other(e.into()))?;
        let Some((text, deadline)) = loaded else {
            return Ok(None);
        };
        note_session_loaded(hash(key), deadline);
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
        if !updated {
            // The session ended (signed out, or idle too long) while this request ran: it
            // stays ended. actix-session will set a cookie with the key it gets back; the
            // web layer removes it, told by this note.
            note_session_ended();
        }
        Ok(session_key)
    }

    /// Called after every request that left the session's state as it was. Within a
    /// minute of the last extension it does not even ask the database: the deadline read
    /// with the state says so.
    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref();
        let moved_by = loaded_deadline(&hash(key)).map(|at| now() + ttl.whole_seconds() - at);
        if moved_by.is_some_and(|m| m < SESSION_EXTENSION_STEP_SECONDS) {
            return Ok(());
        }
        self.store.session_touch(key, ttl.whole_seconds()).await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        self.store.session_delete(session_key.as_ref()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use super::{LOAD_SQL, Store, TOUCH_SQL};

    async fn plan(store: &Store, sql: &str, binds: usize) -> String {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for n in 0..binds {
            q = q.bind(n as i64);
        }
        let rows = q.fetch_all(store.pool()).await.expect("explain");
        rows.iter().map(|r| r.try_get::<String, _>("detail").expect("detail")).collect::<Vec<_>>().join("\n")
    }

    #[tokio::test]
    async fn a_session_is_read_and_touched_by_its_primary_key_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("plan.db").display())).await.expect("store");
        for (sql, binds) in [(LOAD_SQL, 2), (TOUCH_SQL, 4)] {
            let plan = plan(&store, sql, binds).await;
            assert_eq!(plan, "SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id_hash=?)", "{sql}");
        }
    }
}
