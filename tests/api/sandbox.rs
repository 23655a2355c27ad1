//! The sandbox enforces what Partner Center and Entra ID enforce: its own tokens only,
//! for the right audience; PKCE verified; App+User versus App-only; agent roles.

use mca_portal::config::DEFAULT_OIDC_CLIENT_ID as SANDBOX_CLIENT_ID;
use mca_portal::sandbox::CLIENT_SECRET as SANDBOX_CLIENT_SECRET;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

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
    let code = authorization_code(&app.sandbox_url, SAM_SALES).await;
    let wrong_secret = token_request(&app.sandbox_url, &code_grant(&code, PKCE_VERIFIER), "wrong").await;
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    let wrong_verifier =
        token_request(&app.sandbox_url, &code_grant(&code, &"x".repeat(50)), SANDBOX_CLIENT_SECRET).await;
    assert_eq!(wrong_verifier.status(), StatusCode::BAD_REQUEST);
    let body: Value = wrong_verifier.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The code was spent by the failed attempt: codes are single use.
    let again = token_request(&app.sandbox_url, &code_grant(&code, PKCE_VERIFIER), SANDBOX_CLIENT_SECRET).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    // Refresh tokens rotate.
    let t = user_tokens(&app.sandbox_url, SAM_SALES).await;
    let rt = t["refresh_token"].as_str().unwrap();
    let r = token_request(
        &app.sandbox_url,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        SANDBOX_CLIENT_SECRET,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = token_request(
        &app.sandbox_url,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        SANDBOX_CLIENT_SECRET,
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a used refresh token is spent");
}

#[tokio::test]
async fn partner_center_accepts_only_its_own_tokens_for_its_audience() {
    let app = spawn_app().await;
    let (status, body) = pc_get(&app, "/v1/customers", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["description"].is_string(), "errors in Partner Center's JSON shape");
    let t = user_tokens(&app.sandbox_url, SAM_SALES).await;
    let (status, _) = pc_get(&app, "/v1/customers", t["id_token"].as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an ID token is for the portal, not for Partner Center");
    let (status, body) = pc_get(&app, "/v1/customers?size=5", t["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 5);
    assert!(body["links"]["next"]["headers"][0]["key"] == "MS-ContinuationToken");
    // A token of another sandbox (another issuer) is refused.
    let other = spawn_app().await;
    let t2 = user_tokens(&other.sandbox_url, SAM_SALES).await;
    let (status, _) = pc_get(&app, "/v1/customers", t2["access_token"].as_str()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A user without an agent role gets Partner Center's 403.
    let nico = user_tokens(&app.sandbox_url, NICO_NO_ROLE).await;
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
    let t = user_tokens(&app.sandbox_url, SAM_SALES).await;
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

async fn pc_post(app: &TestApp, path: &str, bearer: &str, body: serde_json::Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{}", app.sandbox_url, path))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

fn attestation(first: &str, date: &str, template: &str) -> Value {
    serde_json::json!({
        "primaryContact": {"firstName": first, "lastName": "Carr", "email": format!("{}@example.com", first.to_lowercase())},
        "templateId": template,
        "dateAgreed": date,
        "type": "MicrosoftCustomerAgreement",
    })
}

#[tokio::test]
async fn the_attest_call_enforces_partner_centers_rules() {
    let app = spawn_app().await;
    let id = app.customer_id("Bellows College");
    let path = format!("/v1/customers/{id}/agreements");
    let template = "117a77b0-9360-443b-8795-c6dedc750cf9";
    let today = format!("{}T00:00:00Z", chrono::Utc::now().date_naive());
    let sam = user_tokens(&app.sandbox_url, SAM_SALES).await;
    let sam = sam["access_token"].as_str().unwrap();
    // Helpdesk and users without an agent role: 403.
    for who in [HANA_HELPDESK, NICO_NO_ROLE] {
        let t = user_tokens(&app.sandbox_url, who).await;
        let (status, body) =
            pc_post(&app, &path, t["access_token"].as_str().unwrap(), attestation("Ann", &today, template)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(body["code"], 600006);
    }
    // An indirect reseller: 403, even on its own customer.
    let fiona = user_tokens(&app.sandbox_url, FIONA_FABRIKAM).await;
    let own = app.customer_id("Cascade Bicycles");
    let (status, body) = pc_post(
        &app,
        &format!("/v1/customers/{own}/agreements"),
        fiona["access_token"].as_str().unwrap(),
        attestation("Ann", &today, template),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["description"].as_str().unwrap().contains("Indirect resellers"));
    // A date after now in UTC: 600002.
    let tomorrow = format!("{}T00:00:00Z", chrono::Utc::now().date_naive() + chrono::Duration::days(1));
    let (status, body) = pc_post(&app, &path, sam, attestation("Ann", &tomorrow, template)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 600002);
    assert_eq!(body["description"], "Date of agreement cannot be greater than the current date");
    // The retired Cloud Agreement template: refused.
    let (status, body) =
        pc_post(&app, &path, sam, attestation("Ann", &today, "998b88de-aa99-4388-a42c-1b3517d49490")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["description"].as_str().unwrap().contains("no longer supported"));
    // Sent with userId: refused (the service fills it in).
    let mut with_user = attestation("Ann", &today, template);
    with_user["userId"] = serde_json::json!("someone");
    assert_eq!(pc_post(&app, &path, sam, with_user).await.0, StatusCode::BAD_REQUEST);
    // A good one, then exactly the same contact again: 600061.
    let (status, body) = pc_post(&app, &path, sam, attestation("Ann", &today, template)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["userId"].is_string(), "userId comes from the token");
    let (status, body) = pc_post(&app, &path, sam, attestation("Ann", "2024-01-01T00:00:00Z", template)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], 600061);
    assert_eq!(body["errorName"], "PartnerConfirmedAgreementAlreadyExists");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let app = spawn_app().await;
    let t = user_tokens(&app.sandbox_url, SAM_SALES).await;
    app.sandbox.set_faults(mca_portal::sandbox::Faults { rate_limit_per_minute: 3, ..Default::default() });
    for _ in 0..3 {
        assert_eq!(pc_get(&app, "/v1/customers?size=1", t["access_token"].as_str()).await.0, StatusCode::OK);
    }
    let r = reqwest::Client::new()
        .get(format!("{}/v1/customers?size=1", app.sandbox_url))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("Rate limit is exceeded."));
    // The limit is per partner tenant: Fabrikam is not affected.
    let fiona = user_tokens(&app.sandbox_url, FIONA_FABRIKAM).await;
    assert_eq!(pc_get(&app, "/v1/customers?size=1", fiona["access_token"].as_str()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_repeated_create_customer_request_id_creates_one_tenant() {
    let app = spawn_app().await;
    let t = user_tokens(&app.sandbox_url, SAM_SALES).await;
    let body = serde_json::json!({
        "companyProfile": {"domain": "onceonly.onmicrosoft.com"},
        "billingProfile": {"email": "ap@once.example", "culture": "en-US", "language": "en", "companyName": "Once Only",
            "defaultAddress": {"firstName": "Tania", "lastName": "Carr", "addressLine1": "1 Main St", "city": "Redmond", "state": "WA", "postalCode": "98052", "country": "US"}}
    });
    let request_id = uuid::Uuid::new_v4().to_string();
    let send = || {
        reqwest::Client::new()
            .post(format!("{}/v1/customers", app.sandbox_url))
            .bearer_auth(t["access_token"].as_str().unwrap())
            .header("MS-RequestId", &request_id)
            .json(&body)
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let again: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], again["id"], "the same answer, the same tenant");
    assert!(first["userCredentials"]["password"].is_string(), "credentials only in the create answer");
    let (_, one) =
        pc_get(&app, &format!("/v1/customers/{}", first["id"].as_str().unwrap()), t["access_token"].as_str()).await;
    assert!(one.get("userCredentials").is_none(), "never on a later read");
    let (_, list) = pc_get(&app, "/v1/customers?size=500", t["access_token"].as_str()).await;
    let n = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["companyProfile"]["domain"] == "onceonly.onmicrosoft.com")
        .count();
    assert_eq!(n, 1);
}
