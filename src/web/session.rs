//! What the portal keeps in a (server-side) session, typed.

use actix_session::Session;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::{PartnerType, Permissions, RoleSet};

const USER: &str = "user";
const TOKENS: &str = "tokens";
const CSRF: &str = "csrf";
const PENDING: &str = "oidc_pending";
const FLASH: &str = "flash";

/// The signed-in person, as proven by the ID token and Partner Center.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedInUser {
    pub oid: String,
    pub name: String,
    pub email: String,
    pub tenant_id: String,
    pub roles: RoleSet,
    pub partner_type: PartnerType,
    pub partner_name: String,
    /// Unix seconds; the absolute session lifetime counts from here.
    pub signed_in_at: i64,
}

impl SignedInUser {
    pub fn permissions(&self) -> Permissions {
        Permissions::of(&self.roles, self.partner_type)
    }

    /// An audit entry of this user's; the caller adds what happened and, for Partner
    /// Center calls, the `MS-RequestId` and `MS-CorrelationId`.
    pub fn audit(&self, action: &str, outcome: &str) -> crate::store::AuditEntry {
        crate::store::AuditEntry {
            tenant_id: self.tenant_id.clone(),
            actor_oid: Some(self.oid.clone()),
            actor_name: Some(self.name.clone()),
            action: action.to_string(),
            outcome: outcome.to_string(),
            ..Default::default()
        }
    }
}

pub use crate::domain::UserTokens;
pub use crate::identity::PendingSignIn;

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn get<T: for<'de> Deserialize<'de>>(s: &Session, key: &str) -> Option<T> {
    // A value that no longer deserializes (after an upgrade) counts as absent.
    s.get::<T>(key).ok().flatten()
}

pub fn user(s: &Session) -> Option<SignedInUser> {
    get(s, USER)
}

pub fn tokens(s: &Session) -> Option<UserTokens> {
    get(s, TOKENS)
}

pub fn set_tokens(s: &Session, t: &UserTokens) -> Result<(), actix_session::SessionInsertError> {
    s.insert(TOKENS, t)
}

/// Starts the signed-in session: a new session id, so a session fixed before sign-in is
/// worth nothing after it.
pub fn sign_in(s: &Session, user: &SignedInUser, tokens: &UserTokens) -> Result<(), actix_session::SessionInsertError> {
    s.renew();
    s.remove(PENDING);
    s.insert(USER, user)?;
    s.insert(TOKENS, tokens)?;
    s.insert(CSRF, random_token())?;
    Ok(())
}

/// The synchronizer token of this session, created on first use.
pub fn csrf_token(s: &Session) -> String {
    if let Some(t) = get::<String>(s, CSRF) {
        return t;
    }
    let t = random_token();
    let _ = s.insert(CSRF, &t);
    t
}

/// The token without creating one (for checking).
pub fn expected_csrf(s: &Session) -> Option<String> {
    get(s, CSRF)
}

pub fn set_pending(s: &Session, p: &PendingSignIn) -> Result<(), actix_session::SessionInsertError> {
    s.insert(PENDING, p)
}

pub fn take_pending(s: &Session) -> Option<PendingSignIn> {
    let p = get(s, PENDING);
    s.remove(PENDING);
    p
}

pub fn set_flash(s: &Session, message: &str) {
    let _ = s.insert(FLASH, message);
}

pub fn take_flash(s: &Session) -> Option<String> {
    let f = get(s, FLASH);
    if f.is_some() {
        s.remove(FLASH);
    }
    f
}
