//! The signed-in user's delegated Partner Center tokens. Kept server-side (in the
//! session, and with a queued submission until it is delivered), never in the cookie,
//! never in a log: `Debug` shows no token.

use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
pub struct UserTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

impl UserTokens {
    /// Good for at least `margin_seconds` more at `now` (Unix seconds).
    pub fn good_for(&self, margin_seconds: i64, now: i64) -> bool {
        self.expires_at - now > margin_seconds
    }
}

impl std::fmt::Debug for UserTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTokens")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An ID token as the identity provider signed it, kept (sealed, with the session) only
/// to name the session when signing out at the provider. `Debug` does not show it.
#[derive(Clone, Serialize, Deserialize)]
pub struct IdToken(String);

impl IdToken {
    pub fn new(token: String) -> IdToken {
        IdToken(token)
    }

    /// The token itself, for the `id_token_hint` of a sign-out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken([redacted])")
    }
}
