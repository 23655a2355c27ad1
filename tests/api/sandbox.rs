//! The sandbox enforces what Partner Center and Entra ID enforce: its own tokens only,
//! for the right audience; PKCE verified; App+User versus App-only; agent roles.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mca_portal::config::{SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::*;

const VERIFIER: &str = "a-verifier-that-is-long-enough-for-pkce-0123456789";

/// Runs the authorization code flow against the sandbox by hand; returns the code.
async fn code_for(app: &TestApp, who: &str) -> String {
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let authorize = format!(
        "{}/idp/v2.0/authorize?client_id={SANDBOX_CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&response_type=code&scope=openid%20offline_access&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
        app.sandbox_url
    );
    let html = c.get(&authorize).send().await.unwrap().text().await.unwrap();
    let b = Browser { client: c, address: app.sandbox_url.clone() };
    let back = b.choose_user(&authorize, &html, who).await;
    url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
}

async fn token(app: &TestApp, form: &[(&str, &str)], secret: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/idp/v2.0/token", app.sandbox_url))
        .basic_auth(SANDBOX_CLIENT_ID, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn user_tokens(app: &TestApp, who: &str) -> Value {
    let code = code_for(app, who).await;
    let r = token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("code_verifier", VERIFIER),
        ],
        SANDBOX_CLIENT_SECRET,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn pc_get(app: &TestApp, path: &str, bearer: Option<&str>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().get(format!("{}{}", app.sandbox_url, path));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn discovery_and_keys_describe_a_real_provider() {
    let app = spawn_app().await;
    let d: Value = reqwest::get(format!("{}/idp/v2.0/.well-known/openid-configuration", app.sandbox_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], format!("{}/idp/v2.0", app.sandbox_url));
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let keys: Value = reqwest::get(d["jwks_uri"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    assert_eq!(keys["keys"][0]["kty"], "RSA");
    assert!(keys["keys"][0]["kid"].is_string());
}

#[tokio::test]
async fn the_token_endpoint_checks_client_pkce_and_single_use() {
    let app = spawn_app().await;
    let code = code_for(&app, SAM_SALES).await;
    let wrong_secret = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("code_verifier", VERIFIER),
        ],
        "wrong",
    )
    .await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    let wrong_verifier = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("code_verifier", "x".repeat(50).as_str()),
        ],
        SANDBOX_CLIENT_SECRET,
    )
    .await;
    assert_eq!(wrong_verifier.status(), StatusCode::BAD_REQUEST);
    let body: Value = wrong_verifier.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The code was spent by the failed attempt: codes are single use.
    let again = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("code_verifier", VERIFIER),
        ],
        SANDBOX_CLIENT_SECRET,
    )
    .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    // Refresh tokens rotate.
    let t = user_tokens(&app, SAM_SALES).await;
    let rt = t["refresh_token"].as_str().unwrap();
    let r = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", rt)], SANDBOX_CLIENT_SECRET).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = token(&app, &[("grant_type", "refresh_token"), ("refresh_token", rt)], SANDBOX_CLIENT_SECRET).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a used refresh token is spent");
}

#[tokio::test]
async fn partner_center_accepts_only_its_own_tokens_for_its_audience() {
    let app = spawn_app().await;
    let (status, body) = pc_get(&app, "/v1/customers", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["description"].is_string(), "errors in Partner Center's JSON shape");
    let t = user_tokens(&app, SAM_SALES).await;
    let (status, _) = pc_get(&app, "/v1/customers", t["id_token"].as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an ID token is for the portal, not for Partner Center");
    let (status, body) = pc_get(&app, "/v1/customers?size=5", t["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 5);
    assert!(body["links"]["next"]["headers"][0]["key"] == "MS-ContinuationToken");
    // A token of another sandbox (another issuer) is refused.
    let other = spawn_app().await;
    let t2 = user_tokens(&other, SAM_SALES).await;
    let (status, _) = pc_get(&app, "/v1/customers", t2["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A user without an agent role gets Partner Center's 403.
    let nico = user_tokens(&app, NICO_NO_ROLE).await;
    let (status, body) = pc_get(&app, "/v1/customers", nico["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], 600006);
}

#[tokio::test]
async fn app_only_tokens_read_customers_but_not_app_plus_user_calls() {
    let app = spawn_app().await;
    let r = reqwest::Client::new()
        .post(format!("{}/idp/{}/oauth2/v2.0/token", app.sandbox_url, mca_portal::sandbox::seed::CONTOSO_TENANT))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    let bearer = t["access_token"].as_str();
    let (status, body) = pc_get(&app, "/v1/customers?size=100", bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 36);
    let id = app.customer_id("Adatum Corporation");
    let (status, _) =
        pc_get(&app, &format!("/v1/customers/{id}/agreements?agreementType=MicrosoftCustomerAgreement"), bearer).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "listing attestations needs App+User");
}

#[tokio::test]
async fn leaving_out_the_agreement_type_answers_with_the_cloud_agreement() {
    let app = spawn_app().await;
    let t = user_tokens(&app, SAM_SALES).await;
    let id = app.customer_id("Adatum Corporation");
    let (_, body) = pc_get(&app, &format!("/v1/customers/{id}/agreements"), t["access_token"].as_str()).await;
    assert_eq!(body["items"][0]["type"], "MicrosoftCloudAgreement");
    let (_, body) = pc_get(
        &app,
        &format!("/v1/customers/{id}/agreements?agreementType=MicrosoftCustomerAgreement"),
        t["access_token"].as_str(),
    )
    .await;
    assert_eq!(body["items"][0]["type"], "MicrosoftCustomerAgreement");
}
