//! API keys for the readiness API (docs/readiness.md, "API keys"): an Admin agent creates
//! one with a name and sees it once; it works, its last use shows, revoking it (after a
//! confirmation) refuses it at once; only a hash is stored; each action is audited; only
//! Admin agents manage keys, and a key reads only its own partner's customers.

use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

const SETTINGS: &str = "/settings/api-keys";

/// Creates a key named `name` as `admin`; returns the key as the page shows it once.
pub async fn create_key(admin: &Browser, name: &str) -> String {
    let (status, html) = admin.post_html(SETTINGS, &create_form(admin, name).await).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let key = between(&html, "id=\"new-key\" value=\"", "\"").expect("the page shows the new key").to_string();
    assert!(key.starts_with("mcak_") && key.len() == 48, "{key}");
    key
}

/// The create form of the settings page as `admin` gets it (its CSRF token and its token
/// for sending it once), with `name` typed.
async fn create_form(admin: &Browser, name: &str) -> Vec<(String, String)> {
    let (_, page) = admin.get_html(SETTINGS).await;
    let mut form = form_fields(&page, SETTINGS);
    form.push(("name".into(), name.into()));
    form
}

/// Asks the API at `path` with `key` as a bearer token, with a client that keeps no cookies.
pub async fn api_get(app: &TestApp, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{}{path}", app.address));
    if let Some(k) = key {
        request = request.bearer_auth(k);
    }
    request.send().await.expect("API request")
}

/// The JSON an answer carries.
pub async fn json_of(r: reqwest::Response) -> serde_json::Value {
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json")),
        "a JSON answer"
    );
    r.json().await.expect("JSON")
}

/// An Admin agent of Contoso who has opened the customer list once (so that the portal
/// has read the customers).
pub async fn contoso_admin(app: &TestApp) -> Browser {
    let admin = app.signed_in(ALEX_ADMIN).await;
    assert_eq!(admin.get("/customers").await.status(), StatusCode::OK);
    admin
}

/// The row of the settings page's table for the key with this name.
fn key_row<'a>(html: &'a str, name: &str) -> &'a str {
    html.split("<tr data-api-key=").find(|r| r.contains(&format!(">{name}</th>"))).expect("the key's row")
}

/// The last use of the one key, as stored.
async fn last_used_at(app: &TestApp) -> String {
    let row: (String,) =
        sqlx::query_as("SELECT last_used_at FROM api_keys").fetch_one(&app.database().await).await.unwrap();
    row.0
}

#[tokio::test]
async fn a_key_is_shown_once_works_shows_its_last_use_and_is_refused_once_revoked() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let (_, empty) = admin.get_html(SETTINGS).await;
    assert!(empty.contains("no API keys yet"));
    let key = create_key(&admin, "  Order system  ").await;
    let (_, listed) = admin.get_html(SETTINGS).await;
    assert!(!listed.contains(&key), "the key is shown once only");
    let row = key_row(&listed, "Order system");
    assert!(row.contains(&format!("<code>{}</code>", &key[..13])), "the prefix names it: {row}");
    assert!(row.contains("Alex Admin, "), "who created it: {row}");
    assert!(between(row, "data-last-used>", "</td>").unwrap().contains("never"));

    let id = app.customer_id("Northwind Traders");
    let r = api_get(&app, &format!("/api/v1/customers/{id}/readiness"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, used) = admin.get_html(SETTINGS).await;
    let last_used = between(key_row(&used, "Order system"), "data-last-used>", "</td>").unwrap().to_string();
    assert!(last_used.ends_with("UTC"), "the last use shows: {last_used}");
    // Used again within the minute: nothing is written.
    let first = last_used_at(&app).await;
    assert_eq!(api_get(&app, "/api/v1/customers?limit=1", Some(&key)).await.status(), StatusCode::OK);
    assert_eq!(last_used_at(&app).await, first, "at most one write a minute");

    // Revoking asks first.
    let confirm = format!("{SETTINGS}/{}/revoke", between(&used, "href=\"/settings/api-keys/", "/revoke\"").unwrap());
    let (status, page) = admin.get_html(&confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Revoke the key") && page.contains("Cancel") && page.contains(&key[..13]));
    let token = csrf_of(&page);
    let (status, again) = admin.post_html(&confirm, &[("csrf_token", token.as_str())]).await;
    assert_eq!(status, StatusCode::OK, "without the confirmation the page asks again");
    assert!(again.contains("Revoke the key"));
    assert_eq!(api_get(&app, "/api/v1/customers?limit=1", Some(&key)).await.status(), StatusCode::OK, "still works");
    let r = admin.post_form(&confirm, &[("csrf_token", token.as_str()), ("confirm", "yes")]).await;
    assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, SETTINGS.to_string()));
    let (_, after) = admin.get_html(SETTINGS).await;
    assert!(after.contains(&escaped("Revoked the API key \"Order system\"")), "the flash says so");
    assert!(
        key_row(&after, "Order system").contains("Revoked ")
            && key_row(&after, "Order system").contains(" by Alex Admin")
    );

    let r = api_get(&app, &format!("/api/v1/customers/{id}/readiness"), Some(&key)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "revoked: refused at once");
    let body = json_of(r).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");

    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 20).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.entry.action.as_str()).collect();
    assert!(actions.contains(&"api_key_created") && actions.contains(&"api_key_revoked"), "{actions:?}");
    let created = log.iter().find(|e| e.entry.action == "api_key_created").unwrap();
    assert_eq!(created.entry.actor_name.as_deref(), Some("Alex Admin"));
    assert!(created.entry.detail.as_deref().unwrap().contains("Order system"));
}

#[tokio::test]
async fn only_a_hash_of_the_key_is_stored() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let key = create_key(&admin, "Orders").await;
    assert_eq!(api_get(&app, "/api/v1/customers?limit=1", Some(&key)).await.status(), StatusCode::OK);
    // Every byte the database keeps, its write-ahead log included.
    let file = app._db.url.trim_start_matches("sqlite://").to_string();
    let random_part = &key["mcak_".len() + 8..];
    for path in [file.clone(), format!("{file}-wal")] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        let found = bytes.windows(random_part.len()).any(|w| w == random_part.as_bytes());
        assert!(!found, "the key's secret part is not in {path}");
    }
    let db = app.database().await;
    let (hash, prefix): (String, String) =
        sqlx::query_as("SELECT key_hash, prefix FROM api_keys").fetch_one(&db).await.unwrap();
    assert_eq!(hash, mca_portal::domain::api_key::key_hash(&key));
    assert_eq!(prefix, &key[..13]);
}

#[tokio::test]
async fn a_name_that_cant_be_used_is_refused_with_everything_typed_kept() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let long = "Ordering & billing <system> ".repeat(5);
    let mut page = admin.get_html(SETTINGS).await.1;
    for (typed, message) in [("   ", "Enter a name"), (long.as_str(), "at most 100 characters")] {
        // Sent from the page that answered the last try, as a browser would.
        let mut form = form_fields(&page, SETTINGS);
        form.push(("name".into(), typed.into()));
        let (status, html) = admin.post_html(SETTINGS, &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("class=\"error-summary\"") && html.contains("href=\"#name\""), "a summary");
        assert!(html.contains("id=\"name-error\"") && html.contains(message), "{message}");
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains(&format!("value=\"{}\"", escaped(typed))), "the name typed is kept");
        assert!(!html.contains("id=\"new-key\""), "no key made");
        page = html;
    }
    let db = app.database().await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_keys").fetch_one(&db).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn only_admin_agents_manage_keys() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let (_, customers) = admin.get_html("/customers").await;
    assert!(customers.contains("href=\"/settings/api-keys\""), "admins get the nav link");
    let key = create_key(&admin, "Orders").await;
    let (_, listed) = admin.get_html(SETTINGS).await;
    let revoke = format!("{SETTINGS}/{}/revoke", between(&listed, "href=\"/settings/api-keys/", "/revoke\"").unwrap());
    for who in [SAM_SALES, HANA_HELPDESK] {
        let b = app.signed_in(who).await;
        let (_, page) = b.get_html("/customers").await;
        assert!(!page.contains("href=\"/settings/api-keys\""), "{who} gets no nav link");
        let token = csrf_of(&page);
        for path in [SETTINGS, revoke.as_str()] {
            assert_eq!(b.get(path).await.status(), StatusCode::FORBIDDEN, "{who} GET {path}");
        }
        let create = b.post_form(SETTINGS, &[("csrf_token", token.as_str()), ("name", "Mine")]).await;
        assert_eq!(create.status(), StatusCode::FORBIDDEN, "{who} can't create");
        let r = b.post_form(&revoke, &[("csrf_token", token.as_str()), ("confirm", "yes")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} can't revoke");
    }
    assert_eq!(api_get(&app, "/api/v1/customers?limit=1", Some(&key)).await.status(), StatusCode::OK, "not revoked");
    let db = app.database().await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_keys").fetch_one(&db).await.unwrap();
    assert_eq!(n, 1, "no key was made by them");
    assert_eq!(app.new_browser().get(SETTINGS).await.status(), StatusCode::SEE_OTHER, "sign in first");
}

#[tokio::test]
async fn a_key_reads_only_its_own_partners_customers() {
    let app = spawn_app().await;
    let contoso = create_key(&contoso_admin(&app).await, "Contoso orders").await;
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    assert_eq!(fiona.get("/customers").await.status(), StatusCode::OK);
    let fabrikam = create_key(&fiona, "Fabrikam orders").await;
    let theirs = app.customer_id("Boulder Creek Dental");
    let ours = app.customer_id("Northwind Traders");
    let path = |id: &str| format!("/api/v1/customers/{id}/readiness");
    assert_eq!(api_get(&app, &path(&theirs), Some(&contoso)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(api_get(&app, &path(&ours), Some(&fabrikam)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(api_get(&app, &path(&theirs), Some(&fabrikam)).await.status(), StatusCode::OK);
    let list = json_of(api_get(&app, "/api/v1/customers?limit=500", Some(&fabrikam)).await).await;
    let ids: Vec<_> =
        list["customers"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let expected: Vec<_> =
        seed::customers().into_iter().filter(|c| c.tenant_id == seed::FABRIKAM_TENANT).map(|c| c.id).collect();
    assert_eq!(ids.len(), expected.len());
    assert!(ids.iter().all(|id| expected.contains(id)), "only Fabrikam's customers: {ids:?}");
    // Fabrikam's settings page does not list Contoso's key.
    let (_, page) = fiona.get_html(SETTINGS).await;
    assert!(page.contains("Fabrikam orders") && !page.contains("Contoso orders"));
}

#[tokio::test]
async fn without_a_valid_key_the_api_answers_401_in_json_and_sets_no_cookie() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let id = app.customer_id("Northwind Traders");
    let path = format!("/api/v1/customers/{id}/readiness");
    let well_formed_unknown = format!("mcak_{}", "A".repeat(43));
    let client = reqwest::Client::new();
    let url = format!("{}{path}", app.address);
    for (what, request) in [
        ("no key", client.get(&url)),
        ("another scheme", client.get(&url).header("Authorization", "Basic YTpi")),
        ("not a key", client.get(&url).bearer_auth("hunter2")),
        ("an unknown key", client.get(&url).header("X-Api-Key", &well_formed_unknown)),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(r.headers().get("www-authenticate").is_some(), "{what}");
        assert_eq!(r.headers().get("cache-control").unwrap(), "no-store", "{what}");
        assert!(r.headers().get("set-cookie").is_none(), "{what}: no cookie");
        let body = json_of(r).await;
        assert_eq!(body["error"]["code"], "unauthorized", "{what}");
        assert!(body["error"]["message"].as_str().unwrap().contains("API key"), "{what}: a sentence");
        assert!(!body["error"]["request_id"].as_str().unwrap().is_empty());
    }
    // A browser's session is no key.
    let r = admin.get(&path).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a signed-in session does not open the API");
    // The key works in X-Api-Key as in Authorization.
    let key = create_key(&admin, "Orders").await;
    let r = client.get(&url).header("X-Api-Key", &key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("set-cookie").is_none(), "no cookie with a key either");
}

#[tokio::test]
async fn each_key_is_held_to_its_rate_limit() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.api.api_rate_limit_per_minute = 3).await.expect("SQLite");
    let admin = contoso_admin(&app).await;
    let (first, second) = (create_key(&admin, "One").await, create_key(&admin, "Two").await);
    for _ in 0..3 {
        assert_eq!(api_get(&app, "/api/v1/customers?limit=1", Some(&first)).await.status(), StatusCode::OK);
    }
    let r = api_get(&app, "/api/v1/customers?limit=1", Some(&first)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    assert_eq!(json_of(r).await["error"]["code"], "too_many_requests");
    assert_eq!(api_get(&app, "/api/v1/customers?limit=1", Some(&second)).await.status(), StatusCode::OK, "per key");
}

#[tokio::test]
async fn the_api_key_pages_and_the_readiness_section_work_in_chromium_and_pass_axe() {
    let app = spawn_app().await;
    let Some(stdout) = crate::browser::run_walk(&app, "api_keys.mjs", "api keys").await else { return };
    for page in [
        "api keys",
        "api keys name missing",
        "api key created",
        "api key revoke confirmation",
        "customer readiness blocked",
    ] {
        assert!(stdout.contains(&format!("axe {page}: 0 violations")), "{page} was checked with axe:\n{stdout}");
    }
}

#[tokio::test]
async fn sending_the_create_form_again_makes_no_second_key() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let form = create_form(&admin, "Reload test").await;
    let (status, first) = admin.post_html(SETTINGS, &form).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first.contains("id=\"new-key\""), "the key is shown once");
    // A reload of the answer sends the same form again.
    let (status, again) = admin.post_html(SETTINGS, &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again.matches("No key was created: this form was sent already").count(), 1, "said once: {again}");
    assert!(!again.contains("Partner Center did not accept"), "not put on Partner Center");
    assert!(!again.contains("id=\"new-key\""), "no key shown");
    assert!(again.contains("value=\"Reload test\""), "the name typed is kept");
    let db = app.database().await;
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_keys").fetch_one(&db).await.unwrap();
    assert_eq!(n, 1, "one key");
    // The page that said so carries a fresh form, which works.
    let mut fresh = form_fields(&again, SETTINGS);
    fresh.push(("name".into(), "Second".into()));
    assert_eq!(admin.post_html(SETTINGS, &fresh).await.0, StatusCode::OK);
}
