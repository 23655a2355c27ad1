//! RS256 JSON Web Tokens for the sandbox identity provider: signing, verifying and the
//! JWKS document. Written here rather than taken from a JWT crate so that the portal's
//! OIDC library checks tokens made by code it does not share.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct KeyPair {
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    public: RsaPublicKey,
    pub kid: String,
}

impl KeyPair {
    pub fn generate() -> KeyPair {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation");
        let public = private.to_public_key();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public.n().to_bytes_be())[..12]);
        KeyPair {
            signing: SigningKey::<Sha256>::new(private),
            verifying: VerifyingKey::<Sha256>::new(public.clone()),
            public,
            kid,
        }
    }

    /// One key per process: generating a 2048-bit key takes a noticeable moment, and
    /// tests start many sandboxes.
    pub fn shared() -> Arc<KeyPair> {
        static KEY: OnceLock<Arc<KeyPair>> = OnceLock::new();
        KEY.get_or_init(|| Arc::new(KeyPair::generate())).clone()
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let sig = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// The claims of a token this key signed, or why not.
    pub fn verify(&self, token: &str) -> Result<Value, &'static str> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err("not a JWT");
        };
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| "bad header")?).map_err(|_| "bad header")?;
        if header["alg"] != "RS256" || header["kid"] != self.kid.as_str() {
            return Err("unknown key or algorithm");
        }
        let sig = Signature::try_from(URL_SAFE_NO_PAD.decode(s).map_err(|_| "bad signature")?.as_slice())
            .map_err(|_| "bad signature")?;
        self.verifying.verify(format!("{h}.{p}").as_bytes(), &sig).map_err(|_| "bad signature")?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| "bad payload")?).map_err(|_| "bad payload")
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        }]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_tampering() {
        let k = KeyPair::shared();
        let t = k.sign(&json!({"sub": "x", "n": 1}));
        assert_eq!(k.verify(&t).unwrap()["sub"], "x");
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(json!({"sub": "y", "n": 1}).to_string());
        assert!(k.verify(&parts.join(".")).is_err());
        assert!(k.verify("a.b").is_err());
    }
}
