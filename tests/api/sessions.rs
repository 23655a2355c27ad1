//! A session that ended stays ended: a slow request that was under way when the agent
//! signed out (or when the session's idle time ran out) writes its session at the end, and
//! that must neither put the row back nor hand the browser a cookie for a live session.

use mca_portal::sandbox::Faults;
use reqwest::StatusCode;

use crate::helpers::*;

/// The slow request: Refresh on a customer's page waits for a slow Partner Center and then
/// writes the session (its "Read again" message). `meanwhile` runs once the read has reached
/// Partner Center; returns the slow request's answer.
async fn slow_refresh_while(app: &TestApp, b: &Browser, meanwhile: impl AsyncFnOnce()) -> reqwest::Response {
    let id = app.customer_id("Fourth Coffee");
    let token = b.token_of("/customers").await;
    let seen_before = app.sandbox.requests().len();
    app.sandbox.set_faults(Faults { latency_ms: 1500, ..Faults::default() });
    let slow = b.client.post(format!("{}/customers/{id}/refresh", app.address)).form(&[("csrf_token", &token)]).send();
    let slow = tokio::spawn(slow);
    app.wait_until("the refresh has reached Partner Center", async || {
        app.sandbox.requests().iter().skip(seen_before).any(|r| r.path_and_query.contains(&id))
    })
    .await;
    meanwhile().await;
    let answer = slow.await.unwrap().unwrap();
    app.sandbox.set_faults(Faults::default());
    answer
}

/// What a browser holding only `cookie` is shown at the start page.
async fn start_page_with(app: &TestApp, cookie: &str) -> (StatusCode, String) {
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = plain.get(format!("{}/", app.address)).header("cookie", cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The answer sets no session cookie with a value (a removal, with an empty value, is fine).
fn gives_no_session(r: &reqwest::Response) {
    if let Some(cookie) = session_cookie_set(r) {
        assert!(cookie.ends_with('='), "the slow answer hands out a session cookie: {cookie}");
    }
}

#[tokio::test]
async fn a_request_under_way_at_sign_out_does_not_bring_the_session_back() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let old_cookie = session_cookie_set(&b.sign_in_as(SAM_SALES).await).expect("a session cookie");
    let slow = slow_refresh_while(&app, &b, async || {
        let token = b.token_of("/customers").await;
        let r = b.post_form("/logout", &[("csrf_token", &token)]).await;
        let to = location(&r);
        assert!(to.contains("/idp/v2.0/logout"), "signed out while the refresh waits, on to the provider: {to}");
    })
    .await;
    assert_eq!(slow.status(), StatusCode::SEE_OTHER, "the refresh itself finished");
    gives_no_session(&slow);
    assert_eq!(app.store.session_count().await.unwrap(), 0, "no session row was written back");
    let (status, html) = start_page_with(&app, &old_cookie).await;
    assert_eq!(status, StatusCode::OK, "the old cookie gets the start page, not the customers");
    assert!(html.contains("href=\"/login\"") && !html.contains(SAM_SALES), "signed out: {html}");
    let r = b.get("/customers").await;
    assert!(location(&r).starts_with("/login"), "the browser itself is signed out too");
}

#[tokio::test]
async fn a_request_under_way_when_the_idle_time_runs_out_does_not_extend_the_session() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let old_cookie = session_cookie_set(&b.sign_in_as(SAM_SALES).await).expect("a session cookie");
    let db = app.database().await;
    let slow = slow_refresh_while(&app, &b, async || {
        // The idle time runs out while the refresh waits.
        sqlx::query("UPDATE sessions SET expires_at = 1").execute(&db).await.unwrap();
    })
    .await;
    assert_eq!(slow.status(), StatusCode::SEE_OTHER);
    gives_no_session(&slow);
    assert_eq!(app.store.session_count().await.unwrap(), 1, "only the expired row: no new one");
    assert_eq!(app.store.session_purge_expired().await.unwrap(), 1, "and it stayed expired");
    let (status, html) = start_page_with(&app, &old_cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(SAM_SALES), "the idle session is over: {html}");
}
