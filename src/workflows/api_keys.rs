//! API keys of the readiness API (Admin agents): created with a name and shown once,
//! revoked, each audited; and the check of a key that an API request presents, which
//! writes its last use at most once a minute (docs/readiness.md, "API keys").

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use secrecy::SecretString;

use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::api_key::{ApiKeyName, KEY_START, key_hash, key_prefix, looks_like_key};
use crate::domain::{AgentRole, PartnerUser};
use crate::store::{ApiKeyRecord, NewApiKey};

/// How often at most the last use of a key is written.
pub const LAST_USE_EVERY: Duration = Duration::minutes(1);

/// A key just made: the key itself, to be shown this once, and what is stored of it.
pub struct CreatedKey {
    pub key: SecretString,
    pub record: ApiKeyRecord,
}

/// Why an API key request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    NotAllowed,
    /// The name can't be used; the message is for the form's field.
    Name(crate::domain::FieldError),
    /// Not one of the partner's keys.
    NotFound,
    /// Revoked already (by someone else, or in another tab).
    AlreadyRevoked,
}

impl KeyRefusal {
    pub fn message(&self) -> String {
        match self {
            KeyRefusal::NotAllowed => "Only Admin agents can manage API keys.".into(),
            KeyRefusal::Name(e) => e.message.clone(),
            KeyRefusal::NotFound => "There is no such API key for your organization.".into(),
            KeyRefusal::AlreadyRevoked => "This key was already revoked; nothing was changed.".into(),
        }
    }
}

/// Who calls the API: the key and the partner tenant it reads for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCaller {
    pub key_id: String,
    pub tenant_id: String,
}

/// A new key: the start that marks it, then 32 random bytes.
fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{KEY_START}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn admin(user: &PartnerUser) -> Result<(), KeyRefusal> {
    if user.roles.contains(AgentRole::Admin) { Ok(()) } else { Err(KeyRefusal::NotAllowed) }
}

impl Workflows {
    /// The partner's keys, revoked ones included, newest first.
    pub async fn api_keys(&self, user: &PartnerUser) -> WorkflowResult<Result<Vec<ApiKeyRecord>, KeyRefusal>> {
        if let Err(r) = admin(user) {
            return Ok(Err(r));
        }
        Ok(Ok(self.store.api_keys_of(&user.tenant_id).await?))
    }

    /// Makes a key for the user's partner tenant; only its hash and prefix are stored.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err)]
    pub async fn create_api_key(
        &self,
        user: &PartnerUser,
        typed_name: &str,
    ) -> WorkflowResult<Result<CreatedKey, KeyRefusal>> {
        if let Err(r) = admin(user) {
            return Ok(Err(r));
        }
        let name = match ApiKeyName::parse(typed_name) {
            Ok(n) => n,
            Err(e) => return Ok(Err(KeyRefusal::Name(e))),
        };
        let key = new_key();
        let stored = NewApiKey {
            tenant_id: user.tenant_id.clone(),
            name: name.as_str().to_string(),
            prefix: key_prefix(&key),
            key_hash: key_hash(&key),
            created_by_oid: user.oid.clone(),
            created_by_name: user.name.clone(),
        };
        let id = self.store.api_key_insert(&stored, Utc::now()).await?;
        let mut entry = audit_of(user, "api_key_created", "ok");
        entry.detail = Some(format!("API key \"{}\" ({}…)", stored.name, stored.prefix));
        self.store.audit(&entry).await?;
        let record = self.store.api_key_get(&user.tenant_id, &id).await?.ok_or_else(|| {
            crate::store::StoreError::Corrupt(format!("API key {id} was stored and can't be read back"))
        })?;
        Ok(Ok(CreatedKey { key: SecretString::from(key), record }))
    }

    /// One of the partner's keys, for the confirmation before it is revoked.
    pub async fn api_key(&self, user: &PartnerUser, id: &str) -> WorkflowResult<Result<ApiKeyRecord, KeyRefusal>> {
        if let Err(r) = admin(user) {
            return Ok(Err(r));
        }
        Ok(self.store.api_key_get(&user.tenant_id, id).await?.ok_or(KeyRefusal::NotFound))
    }

    /// Revokes one of the partner's keys: from now on every request with it is refused.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %id), err)]
    pub async fn revoke_api_key(
        &self,
        user: &PartnerUser,
        id: &str,
    ) -> WorkflowResult<Result<ApiKeyRecord, KeyRefusal>> {
        let record = match self.api_key(user, id).await? {
            Ok(r) if r.is_revoked() => return Ok(Err(KeyRefusal::AlreadyRevoked)),
            Ok(r) => r,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if !self.store.api_key_revoke(&user.tenant_id, id, &user.name, Utc::now()).await? {
            return Ok(Err(KeyRefusal::AlreadyRevoked));
        }
        let mut entry = audit_of(user, "api_key_revoked", "ok");
        entry.detail = Some(format!("API key \"{}\" ({}…)", record.name, record.prefix));
        self.store.audit(&entry).await?;
        Ok(Ok(record))
    }

    /// The caller a presented key stands for; None for anything but a key that exists and
    /// is not revoked. Its last use is written when the one on record is a minute old or
    /// more, so that requests cost no write each.
    #[tracing::instrument(skip_all, err)]
    pub async fn api_caller(&self, presented: &str) -> WorkflowResult<Option<ApiCaller>> {
        if !looks_like_key(presented) {
            return Ok(None);
        }
        let Some(key) = self.store.api_key_by_hash(&key_hash(presented)).await? else { return Ok(None) };
        if key.is_revoked() {
            return Ok(None);
        }
        let now = Utc::now();
        if key.last_used_at.is_none_or(|at| at <= now - LAST_USE_EVERY) {
            self.store.api_key_mark_used(&key.id, now, now - LAST_USE_EVERY).await?;
        }
        Ok(Some(ApiCaller { key_id: key.id, tenant_id: key.tenant_id }))
    }
}
