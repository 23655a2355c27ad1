//! mca-portal: browser screens for Microsoft Customer Agreement attestation in front of
//! the Partner Center API, with a built-in sandbox of Partner Center and Entra ID.

pub mod config;
pub mod domain;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod partner_center;
pub mod sandbox;
pub mod seed;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod workflows;

/// Every type that holds a token, a PKCE verifier, a CSRF token, a password or a key shows
/// none of it in `Debug` (they may end up in a log line).
#[cfg(test)]
mod debug_shows_no_secret {
    use secrecy::SecretString;

    const SECRET: &str = "s3cret-value-that-must-not-show";

    fn assert_hidden(shown: String) {
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn tokens_and_sign_in_state() {
        assert_hidden(format!(
            "{:?}",
            crate::domain::UserTokens {
                access_token: SECRET.into(),
                refresh_token: Some(SECRET.into()),
                expires_at: 1
            }
        ));
        assert_hidden(format!("{:?}", crate::domain::IdToken::new(SECRET.into())));
        assert_hidden(format!(
            "{:?}",
            crate::identity::PendingSignIn {
                state: SECRET.into(),
                nonce: SECRET.into(),
                pkce_verifier: SECRET.into(),
                return_to: "/customers".into(),
                started_at: 0,
            }
        ));
    }

    #[test]
    fn passwords_csrf_tokens_and_keys() {
        let customer = crate::domain::Customer {
            id: "c".into(),
            company_name: "C".into(),
            domain: "c.onmicrosoft.com".into(),
            relationship: None,
            commerce_id: None,
            billing: None,
            associated_partner_id: None,
        };
        let created = crate::partner_center::CreatedCustomer {
            customer,
            user_name: "admin@c.onmicrosoft.com".into(),
            password: SecretString::from(SECRET.to_string()),
        };
        assert_hidden(format!("{created:?}"));
        let layout = crate::web::pages::Layout { csrf: SECRET.into(), ..crate::web::pages::Layout::anonymous("t") };
        assert_hidden(format!("{layout:?}"));
        let options = crate::sandbox::SandboxOptions { client_secret: SECRET.into(), ..Default::default() };
        assert_hidden(format!("{options:?}"));
        let settings = crate::config::Settings {
            oidc_client_secret: Some(SecretString::from(SECRET.to_string())),
            session_key: Some(SecretString::from(SECRET.to_string())),
            data_key: Some(SecretString::from(SECRET.to_string())),
            smtp: crate::config::SmtpSettings {
                smtp_host: Some("smtp.example.com".into()),
                smtp_username: Some("portal".into()),
                smtp_password: Some(SecretString::from(SECRET.to_string())),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_hidden(format!("{settings:?}"));
        assert_hidden(format!("{:?}", crate::mail::Mailer::from_settings(&settings).unwrap()));
        assert_hidden(format!("{:?}", crate::store::sealing::Sealer::from_secret(SECRET.as_bytes())));
    }
}
