//! Signing out deletes the portal's session, then ends the session at the identity
//! provider when its discovery document offers `end_session_endpoint`; the provider
//! checks whose session it is and sends the browser back only to an address registered
//! for the portal.

use std::collections::HashMap;

use base64::Engine;
use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

fn query_of(u: &url::Url) -> HashMap<String, String> {
    u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn claims_of(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn oid_of(name: &str) -> String {
    seed::users().into_iter().find(|u| u.name == name).expect("a demo user").oid.to_string()
}

#[tokio::test]
async fn sign_out_ends_the_session_at_the_identity_provider_too() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = b.get_html("/customers").await;
    let csp = b.get("/customers").await.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains(&format!("form-action 'self' {}", app.sandbox_url)),
        "the Sign out form may lead there: {csp}"
    );
    let r = b.post_form("/logout", &[("csrf_token", &csrf_of(&page))]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let end = url::Url::parse(&location(&r)).expect("an absolute address");
    assert_eq!(end.as_str().split('?').next().unwrap(), format!("{}/idp/v2.0/logout", app.sandbox_url));
    let q = query_of(&end);
    let back = format!("{}/?signed_out=1", app.address);
    assert_eq!(q["post_logout_redirect_uri"], back);
    assert_eq!(q["client_id"], "mca-portal");
    assert_eq!(claims_of(&q["id_token_hint"])["sub"], oid_of(SAM_SALES), "the hint names Sam's sign-in");
    assert!(location(&b.get("/customers").await).starts_with("/login"), "the portal's session is already gone");

    let r = b.client.get(end).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "the provider ends its session");
    assert_eq!(location(&r), back, "and sends the browser back to the portal");
    assert_eq!(app.sandbox.ended_sessions(), vec![oid_of(SAM_SALES)]);
    let (_, html) = b.get_html(&back).await;
    assert!(html.contains("You are signed out"));
}

#[tokio::test]
async fn after_a_renewal_the_hint_is_the_renewed_id_token() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| sandbox.access_token_seconds = 60).await.unwrap();
    let b = app.signed_in(ALEX_ADMIN).await;
    let (_, page) = b.get_html("/customers").await;
    let r = b.post_form("/logout", &[("csrf_token", &csrf_of(&page))]).await;
    let q = query_of(&url::Url::parse(&location(&r)).unwrap());
    let hint = claims_of(&q["id_token_hint"]);
    assert_eq!(hint["sub"], oid_of(ALEX_ADMIN));
    assert!(hint.get("nonce").is_none(), "a renewal's ID token, which carries no nonce");
}

#[tokio::test]
async fn without_an_end_session_endpoint_sign_out_stays_on_the_portal() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| sandbox.end_session = false).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let r = b.post_with_token_of("/customers", "/logout").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/?signed_out=1");
    assert!(location(&b.get("/customers").await).starts_with("/login"), "signed out");
    assert!(!app.sandbox.requests().iter().any(|r| r.path_and_query.starts_with("/idp/v2.0/logout")));
    assert!(app.sandbox.ended_sessions().is_empty());
}

#[tokio::test]
async fn the_identity_provider_sends_back_only_to_an_address_registered_for_the_portal() {
    let app = spawn_app().await;
    let tokens = user_tokens(&app.sandbox_url, SAM_SALES).await;
    let hint = tokens["id_token"].as_str().unwrap().to_string();
    let forged = {
        let mut parts: Vec<&str> = hint.split('.').collect();
        let other = serde_json::json!({"iss": format!("{}/idp/v2.0", app.sandbox_url), "aud": "mca-portal", "sub": "someone-else"});
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(other.to_string());
        parts[1] = &payload;
        parts.join(".")
    };
    let here = "http://127.0.0.1:1/signed-out";
    let refused: [&[(&str, &str)]; 5] = [
        &[("client_id", "mca-portal"), ("post_logout_redirect_uri", "https://evil.example/")],
        &[("id_token_hint", &hint), ("post_logout_redirect_uri", "https://evil.example/")],
        &[("post_logout_redirect_uri", here)],
        &[("client_id", "another-app"), ("post_logout_redirect_uri", here)],
        &[("id_token_hint", &forged), ("post_logout_redirect_uri", here)],
    ];
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let end = format!("{}/idp/v2.0/logout", app.sandbox_url);
    for query in refused {
        let r = client.get(&end).query(query).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query:?}");
        assert!(r.headers().get("location").is_none(), "{query:?}: never redirected");
    }
    let r = client
        .get(&end)
        .query(&[("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", here), ("state", "s1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), format!("{here}?state=s1"));
    assert_eq!(app.sandbox.ended_sessions(), vec![oid_of(SAM_SALES)], "Sam's session was ended");
}
