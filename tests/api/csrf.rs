//! No POST succeeds without the session's own CSRF token.

use reqwest::StatusCode;

use crate::helpers::*;

fn post_routes(app: &TestApp) -> Vec<String> {
    let id = app.customer_id("Relecloud");
    vec![
        "/logout".into(),
        "/customers/refresh".into(),
        format!("/customers/{id}/refresh"),
        format!("/customers/{id}/agreement"),
        format!("/customers/{id}/submissions/{}/send", uuid::Uuid::new_v4()),
        format!("/customers/new/submissions/{}/send", uuid::Uuid::new_v4()),
    ]
}

#[tokio::test]
async fn every_post_is_refused_without_a_token() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    for route in post_routes(&app) {
        let r = b.post_form(&route, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {route} without a token");
        let id = r.headers().get("x-request-id").expect("a request id on the refusal").to_str().unwrap().to_string();
        assert!(r.headers().get("content-security-policy").is_some(), "security headers on the refusal");
        let html = r.text().await.unwrap();
        assert!(html.contains("This form has expired"), "the page explains");
        assert!(html.contains(&id), "the page shows the request id");
        let r = b.post_form(&route, &[("csrf_token", "")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {route} with an empty token");
    }
    // Still signed in: the refused sign-out did nothing.
    assert_eq!(b.get("/customers").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_post_is_refused_with_another_sessions_token() {
    let app = spawn_app().await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    let sam = app.signed_in(SAM_SALES).await;
    let sams_token = sam.token_of("/customers").await;
    assert_ne!(alex.token_of("/customers").await, sams_token, "each session has its own token");
    for route in post_routes(&app) {
        let r = alex.post_form(&route, &[("csrf_token", &sams_token)]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {route} with another session's token");
        let r = alex
            .client
            .post(format!("{}{}", app.address, route))
            .header("x-csrf-token", &sams_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {route} with another session's token in the header");
    }
    assert_eq!(alex.get("/customers").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_token_in_a_header_works_for_scripts() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let token = b.token_of("/customers").await;
    let r =
        b.client.post(format!("{}/customers/refresh", app.address)).header("x-csrf-token", token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_token_from_before_sign_in_does_not_survive_it() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let old = b.token_of("/customers").await;
    // Signing in again renews the session and its token.
    let r = b.sign_in_as(SAM_SALES).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b.post_form("/customers/refresh", &[("csrf_token", &old)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signing_out_twice_says_signed_out() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let token = b.token_of("/customers").await;
    assert_eq!(b.post_form("/logout", &[("csrf_token", &token)]).await.status(), StatusCode::SEE_OTHER);
    // The same form again, as from a second tab.
    let r = b.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/?signed_out=1");
}
