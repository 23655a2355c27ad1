//! Rate limits: sign-in starts and callbacks per client address, POSTs per client address
//! and per signed-in session, each answered over the limit with 429, `Retry-After` and a
//! page that says when to try again; and a flood of sign-in starts stores nothing.

use reqwest::StatusCode;

use crate::helpers::*;

/// Asserts that `r` is the "too many requests" answer and returns its `Retry-After`.
async fn refused_for_now(r: reqwest::Response) -> (u64, String) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after} s");
    let html = r.text().await.unwrap();
    assert!(html.contains("Too many requests"), "{html}");
    assert!(html.contains(&format!("Wait {retry_after} seconds")), "the page says when to try again: {html}");
    assert!(html.contains("Request id"), "the page layout of the other error pages");
    (retry_after, html)
}

/// The CSRF token and the Refresh address of Fourth Coffee, for a browser's POSTs.
async fn refresh_form(app: &TestApp, b: &Browser) -> (String, String) {
    (b.token_of("/customers").await, format!("/customers/{}/refresh", app.customer_id("Fourth Coffee")))
}

#[tokio::test]
async fn sign_in_starts_over_the_limit_get_429_with_retry_after_and_a_page_saying_when() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.rate_limits.rate_limit_sign_in_per_minute = 3).await.unwrap();
    for _ in 0..3 {
        assert_eq!(app.new_browser().get("/login").await.status(), StatusCode::SEE_OTHER);
    }
    refused_for_now(app.new_browser().get("/login").await).await;
    // Callbacks count in the same limit, and so do both when a letter is percent-encoded
    // (the router decodes it and reaches the same handler).
    refused_for_now(app.new_browser().get("/auth/callback?code=x&state=y").await).await;
    refused_for_now(app.new_browser().get("/%6cogin").await).await;
    refused_for_now(app.new_browser().get("/auth/%63allback?code=x&state=y").await).await;
    // Pages that are not sign-in and not POSTs are not limited.
    assert_eq!(app.new_browser().get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_flood_of_sign_in_starts_stores_nothing_on_the_server() {
    let app = spawn_app().await;
    for _ in 0..100 {
        let r = app.new_browser().get("/login").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the defaults let a hundred sign-ins start");
        let state = url::Url::parse(&location(&r))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(cookie.starts_with("mca-sign-in="), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Max-Age=600", "Path=/"] {
            assert!(cookie.contains(attribute), "{attribute} in {cookie}");
        }
        assert!(!cookie.contains(&state), "the cookie is encrypted: no state in clear");
    }
    assert_eq!(app.store.session_count().await.unwrap(), 0, "no session row for a sign-in under way");
}

#[tokio::test]
async fn posts_over_the_limit_of_a_session_get_429_and_other_sessions_go_on() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.rate_limits.rate_limit_session_posts_per_minute = 3).await.unwrap();
    let sam = app.signed_in(SAM_SALES).await;
    let (token, refresh) = refresh_form(&app, &sam).await;
    for _ in 0..3 {
        assert_eq!(sam.post_form(&refresh, &[("csrf_token", &token)]).await.status(), StatusCode::SEE_OTHER);
    }
    let (_, html) = refused_for_now(sam.post_form(&refresh, &[("csrf_token", &token)]).await).await;
    assert!(html.contains(SAM_SALES), "the page keeps the signed-in frame");
    assert_eq!(sam.get("/customers").await.status(), StatusCode::OK, "reading goes on");
    let alex = app.signed_in(ALEX_ADMIN).await;
    let (token, refresh) = refresh_form(&app, &alex).await;
    assert_eq!(
        alex.post_form(&refresh, &[("csrf_token", &token)]).await.status(),
        StatusCode::SEE_OTHER,
        "another session from the same address is not held back"
    );
}

#[tokio::test]
async fn posts_over_the_limit_of_an_address_get_429_whichever_session_sends_them() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.rate_limits.rate_limit_posts_per_minute = 4).await.unwrap();
    let sam = app.signed_in(SAM_SALES).await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    for b in [&sam, &alex] {
        let (token, refresh) = refresh_form(&app, b).await;
        for _ in 0..2 {
            assert_eq!(b.post_form(&refresh, &[("csrf_token", &token)]).await.status(), StatusCode::SEE_OTHER);
        }
    }
    let (token, refresh) = refresh_form(&app, &alex).await;
    refused_for_now(alex.post_form(&refresh, &[("csrf_token", &token)]).await).await;
    // An anonymous POST from the address counts too (before its CSRF check).
    refused_for_now(app.new_browser().post_form("/logout", &[]).await).await;
}

/// Starts a sign-in with this `X-Forwarded-For` header; returns the status.
async fn login_forwarded_for(app: &TestApp, forwarded_for: &str) -> StatusCode {
    let b = app.new_browser();
    b.client
        .get(format!("{}/login", app.address))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_proxy_header_names_the_client_only_when_the_settings_trust_it() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.rate_limits.rate_limit_sign_in_per_minute = 2).await.unwrap();
    assert_eq!(login_forwarded_for(&app, "203.0.113.1").await, StatusCode::SEE_OTHER);
    assert_eq!(login_forwarded_for(&app, "203.0.113.2").await, StatusCode::SEE_OTHER);
    assert_eq!(
        login_forwarded_for(&app, "203.0.113.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "an untrusted header cannot make a client look like many"
    );

    let app = spawn_app_with(Db::Sqlite, |s, _| {
        s.rate_limits.rate_limit_sign_in_per_minute = 2;
        s.trusted_proxy_header = Some("X-Forwarded-For".into());
    })
    .await
    .unwrap();
    // The proxy appends the address it saw; what the client wrote before it is not trusted.
    for _ in 0..2 {
        assert_eq!(login_forwarded_for(&app, "198.51.100.9, 203.0.113.1").await, StatusCode::SEE_OTHER);
    }
    assert_eq!(login_forwarded_for(&app, "198.51.100.7, 203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login_forwarded_for(&app, "198.51.100.9, 203.0.113.2").await, StatusCode::SEE_OTHER);
}
