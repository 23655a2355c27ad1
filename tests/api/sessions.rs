//! A session that ended stays ended: a slow request that was under way when the agent
//! signed out (or when the session's idle time ran out) writes its session at the end, and
//! that must neither put the row back nor hand the browser a cookie for a live session.
//! And a session in use is not written on every request: its idle deadline moves at most
//! once a minute.

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

/// The one session row as stored: its sealed state (sealed anew on every write of the state)
/// and its idle deadline.
async fn session_row(db: &sqlx::AnyPool) -> (String, i64) {
    sqlx::query_as("SELECT state, expires_at FROM sessions").fetch_one(db).await.unwrap()
}

async fn view_pages(app: &TestApp, b: &Browser, times: usize) {
    let pages = [
        "/customers".to_string(),
        format!("/customers/{}", app.customer_id("Fourth Coffee")),
        "/customers?q=coffee".into(),
    ];
    for _ in 0..times {
        for page in &pages {
            let r = b.get(page).await;
            assert!(r.status().is_success(), "{page}: {}", r.status());
        }
    }
}

#[tokio::test]
async fn page_views_of_a_signed_in_user_write_the_session_at_most_once_a_minute() {
    let app = spawn_app().await;
    let b = app.new_browser();
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    // The first page shows whatever the sign-in left to say, which changes the session.
    view_pages(&app, &b, 1).await;
    let db = app.database().await;
    // As if the deadline was last extended half a minute ago.
    sqlx::query("UPDATE sessions SET expires_at = expires_at - 30").execute(&db).await.unwrap();
    let before = session_row(&db).await;
    view_pages(&app, &b, 10).await;
    assert_eq!(session_row(&db).await, before, "30 page views within the minute wrote nothing");

    // A minute and a half ago: the next page view extends the deadline, once.
    sqlx::query("UPDATE sessions SET expires_at = expires_at - 60").execute(&db).await.unwrap();
    let (state, old_deadline) = session_row(&db).await;
    view_pages(&app, &b, 1).await;
    let extended = session_row(&db).await;
    assert_eq!(extended.0, state, "only the deadline was written, not the state");
    assert!(extended.1 >= old_deadline + 90, "the deadline moved on: {old_deadline} -> {}", extended.1);
    view_pages(&app, &b, 10).await;
    assert_eq!(session_row(&db).await, extended, "and then not again within the minute");
}
