//! The portal's sign-in and sign-out against a standards-compliant provider that is not
//! the built-in one (panva's oidc-provider, run with node), given only issuer, client id
//! and secret, and what a real provider needs besides.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;

use mca_portal::config::Settings;
use mca_portal::sandbox::SandboxOptions;
use mca_portal::startup::Application;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{Browser, Db, csrf_of, fresh_db, hidden_inputs, line_starting, location, unescape};

fn resolve(base: &str, link: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(&unescape(link)))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| link.to_string())
}

/// The portal's settings for this provider: its issuer, client id and secret, and what a
/// real issuer needs besides.
fn settings_for(issuer: &str, client_id: &str, secret: &str, database_url: &str) -> Settings {
    Settings {
        database_url: database_url.into(),
        oidc_issuer: Some(issuer.into()),
        oidc_client_id: client_id.into(),
        oidc_client_secret: Some(SecretString::from(secret.to_string())),
        oidc_scopes: vec!["openid".into(), "profile".into(), "email".into()],
        // Not used by a user without an agent role; required with a real issuer.
        partner_center_url: Some("http://127.0.0.1:9".into()),
        // A group nobody at this provider is in: a real issuer needs a role mapping.
        admin_agent_groups: vec!["00000000-0000-4000-8000-0000000000ad".into()],
        // This provider sends no `tid`: the deployment names its one tenant.
        tenant_id: Some("00000000-0000-4000-8000-00000000e71d".into()),
        data_key: Some(SecretString::from(crate::helpers::TEST_DATA_KEY.to_string())),
        ..Settings::default()
    }
}

/// Follows the provider's redirects and answers its forms (its development login, its
/// sign-out confirmation) until it sends the browser back to the portal; returns where.
async fn through_the_provider(b: &Browser, mut url: String, portal: &str) -> String {
    for _ in 0..20 {
        let r = b.client.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            url = resolve(&url, &location(&r));
        } else {
            assert_eq!(r.status(), StatusCode::OK, "{url}");
            let html = r.text().await.unwrap();
            let action = html.split("action=\"").nth(1).and_then(|a| a.split('"').next()).expect("a form");
            let mut form = hidden_inputs(&html);
            if html.contains("name=\"login\"") {
                form.push(("login".into(), "olga".into()));
                form.push(("password".into(), "anything".into()));
            }
            if html.contains("name=\"logout\"") {
                form.push(("logout".into(), "yes".into()));
            }
            let r = b.client.post(resolve(&url, action)).form(&form).send().await.unwrap();
            assert!(r.status().is_redirection(), "the form answers with a redirect");
            url = resolve(&url, &location(&r));
        }
        if url.starts_with(portal) {
            return url;
        }
    }
    panic!("the provider does not send the browser back to the portal");
}

#[tokio::test]
async fn signs_in_and_out_against_another_openid_provider() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !dir.join("node_modules/oidc-provider").exists()
        || std::process::Command::new("node").arg("--version").output().is_err()
    {
        assert!(std::env::var("CI").is_err(), "CI requires node and `npm ci --prefix tests/browser` for this test");
        eprintln!(
            "skipping: node or tests/browser/node_modules/oidc-provider is missing (npm ci --prefix tests/browser)"
        );
        return;
    }
    let portal_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let portal = format!("http://127.0.0.1:{}", portal_listener.local_addr().unwrap().port());
    let idp_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (client_id, secret) = ("portal-under-test", "a-secret-only-for-this-test-run");
    let mut node = tokio::process::Command::new("node")
        .arg(dir.join("oidc-provider.mjs"))
        .arg(idp_port.to_string())
        .arg(format!("{portal}/auth/callback"))
        .arg(client_id)
        .arg(secret)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let issuer = line_starting(&mut node, "listening ").await;

    let db = fresh_db(Db::Sqlite).await.unwrap();
    let settings = settings_for(&issuer, client_id, secret, &db.url);
    let app = Application::build_on(settings, portal_listener, None, SandboxOptions::default()).await.unwrap();
    assert!(app.sandbox.is_none(), "no sandbox with a real issuer");
    tokio::spawn(app.run_until_stopped());

    let b = Browser::new(&portal);
    let r = b.get("/login").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = location(&r);
    assert!(url.starts_with(&issuer), "{url}");
    let callback = through_the_provider(&b, url, &portal).await;
    let r = b.client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the callback is accepted");
    assert_eq!(location(&r), "/no-access", "signed in; no agent role without a group mapping");
    let (status, html) = b.get_html("/no-access").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("External olga"), "the name comes from the verified ID token");

    // Sign out ends the session at this provider too, which sends the browser back.
    let r = b.post_form("/logout", &[("csrf_token", &csrf_of(&html))]).await;
    let url = location(&r);
    assert!(url.starts_with(&issuer) && url.contains("id_token_hint="), "{url}");
    let back = through_the_provider(&b, url, &portal).await;
    assert_eq!(back, format!("{portal}/?signed_out=1"));
    assert!(b.get_html(&back).await.1.contains("You are signed out"));
    let _ = node.kill().await;
}
