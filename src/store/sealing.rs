//! Sealing of secrets the portal must keep to do its work (a session's delegated tokens,
//! a queued submission's tokens): AES-256-GCM with a random nonce, so that a copy of the
//! database alone does not give them away.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1:";

pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// The key is derived from a secret of the deployment's (never used as it is).
    pub fn from_secret(secret: &[u8]) -> Sealer {
        let mut h = Sha256::new();
        h.update(b"mca-portal sealed data v1\0");
        h.update(secret);
        let key = h.finalize();
        Sealer { cipher: Aes256Gcm::new_from_slice(&key).expect("a 32-byte key") }
    }

    /// A key that lives as long as the process: for stores that keep nothing sealed
    /// across restarts (tests, `migrate`).
    pub fn ephemeral() -> Sealer {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Sealer::from_secret(&secret)
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(Nonce::from_slice(&nonce), plain.as_bytes()).expect("AES-GCM encryption");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    /// None when the text was sealed with another key, or tampered with.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = STANDARD_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, body) = bytes.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_refuses_other_keys_and_tampering() {
        let s = Sealer::from_secret(b"one");
        let sealed = s.seal("eyJhbGciOi.secret-token");
        assert!(!sealed.contains("secret-token"));
        assert_ne!(sealed, s.seal("eyJhbGciOi.secret-token"), "a new nonce each time");
        assert_eq!(s.open(&sealed).as_deref(), Some("eyJhbGciOi.secret-token"));
        assert_eq!(Sealer::from_secret(b"two").open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.open(&tampered), None);
        assert_eq!(s.open("plain text"), None);
    }
}
