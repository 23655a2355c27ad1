//! Renewals of a session's sign-in, shared by the requests that need one at the same
//! time. A page and the request its script makes may both find the access token due;
//! a provider may take a refresh token once only (the sandbox does), and a second
//! renewal with the spent token would end the session. So the first request renews and
//! the others, presenting the same refresh token, wait for and take its result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::sign_in::SignInState;

/// How long a renewal's result is handed to latecomers with the old refresh token.
const SHARED_FOR: Duration = Duration::from_secs(60);

/// What a renewal came to: the new state (None: nothing was due), or why the user must
/// sign in again.
pub(crate) type RenewalResult = Result<Option<SignInState>, String>;

type Slot = Arc<OnceCell<RenewalResult>>;

/// Renewals under way or just done, by a hash of the refresh token they spend.
#[derive(Default)]
pub struct Renewals {
    by_token: Mutex<HashMap<String, (Instant, Slot)>>,
}

impl Renewals {
    /// The slot of the renewal that spends `refresh_token`: the same one for every
    /// request that asks within a minute. Older slots are forgotten.
    pub(crate) fn slot(&self, refresh_token: &str) -> Slot {
        let key = URL_SAFE_NO_PAD.encode(Sha256::digest(refresh_token.as_bytes()));
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < SHARED_FOR);
        map.entry(key).or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new()))).1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_slot_per_access_token() {
        let r = Renewals::default();
        assert!(Arc::ptr_eq(&r.slot("a"), &r.slot("a")));
        assert!(!Arc::ptr_eq(&r.slot("a"), &r.slot("b")));
    }
}
