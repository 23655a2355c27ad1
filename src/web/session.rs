//! What the portal keeps in a (server-side) session, typed, and the helpers every handler
//! area shares: the signed-in user's tokens, and the first read of a partner's customers.

use actix_session::Session;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;

use super::AppState;
use super::errors::AppError;
use super::extractors::Signed;
pub use crate::domain::PartnerUser as SignedInUser;
pub use crate::domain::UserTokens;
use crate::workflows::refresh::Started;

const USER: &str = "user";
const TOKENS: &str = "tokens";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";

/// The session cookie's name: with the `__Host-` prefix over https (Secure, Path=/, no
/// Domain), so that no other site on the domain can set it.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https { "__Host-mca-session" } else { "mca-session" }
}

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

/// The signed-in user's delegated tokens, renewed (and kept in the session) when they
/// are about to expire; a sign-in that can't be renewed asks to sign in again.
pub async fn fresh_tokens(state: &AppState, signed: &Signed) -> Result<UserTokens, AppError> {
    let sign_in_again = || AppError::SignInRequired { return_to: "/customers".into() };
    let tokens = tokens(&signed.session).ok_or_else(sign_in_again)?;
    match state.workflows.fresh_tokens(&tokens).await {
        Ok(None) => Ok(tokens),
        Ok(Some(fresh)) => {
            set_tokens(&signed.session, &fresh).map_err(|e| AppError::Internal(e.into()))?;
            Ok(fresh)
        }
        Err(e) => {
            tracing::info!(error = %e, "token renewal failed; asking to sign in again");
            Err(sign_in_again())
        }
    }
}

/// The access token alone, for reading.
pub async fn access_token(state: &AppState, signed: &Signed) -> Result<String, AppError> {
    Ok(fresh_tokens(state, signed).await?.access_token)
}

/// The first visit of a partner reads its customers; a long read goes on in the
/// background while the list shows its progress.
pub async fn read_if_never_read(state: &AppState, signed: &Signed) -> Result<(), AppError> {
    if !state.workflows.never_read(&signed.user.tenant_id).await? {
        return Ok(());
    }
    let token = access_token(state, signed).await?;
    let wait = std::time::Duration::from_secs(state.settings.refresh_wait_seconds);
    match state.workflows.start_refresh(&signed.user.tenant_id, token, wait).await {
        Started::Done(Err(e)) => Err(e.into()),
        _ => Ok(()),
    }
}
