//! A sign-in under way (state, nonce, PKCE verifier, return address, start time) lives in
//! a small encrypted cookie of its own, not in a server-side session: an anonymous
//! `/login` writes nothing on the server, so a flood of sign-in starts cannot fill the
//! database (docs/sessions.md).

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::{HttpRequest, HttpResponse};
use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::workflows::PendingSignIn;

/// A return address longer than this is not kept (the cookie must stay small); the
/// sign-in then ends on the customer list.
const MAX_RETURN_TO: usize = 1024;

/// How the sign-in cookie is named, sealed and sent.
pub struct SignInCookie {
    key: Key,
    https: bool,
}

impl SignInCookie {
    /// With the deployment's session key, every instance can read the cookie another one
    /// set; without it, a key of this process (as for the session cookie).
    pub fn new(session_key: Option<&SecretString>, https: bool) -> SignInCookie {
        let key = match session_key {
            Some(secret) => {
                let hkdf = Hkdf::<Sha256>::new(Some(b"mca-portal sign-in cookie"), secret.expose_secret().as_bytes());
                let mut master = [0u8; 64];
                hkdf.expand(b"cookie encryption", &mut master).expect("64 bytes is a valid HKDF-SHA256 length");
                Key::from(&master)
            }
            None => Key::generate(),
        };
        SignInCookie { key, https }
    }

    fn name(&self) -> &'static str {
        if self.https { "__Host-mca-sign-in" } else { "mca-sign-in" }
    }

    fn cookie(&self, value: String, max_age: Duration) -> Cookie<'static> {
        Cookie::build(self.name(), value)
            .path("/")
            .http_only(true)
            .secure(self.https)
            // Lax: the identity provider's redirect back is a top-level GET from another site.
            .same_site(SameSite::Lax)
            .max_age(max_age)
            .finish()
    }

    /// Adds the encrypted cookie to `res`, valid for `window_seconds`.
    pub fn set(&self, res: &mut HttpResponse, pending: &PendingSignIn, window_seconds: i64) -> anyhow::Result<()> {
        let mut pending = pending.clone();
        if pending.return_to.len() > MAX_RETURN_TO {
            pending.return_to = "/customers".into();
        }
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key)
            .add(self.cookie(serde_json::to_string(&pending)?, Duration::seconds(window_seconds)));
        let sealed = jar.get(self.name()).ok_or_else(|| anyhow::anyhow!("the sign-in cookie was not made"))?;
        res.add_cookie(sealed)?;
        Ok(())
    }

    /// The sign-in under way in this browser, if its cookie is there and opens.
    pub fn read(&self, req: &HttpRequest) -> Option<PendingSignIn> {
        let sent = req.cookie(self.name())?;
        let mut jar = CookieJar::new();
        jar.add_original(sent);
        let opened = jar.private(&self.key).get(self.name())?;
        serde_json::from_str(opened.value()).ok()
    }

    /// Tells the browser to forget the cookie: a sign-in answer is used once.
    pub fn remove(&self, res: &mut HttpResponse) {
        if let Err(e) = res.add_removal_cookie(&self.cookie(String::new(), Duration::ZERO)) {
            tracing::warn!(error = %e, "could not remove the sign-in cookie");
        }
    }
}
