//! Sealing of secrets the portal must keep to do its work (a session's state with its
//! delegated tokens, a queued submission's tokens): AES-256-GCM with a random nonce, so
//! that a copy of the database alone does not give them away. Each value is bound to its
//! row (the row's key is the associated data), and each purpose has its own key, derived
//! with HKDF-SHA256 from the deployment's data key. docs/sealed-data.md says why, and
//! how keys are rotated.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The format of sealed text written today: HKDF keys per purpose, the row as associated data.
const PREFIX: &str = "v2:";
/// The first format: one key hashed from the secret, nothing bound to the row. Opened only
/// by key rotation, which re-seals it as v2.
const LEGACY_PREFIX: &str = "v1:";
const HKDF_SALT: &[u8] = b"mca-portal sealed data v2";
const NONCE_LEN: usize = 12;

/// What a sealed value is for; each purpose has its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The state of a server-side session; bound to the session's id hash.
    Session,
    /// A queued submission's delegated tokens; bound to the submission id and column.
    Tokens,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Session => b"mca-portal session state",
            Purpose::Tokens => b"mca-portal stored tokens",
        }
    }
}

/// The keys derived from one secret.
struct Keys {
    session: Aes256Gcm,
    tokens: Aes256Gcm,
    /// The v1 key of the same secret, for key rotation only.
    legacy: Aes256Gcm,
}

impl Keys {
    fn derive(secret: &[u8]) -> Keys {
        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret);
        let key_for = |purpose: Purpose| {
            let mut key = [0u8; 32];
            hkdf.expand(purpose.label(), &mut key).expect("32 bytes is a valid HKDF-SHA256 length");
            Aes256Gcm::new_from_slice(&key).expect("a 32-byte key")
        };
        let mut h = Sha256::new();
        h.update(b"mca-portal sealed data v1\0");
        h.update(secret);
        Keys {
            session: key_for(Purpose::Session),
            tokens: key_for(Purpose::Tokens),
            legacy: Aes256Gcm::new_from_slice(&h.finalize()).expect("a 32-byte key"),
        }
    }

    fn cipher(&self, purpose: Purpose) -> &Aes256Gcm {
        match purpose {
            Purpose::Session => &self.session,
            Purpose::Tokens => &self.tokens,
        }
    }
}

/// Seals with the current data key; opens with the current key, or the previous one during
/// a key rotation.
pub struct Sealer {
    current: Keys,
    previous: Option<Keys>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

fn split_nonce(text: &str, prefix: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let bytes = STANDARD_NO_PAD.decode(text.strip_prefix(prefix)?).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = bytes.split_at(NONCE_LEN);
    Some((nonce.to_vec(), body.to_vec()))
}

impl Sealer {
    /// Keys derived from the deployment's secret (never used as it is).
    pub fn from_secret(secret: &[u8]) -> Sealer {
        Sealer { current: Keys::derive(secret), previous: None }
    }

    /// Also opens values sealed with `previous` (the key before a rotation); seals only
    /// with `current`.
    pub fn with_previous(current: &[u8], previous: Option<&[u8]>) -> Sealer {
        Sealer { current: Keys::derive(current), previous: previous.map(Keys::derive) }
    }

    /// A key that lives as long as the process: for stores that keep nothing sealed
    /// across restarts (tests, `migrate`).
    pub fn ephemeral() -> Sealer {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Sealer::from_secret(&secret)
    }

    /// Seals `plain` for `purpose`, bound to the row `row` (it opens only for that row).
    pub fn seal(&self, purpose: Purpose, row: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: plain.as_bytes(), aad: row.as_bytes() };
        let sealed =
            self.current.cipher(purpose).encrypt(Nonce::from_slice(&nonce), payload).expect("AES-GCM encryption");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    /// None when the text was sealed with another key, for another purpose or another row,
    /// or tampered with; v1 text too (see [`Sealer::open_for_rotation`]).
    pub fn open(&self, purpose: Purpose, row: &str, sealed: &str) -> Option<String> {
        let (nonce, body) = split_nonce(sealed, PREFIX)?;
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find_map(|keys| {
                let payload = Payload { msg: body.as_slice(), aad: row.as_bytes() };
                keys.cipher(purpose).decrypt(Nonce::from_slice(&nonce), payload).ok()
            })
            .and_then(|plain| String::from_utf8(plain).ok())
    }

    /// Like [`Sealer::open`], and also v1 text under either key: only for re-sealing it.
    pub fn open_for_rotation(&self, purpose: Purpose, row: &str, sealed: &str) -> Option<String> {
        if let Some(plain) = self.open(purpose, row, sealed) {
            return Some(plain);
        }
        let (nonce, body) = split_nonce(sealed, LEGACY_PREFIX)?;
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find_map(|keys| keys.legacy.decrypt(Nonce::from_slice(&nonce), body.as_slice()).ok())
            .and_then(|plain| String::from_utf8(plain).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOi.secret-token";

    #[test]
    fn seals_and_opens_and_refuses_other_keys_and_tampering() {
        let s = Sealer::from_secret(b"one");
        let sealed = s.seal(Purpose::Tokens, "row-1", TOKEN);
        assert!(sealed.starts_with("v2:"));
        assert!(!sealed.contains("secret-token"));
        assert_ne!(sealed, s.seal(Purpose::Tokens, "row-1", TOKEN), "a new nonce each time");
        assert_eq!(s.open(Purpose::Tokens, "row-1", &sealed).as_deref(), Some(TOKEN));
        assert_eq!(Sealer::from_secret(b"two").open(Purpose::Tokens, "row-1", &sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.open(Purpose::Tokens, "row-1", &tampered), None);
        assert_eq!(s.open(Purpose::Tokens, "row-1", "plain text"), None);
    }

    #[test]
    fn a_value_opens_only_for_the_row_it_was_sealed_for() {
        let s = Sealer::from_secret(b"one");
        let sealed = s.seal(Purpose::Session, "hash-of-session-a", "{\"user\":\"a\"}");
        assert_eq!(s.open(Purpose::Session, "hash-of-session-b", &sealed), None);
        assert_eq!(s.open(Purpose::Session, "", &sealed), None);
        assert!(s.open(Purpose::Session, "hash-of-session-a", &sealed).is_some());
    }

    #[test]
    fn purposes_have_different_keys() {
        let s = Sealer::from_secret(b"one");
        let for_session = s.seal(Purpose::Session, "row", TOKEN);
        assert_eq!(s.open(Purpose::Tokens, "row", &for_session), None);
        let for_tokens = s.seal(Purpose::Tokens, "row", TOKEN);
        assert_eq!(s.open(Purpose::Session, "row", &for_tokens), None);
    }

    #[test]
    fn the_previous_key_opens_but_never_seals() {
        let old = Sealer::from_secret(b"old key");
        let sealed_before = old.seal(Purpose::Tokens, "row", TOKEN);
        let rotating = Sealer::with_previous(b"new key", Some(b"old key"));
        assert_eq!(rotating.open(Purpose::Tokens, "row", &sealed_before).as_deref(), Some(TOKEN));
        let sealed_now = rotating.seal(Purpose::Tokens, "row", TOKEN);
        assert_eq!(old.open(Purpose::Tokens, "row", &sealed_now), None, "new values use the new key");
        let new_only = Sealer::from_secret(b"new key");
        assert_eq!(new_only.open(Purpose::Tokens, "row", &sealed_now).as_deref(), Some(TOKEN));
        assert_eq!(new_only.open(Purpose::Tokens, "row", &sealed_before), None);
    }

    /// A value in the first format, as that version sealed it.
    fn sealed_v1(secret: &[u8], plain: &str) -> String {
        let keys = Keys::derive(secret);
        let nonce = [7u8; NONCE_LEN];
        let mut out = nonce.to_vec();
        out.extend(keys.legacy.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).unwrap());
        format!("{LEGACY_PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    #[test]
    fn v1_text_is_opened_only_for_rotation() {
        let v1 = sealed_v1(b"old key", TOKEN);
        let s = Sealer::with_previous(b"new key", Some(b"old key"));
        assert_eq!(s.open(Purpose::Tokens, "row", &v1), None, "serving never reads v1");
        assert_eq!(s.open_for_rotation(Purpose::Tokens, "row", &v1).as_deref(), Some(TOKEN));
        assert_eq!(Sealer::from_secret(b"other").open_for_rotation(Purpose::Tokens, "row", &v1), None);
    }
}
