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
use crate::domain::PartnerType;
pub use crate::domain::PartnerUser as SignedInUser;
pub use crate::domain::UserTokens;
use crate::store::TenantRecord;
use crate::workflows::refresh::Started;
use crate::workflows::{IdToken, RelatedPartner, SignInState, WorkflowError};

const USER: &str = "user";
const TOKENS: &str = "tokens";
const CSRF: &str = "csrf";
const ID_TOKEN: &str = "id_token";
const FLASH: &str = "flash";
const ONCE: &str = "once:";

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

/// Starts the signed-in session: a new session id, so a session fixed before sign-in is
/// worth nothing after it.
pub fn sign_in(s: &Session, signed_in: &SignInState) -> Result<(), actix_session::SessionInsertError> {
    s.renew();
    keep(s, signed_in)?;
    s.insert(CSRF, random_token())?;
    Ok(())
}

/// Keeps who is signed in, their tokens and their ID token (the session is sealed as a
/// whole in the store).
fn keep(s: &Session, signed_in: &SignInState) -> Result<(), actix_session::SessionInsertError> {
    s.insert(USER, &signed_in.user)?;
    s.insert(TOKENS, &signed_in.tokens)?;
    s.insert(ID_TOKEN, &signed_in.id_token)
}

/// The ID token of the sign-in (renewed with the tokens), the hint for signing out at the
/// identity provider.
pub fn id_token(s: &Session) -> Option<IdToken> {
    get(s, ID_TOKEN)
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

/// A token that lets one showing of a form be sent once: made when the form is shown
/// (replacing the one before), taken when it is sent. Sending the same form again (a
/// reload of its answer) then finds no token, and nothing is done twice.
pub fn once_token(s: &Session, form: &str) -> String {
    let t = random_token();
    let _ = s.insert(format!("{ONCE}{form}"), &t);
    t
}

/// Whether `sent` is the token of the form's latest showing; it can't be used again.
pub fn take_once_token(s: &Session, form: &str, sent: &str) -> bool {
    let key = format!("{ONCE}{form}");
    let expected: Option<String> = get(s, &key);
    s.remove(&key);
    expected.is_some_and(|t| !sent.is_empty() && t == sent)
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
    renew_sign_in(state, &signed.session, &signed.user, "/customers").await
}

/// Renews the session's tokens when they are due, and with them the user: their roles and
/// partner type as the identity provider and Partner Center say now. When that can't be
/// done (the refresh is refused, or brings no ID token to read the roles from), the
/// session ends and the user is asked to sign in again, coming back to `return_to`.
pub async fn renew_sign_in(
    state: &AppState,
    s: &Session,
    user: &SignedInUser,
    return_to: &str,
) -> Result<UserTokens, AppError> {
    let sign_in_again = || AppError::SignInRequired { return_to: return_to.to_string() };
    let tokens = tokens(s).ok_or_else(sign_in_again)?;
    match state.workflows.renew_sign_in(user, &tokens).await {
        Ok(None) => Ok(tokens),
        Ok(Some(renewed)) => {
            keep(s, &renewed).map_err(|e| AppError::Internal(e.into()))?;
            Ok(renewed.tokens)
        }
        Err(WorkflowError::SignInRequired(why)) => {
            tracing::info!(%why, "the sign-in could not be renewed; asking to sign in again");
            s.purge();
            Err(sign_in_again())
        }
        Err(e) => Err(e.into()),
    }
}

/// The access token alone, for reading.
pub async fn access_token(state: &AppState, signed: &Signed) -> Result<String, AppError> {
    Ok(fresh_tokens(state, signed).await?.access_token)
}

/// An indirect provider's indirect resellers (none for other partners): the kept list
/// while it is recent, which needs no token; the user's token is opened only to read
/// them again from Partner Center. None when they can't be read.
pub async fn indirect_resellers(state: &AppState, signed: &Signed) -> Vec<RelatedPartner> {
    if signed.user.partner_type != PartnerType::IndirectProvider {
        return Vec::new();
    }
    if let Some(kept) = state.workflows.kept_resellers(&signed.user).await {
        return kept;
    }
    match access_token(state, signed).await {
        Ok(token) => state.workflows.read_resellers(&signed.user, &token).await,
        Err(_) => Vec::new(),
    }
}

/// The first visit of a partner reads its customers; a long read goes on in the
/// background while the list shows its progress.
/// Gives the partner's record as read before the read starts, when there is one.
pub async fn read_if_never_read(state: &AppState, signed: &Signed) -> Result<Option<TenantRecord>, AppError> {
    let (never, tenant) = state.workflows.never_read(&signed.user.tenant_id).await?;
    if !never {
        return Ok(tenant);
    }
    let tokens = fresh_tokens(state, signed).await?;
    let wait = std::time::Duration::from_secs(state.settings.refresh.refresh_wait_seconds);
    match state.workflows.start_refresh(&signed.user, tokens, wait).await {
        Started::Done(Err(e)) => Err(e.into()),
        // The read may have ended in the wait: the record says when.
        _ => Ok(state.store.tenant_get(&signed.user.tenant_id).await?),
    }
}
