//! Several instances of the portal on one PostgreSQL database, behind one address: they
//! serve the same sessions (a sign-in on one holds on the other, a sign-out on one ends it
//! on every other at once) and share what they read from Partner Center to keep (the
//! indirect resellers). That each queued submission is delivered once between two
//! instances' workers is shown in restart.rs
//! (`two_instances_sharing_one_postgres_deliver_each_submission_once`).

use mca_portal::config::Settings;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::*;

/// The key both instances encrypt session cookies with, as a deployment configures it.
const SESSION_KEY: &str = "a-session-key-shared-by-both-instances-of-these-tests-0123456789";

fn shared_session_key() -> Option<SecretString> {
    Some(SecretString::from(SESSION_KEY.to_string()))
}

/// Instance A (with the sandbox) on `db`, and instance B on the same database; None for
/// PostgreSQL outside CI without `TEST_DATABASE_URL`.
async fn two_instances(db: Db) -> Option<(TestApp, String)> {
    let a = spawn_app_with(db, |s, _| s.session_key = shared_session_key()).await?;
    let b = start_instance(Settings { session_key: shared_session_key(), ..another_instance_settings(&a) }).await;
    Some((a, b))
}

/// A browser that holds only this cookie, at `address`.
async fn get_with_cookie(address: &str, path: &str, cookie: &str) -> (StatusCode, String, String) {
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = plain.get(format!("{address}{path}")).header("cookie", cookie).send().await.unwrap();
    let (status, to) = (r.status(), r.headers().get("location").map(|l| l.to_str().unwrap().to_string()));
    (status, to.unwrap_or_default(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_sign_in_on_one_instance_holds_on_the_other_and_a_sign_out_ends_it_on_both() {
    let Some((a, b_address)) = two_instances(Db::Postgres).await else { return };
    let sam = a.new_browser();
    let cookie = session_cookie_set(&sam.sign_in_as(SAM_SALES).await).expect("a session cookie from A");
    let (status, _, html) = get_with_cookie(&b_address, "/customers", &cookie).await;
    assert_eq!(status, StatusCode::OK, "B serves the session A started");
    assert!(html.contains(SAM_SALES) && html.contains("Fourth Coffee"), "Sam's customers on B");
    let on_b = Browser { client: sam.client.clone(), address: b_address.clone() };
    assert_eq!(on_b.get("/customers").await.status(), StatusCode::OK, "the browser's cookie works on B");

    let token = sam.token_of("/customers").await;
    let r = sam.post_form("/logout", &[("csrf_token", &token)]).await;
    assert!(location(&r).contains("/idp/v2.0/logout"), "signed out on A");
    let (status, to, _) = get_with_cookie(&b_address, "/customers", &cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the old cookie no longer opens B");
    assert!(to.starts_with("/login"), "B asks to sign in: {to}");
    assert_eq!(a.store.session_count().await.unwrap(), 0, "and nothing brought the session back");
}

/// How many times Partner Center was asked for Contoso's indirect resellers.
fn reseller_reads(app: &TestApp) -> usize {
    app.sandbox
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("relationship_type=IsIndirectCloudSolutionProviderOf"))
        .count()
}

#[tokio::test]
async fn two_instances_read_the_indirect_resellers_once_between_them() {
    let Some((a, b_address)) = two_instances(Db::Postgres).await else { return };
    let sam = a.new_browser();
    assert_eq!(location(&sam.sign_in_as(SAM_SALES).await), "/customers");
    let before = reseller_reads(&a);
    let (status, html) = sam.get_html("/customers/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Fabrikam IT"), "A offers Contoso's indirect resellers");
    assert_eq!(reseller_reads(&a), before + 1, "A read them");
    let on_b = Browser { client: sam.client.clone(), address: b_address };
    let (status, html) = on_b.get_html("/customers/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Fabrikam IT"), "B offers them too");
    assert_eq!(reseller_reads(&a), before + 1, "from the list A kept: Partner Center was not asked again");
}

#[tokio::test]
async fn the_indirect_resellers_are_read_again_after_ten_minutes() {
    let app = spawn_app().await;
    let sam = app.new_browser();
    assert_eq!(location(&sam.sign_in_as(SAM_SALES).await), "/customers");
    let before = reseller_reads(&app);
    for _ in 0..3 {
        assert!(sam.get_html("/customers/new").await.1.contains("Fabrikam IT"));
    }
    assert_eq!(reseller_reads(&app), before + 1, "read once for three pages");
    let db = app.database().await;
    let eleven_minutes_ago = mca_portal::store::timestamp(chrono::Utc::now() - chrono::Duration::minutes(11));
    sqlx::query("UPDATE reseller_lists SET read_at = $1").bind(eleven_minutes_ago).execute(&db).await.unwrap();
    assert!(sam.get_html("/customers/new").await.1.contains("Fabrikam IT"));
    assert_eq!(reseller_reads(&app), before + 2, "a list read eleven minutes ago is read again");
}
