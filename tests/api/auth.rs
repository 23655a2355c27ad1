//! Sign-in through the real OIDC redirects, and every way it must be refused.

use mca_portal::sandbox::IdTokenDefect;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn each_demo_user_signs_in_and_lands_where_their_role_allows() {
    let app = spawn_app().await;
    for (who, landing, role) in [
        (SAM_SALES, "/customers", "Sales agent"),
        (ALEX_ADMIN, "/customers", "Admin agent"),
        (HANA_HELPDESK, "/customers", "Helpdesk agent"),
        (GLORIA_GLOBAL, "/customers", "Admin agent"),
        (FIONA_FABRIKAM, "/customers", "Admin agent"),
        (NICO_NO_ROLE, "/no-access", "No agent role"),
    ] {
        let b = app.new_browser();
        let r = b.sign_in_as(who).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{who}");
        assert_eq!(location(&r), landing, "{who}");
        let (status, html) = b.get_html(landing).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert!(html.contains(who), "{who}'s name is in the header");
        assert!(html.contains(role), "{who} is shown as {role}");
        assert!(html.contains("Sign out"));
    }
}

#[tokio::test]
async fn the_layout_names_the_partner_and_its_type() {
    let app = spawn_app().await;
    let (_, html) = app.signed_in(SAM_SALES).await.get_html("/customers").await;
    assert!(html.contains("Contoso Distribution"));
    assert!(html.contains("Indirect provider"));
    let (_, html) = app.signed_in(FIONA_FABRIKAM).await.get_html("/customers").await;
    assert!(html.contains("Fabrikam IT"));
    assert!(html.contains("Indirect reseller"));
}

#[tokio::test]
async fn the_user_without_an_agent_role_is_told_which_roles_may_use_the_portal() {
    let app = spawn_app().await;
    let b = app.signed_in(NICO_NO_ROLE).await;
    let (status, html) = b.get_html("/no-access").await;
    assert_eq!(status, StatusCode::OK);
    for role in ["Admin agent", "Sales agent", "Helpdesk agent"] {
        assert!(html.contains(role), "{role}");
    }
    let (status, html) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Helpdesk agent"));
}

#[tokio::test]
async fn each_sign_in_gives_a_new_session_id_and_ends_the_one_before() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let first = session_cookie_set(&b.sign_in_as(SAM_SALES).await).expect("a session cookie at sign-in");
    let r = b.sign_in_as(SAM_SALES).await;
    let second = session_cookie_set(&r).expect("a session cookie at the second sign-in");
    assert_ne!(first, second, "a new session id is issued at sign-in");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("mca-session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    // Over plain http on loopback: no Secure flag and no __Host- prefix.
    assert!(!cookie.contains("Secure"));
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = replay.get(format!("{}/customers", app.address)).header("cookie", &first).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session before the sign-in is over");
    assert!(location(&r).starts_with("/login"));
}

#[tokio::test]
async fn https_public_url_makes_cookies_secure_with_host_prefix_and_sends_hsts() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.public_url = Some("https://portal.example".into())).await.unwrap();
    let r = app.browser.get("/login").await;
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-mca-sign-in="), "{cookie}");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("Path=/"));
    assert!(r.headers().get("strict-transport-security").is_some());
}

#[tokio::test]
async fn a_wrong_state_is_refused() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let (authorize, html) = b.start_sign_in().await;
    let callback = b.choose_user(&authorize, &html, SAM_SALES).await;
    let mut u = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let forged = k == "state";
            (k.into_owned(), if forged { "forged-state".into() } else { v.into_owned() })
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    let r = b.client.get(u.as_str()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(html.contains("did not match"), "the page says why");
    assert!(html.contains("Request id"));
    let r = b.get("/customers").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "not signed in");
    assert!(location(&r).starts_with("/login"));
}

#[tokio::test]
async fn a_callback_replayed_after_sign_in_is_refused() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let (authorize, html) = b.start_sign_in().await;
    let callback = b.choose_user(&authorize, &html, SAM_SALES).await;
    assert_eq!(b.client.get(&callback).send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let again = b.client.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

async fn refused_with(defect: IdTokenDefect) {
    let app = spawn_app().await;
    app.sandbox.set_next_id_token_defect(defect);
    let b = app.new_browser();
    let r = b.sign_in_as(SAM_SALES).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{defect:?} is refused");
    let html = r.text().await.unwrap();
    assert!(html.contains("could not be verified"), "{defect:?}: the page says the sign-in was not verified");
    let r = b.get("/customers").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{defect:?}: not signed in");
    // The next, sound, sign-in works.
    let r = b.sign_in_as(SAM_SALES).await;
    assert_eq!(location(&r), "/customers");
}

#[tokio::test]
async fn a_wrong_nonce_is_refused() {
    refused_with(IdTokenDefect::WrongNonce).await;
}

#[tokio::test]
async fn a_tampered_id_token_is_refused() {
    refused_with(IdTokenDefect::Tampered).await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    refused_with(IdTokenDefect::Expired).await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_or_issuer_is_refused() {
    refused_with(IdTokenDefect::WrongAudience).await;
    refused_with(IdTokenDefect::WrongIssuer).await;
}

#[tokio::test]
async fn cancelling_at_the_identity_provider_says_so() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let (authorize, html) = b.start_sign_in().await;
    let mut form = hidden_inputs(&html);
    form.push(("cancel".into(), "1".into()));
    let u = url::Url::parse(&authorize).unwrap();
    let r = b
        .client
        .post(format!("http://{}:{}/idp/v2.0/authorize", u.host_str().unwrap(), u.port().unwrap()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let r = b.client.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("cancelled"));
}

#[tokio::test]
async fn sign_out_deletes_the_session_on_the_server() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let r = b.sign_in_as(SAM_SALES).await;
    // Keep a copy of the signed-in session's cookie to replay after signing out.
    let cookie = session_cookie_set(&r).expect("a session cookie at sign-in");
    let token = b.token_of("/customers").await;
    let r = b.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // By way of the identity provider, which ends its session too and sends the browser back.
    let r = b.client.get(location(&r)).send().await.unwrap();
    assert_eq!(location(&r), format!("{}/?signed_out=1", app.address));
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = replay.get(format!("{}/customers", app.address)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a signed-out session cannot be reused");
    assert!(location(&r).starts_with("/login"));
    let (_, html) = b.get_html("/?signed_out=1").await;
    assert!(html.contains("You are signed out"));
}

#[tokio::test]
async fn short_lived_access_tokens_are_refreshed_before_they_expire() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| sandbox.access_token_seconds = 60).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Fourth Coffee");
    let r = b.post_with_token_of("/customers", &format!("/customers/{id}/refresh")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let refreshed =
        app.sandbox.requests().iter().filter(|r| r.path_and_query.ends_with("/token") && r.method == "POST").count();
    assert!(refreshed >= 2, "the code exchange and at least one refresh reached the token endpoint ({refreshed})");
}

#[tokio::test]
async fn sessions_and_tokens_never_reach_the_cookie() {
    let app = spawn_app().await;
    let b = app.new_browser();
    let r = b.sign_in_as(SAM_SALES).await;
    let cookie = session_cookie_set(&r).expect("a session cookie at sign-in");
    // The cookie is encrypted and carries only a random key: far too short for a JWT.
    assert!(cookie.len() < 300, "{cookie}");
    assert!(!cookie.contains("eyJ"));
}

#[tokio::test]
async fn a_partner_type_set_in_the_settings_overrides_the_relationships_call() {
    let app = spawn_app_with(Db::Sqlite, |s, _| {
        s.partner_types.insert(
            mca_portal::sandbox::seed::FABRIKAM_TENANT.to_string(),
            mca_portal::domain::PartnerType::DirectBill,
        );
    })
    .await
    .unwrap();
    let b = app.signed_in(FIONA_FABRIKAM).await;
    let (_, html) = b.get_html("/customers").await;
    assert!(html.contains("Direct-bill partner"), "the setting wins over Partner Center's answer");
    assert!(html.contains("href=\"/customers/new\""), "so the portal offers what a direct-bill partner may do");
    assert!(
        !app.sandbox.requests().iter().any(|r| r.path_and_query.contains("relationship_type=")),
        "the relationships call is not needed"
    );
}
