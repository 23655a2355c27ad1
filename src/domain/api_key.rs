//! API keys of the readiness API: their form, the name an admin gives one, and the hash
//! that is all the portal keeps of a key (docs/readiness.md, "API keys").

use sha2::{Digest, Sha256};

use super::FieldError;

/// Every key starts with this, so that a key found in a log or a repository is
/// recognisable as one of the portal's.
pub const KEY_START: &str = "mcak_";

/// Characters of the key kept (after `KEY_START`) to tell keys apart on the settings page.
const PREFIX_CHARS: usize = 8;

/// The random part: 32 bytes, base64url without padding.
const RANDOM_CHARS: usize = 43;

/// Whether `text` has the form of a key (so that anything else is refused before a
/// database lookup).
pub fn looks_like_key(text: &str) -> bool {
    text.strip_prefix(KEY_START).is_some_and(|rest| {
        rest.len() == RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What is stored of a key: SHA-256 in lower-case hex. A key carries 256 random bits, so
/// a plain hash is enough: nothing to guess from, no password stretching needed.
pub fn key_hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The start of a key that the settings page shows to tell keys apart.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_START.len() + PREFIX_CHARS).collect()
}

/// A key's name, as an admin gives it: 1 to 100 characters after trimming, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(typed: &str) -> Result<ApiKeyName, FieldError> {
        let name = typed.trim();
        if name.is_empty() {
            return Err(FieldError::new(
                "name",
                "Enter a name that says what the key is for, such as the order system that uses it.",
            ));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("name", format!("Enter a name of at most {} characters.", Self::MAX_CHARS)));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "Enter the name on one line, without tabs or line breaks."));
        }
        Ok(ApiKeyName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_has_its_start_and_43_random_characters() {
        let key = format!("{KEY_START}{}", "A".repeat(43));
        assert!(looks_like_key(&key));
        assert!(!looks_like_key(&format!("{KEY_START}{}", "A".repeat(42))));
        assert!(!looks_like_key(&format!("{KEY_START}{}!", "A".repeat(42))));
        assert!(!looks_like_key(&format!("other_{}", "A".repeat(43))));
        assert_eq!(key_prefix(&key), "mcak_AAAAAAAA");
    }

    #[test]
    fn the_hash_is_sha256_in_hex() {
        assert_eq!(key_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ApiKeyName::parse("  Orders  ").unwrap().as_str(), "Orders");
        assert_eq!(ApiKeyName::parse(" ").unwrap_err().field, "name");
        assert!(ApiKeyName::parse(&"x".repeat(101)).unwrap_err().message.contains("100"));
        assert!(ApiKeyName::parse(&"é".repeat(100)).is_ok());
        assert!(ApiKeyName::parse("a\tb").is_err());
    }
}
