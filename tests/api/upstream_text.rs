//! Pages never show what Partner Center or the identity provider wrote: an error page and
//! a refused submission show Partner Center's code and a sentence of the portal's; the
//! identity provider's `error_description` appears only quoted, after the portal's own
//! sentence, escaped and shortened.

use mca_portal::sandbox::{Faults, Refusal};
use reqwest::StatusCode;

use crate::helpers::*;

/// Text no page of the portal may ever contain: it only comes from upstream.
const MARKER: &str = "upstream-marker-7c1e";

/// Partner Center's newer error shape, with the marker and some HTML in every text field.
fn error_body(code: u32) -> String {
    let text = format!("<img src=x onerror=alert(1)><b>{MARKER}</b>");
    serde_json::json!({"code": code, "message": text, "description": text, "errorName": MARKER}).to_string()
}

/// Makes the sandbox answer the requests of this method (any, when None) whose path
/// contains `path_contains` with this status and body.
fn refuse(app: &TestApp, method: Option<&str>, path_contains: &str, status: u16, body: String) {
    let refusal = Refusal { path_contains: path_contains.into(), method: method.map(String::from), status, body };
    app.sandbox.set_faults(Faults { refusal: Some(refusal), ..Faults::default() });
}

#[tokio::test]
async fn an_error_page_shows_the_code_and_the_portals_sentence_not_partner_centers_text() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Fourth Coffee");
    let path = format!("/v1/customers/{id}");
    for (status, body, shown) in [
        (400, error_body(600099), "600099"),
        (403, error_body(600006), "600006"),
        (400, format!("<html><body><h1>{MARKER}</h1></body></html>"), "HTTP status 400"),
        (409, serde_json::json!({"code": format!("<i>{MARKER}</i>"), "description": MARKER}).to_string(), "409"),
    ] {
        refuse(&app, None, &path, status, body);
        let r = b.post_with_token_of("/customers", &format!("/customers/{id}/refresh")).await;
        let html = r.text().await.unwrap();
        assert!(!html.contains(MARKER), "{status}: no upstream text on the page");
        assert!(html.contains(shown), "{status}: the page shows {shown}");
        assert!(html.contains("Partner Center"), "{status}: and says who refused");
    }
}

#[tokio::test]
async fn a_refused_submission_shows_the_code_and_the_portals_sentence() {
    let app = spawn_app_with(Db::Sqlite, |s, _| impatient(s)).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Fourth Coffee");
    let (_, _, hidden) = b.open_edit_agreement(&id).await;
    refuse(&app, Some("POST"), &format!("/v1/customers/{id}/agreements"), 400, error_body(600098));
    let r = b.post_agreement(&id, &hidden, &tania("tania@fourthcoffee.example", &today_utc())).await;
    let after =
        if r.status() == StatusCode::SEE_OTHER { b.get_html(&location(&r)).await.1 } else { r.text().await.unwrap() };
    assert!(!after.contains(MARKER), "the answer to Save shows no upstream text");
    let page = b.customer_page(&id).await;
    assert!(shows_submission(&page, "failed"), "the refusal is final");
    assert!(!page.contains(MARKER), "the account page shows no upstream text");
    assert!(page.contains("600098"), "but Partner Center's code");
}

#[tokio::test]
async fn a_submission_waiting_for_another_attempt_shows_no_upstream_text() {
    let app = spawn_app_with(Db::Sqlite, |s, _| impatient(s)).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Fourth Coffee");
    let (_, _, hidden) = b.open_edit_agreement(&id).await;
    let body = format!("<html><pre>{MARKER}</pre></html>");
    refuse(&app, Some("POST"), &format!("/v1/customers/{id}/agreements"), 503, body);
    b.post_agreement(&id, &hidden, &tania("tania@fourthcoffee.example", &today_utc())).await;
    // The first attempt may still be under way when Save answers (the wait is a second).
    app.wait_until("the attempt's reason is shown", async || b.customer_page(&id).await.contains("not answering"))
        .await;
    let page = b.customer_page(&id).await;
    assert!(shows_submission(&page, "pending"), "a 503 is tried again later");
    assert!(!page.contains(MARKER), "the reason shown is the portal's");
}

/// Starts a sign-in in this browser; returns the `state` the identity provider must echo.
async fn started_sign_in(b: &Browser) -> String {
    let to = location(&b.get("/login").await);
    let url = url::Url::parse(&to).expect("the provider's address");
    url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).expect("a state")
}

/// The callback address of an error answer with this code, description and state.
fn error_answer(error: &str, description: &str, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("error", error)
        .append_pair("error_description", description)
        .append_pair("state", state)
        .finish();
    format!("/auth/callback?{query}")
}

#[tokio::test]
async fn the_identity_providers_description_is_only_quoted_after_the_portals_sentence() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let description = format!("<script>alert(1)</script>{MARKER} {}", "x".repeat(400));
    let state = started_sign_in(&b).await;
    let query = error_answer("server_error", &description, &state);
    let query = query.trim_start_matches("/auth/callback?");
    let (status, html) = b.get_html(&format!("/auth/callback?{query}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let sentence = html.find("could not complete the sign-in").expect("the portal's own sentence");
    let quote = html.find("<q class=\"upstream-detail\">").expect("the description, quoted");
    assert!(sentence < quote, "the portal's sentence comes first");
    let quoted = between(&html[quote..], ">", "</q>").unwrap();
    assert!(quoted.contains(MARKER), "the description is quoted");
    assert!(!html.contains("<script>alert"), "escaped");
    assert!(unescape(quoted).chars().count() <= 201, "shortened: {}", quoted.len());
    assert_eq!(html.matches(MARKER).count(), 1, "and nowhere else");
}

#[tokio::test]
async fn an_unknown_error_code_of_the_identity_provider_is_not_shown_as_the_portals() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let state = started_sign_in(&b).await;
    let (status, html) = b.get_html(&error_answer(&format!("<b>{MARKER}</b>"), "", &state)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!html.contains(MARKER), "a code that is not a standard one is the provider's text");
    assert!(html.contains("refused the sign-in"), "the portal's sentence");
}

#[tokio::test]
async fn a_link_to_the_callback_can_not_put_words_on_the_portals_page() {
    let app = spawn_app().await;
    let said = format!("Your account is locked, call {MARKER}");
    // Without a sign-in started in this browser, and with one whose state does not match.
    let stranger = app.new_browser();
    let (status, html) = stranger.get_html(&error_answer("access_denied", &said, "guessed")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!html.contains(MARKER), "no sign-in of this browser: the description is not shown");
    assert!(html.contains("does not belong to a sign-in started in this browser"), "{html}");
    let b = app.new_browser();
    started_sign_in(&b).await;
    let (_, html) = b.get_html(&error_answer("access_denied", &said, "another-state")).await;
    assert!(!html.contains(MARKER), "a state that is not this sign-in's: not shown either");
    assert!(html.contains("did not match the sign-in started here"), "{html}");
}
