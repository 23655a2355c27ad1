//! What the portal seals in its database (session state, queued submissions' tokens) opens
//! only in the row it was sealed for, and `mca-portal rotate-key` moves every row to a new
//! data key, after which the portal reads them with the new key alone.

use mca_portal::config::Settings;
use mca_portal::domain::{Contact, UserTokens};
use mca_portal::sandbox::seed::CONTOSO_TENANT;
use mca_portal::store::Store;
use mca_portal::store::sealing::Sealer;
use reqwest::StatusCode;
use secrecy::SecretString;
use sqlx::Row;

use crate::helpers::*;

const NEW_DATA_KEY: &str = "the-data-key-after-the-rotation-0123456789";
const SESSION_KEY: &str = "a-session-key-shared-by-both-portals-of-this-test-0123456789-abcdef";

/// Stores a queued attestation of Fourth Coffee with these tokens; returns its id.
async fn queue_submission(store: &Store, key: &str, access_token: &str) -> String {
    let tania = Contact::parse("Tania", "Carr", "tania@fourthcoffee.example", "").unwrap();
    let tokens = UserTokens {
        access_token: access_token.into(),
        refresh_token: Some(format!("refresh-of-{access_token}")),
        expires_at: chrono::Utc::now().timestamp() + 3600,
    };
    queue_attestation(store, key, &seed_customer("Fourth Coffee").id, tania, &tokens).await
}

async fn tokens_of(store: &Store, id: &str) -> Option<UserTokens> {
    store.submission_get(CONTOSO_TENANT, id).await.unwrap().expect("the submission").tokens
}

#[tokio::test]
async fn a_session_state_copied_into_another_session_does_not_open() {
    let app = spawn_app().await;
    let db = app.database().await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    let alex_row: String = sqlx::query("SELECT id_hash FROM sessions").fetch_one(&db).await.unwrap().get(0);
    let sam = app.signed_in(SAM_SALES).await;
    let sam_state: String = sqlx::query("SELECT state FROM sessions WHERE id_hash <> $1")
        .bind(&alex_row)
        .fetch_one(&db)
        .await
        .unwrap()
        .get(0);
    sqlx::query("UPDATE sessions SET state = $1 WHERE id_hash = $2")
        .bind(&sam_state)
        .bind(&alex_row)
        .execute(&db)
        .await
        .unwrap();
    let r = alex.get("/customers").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "Sam's session, copied into Alex's row, is no session");
    assert!(location(&r).starts_with("/login"));
    let (status, html) = sam.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK, "Sam's own session is untouched");
    assert!(html.contains(SAM_SALES));
}

#[tokio::test]
async fn tokens_copied_into_another_submission_do_not_open() {
    // The background worker stays away from the queued submissions while they are moved
    // about by hand (it would try them, and drop tokens Partner Center refuses).
    let app = spawn_app_with(Db::Sqlite, |s, _| s.delivery_poll_ms = 3_600_000).await.expect("SQLite");
    let db = app.database().await;
    let first = queue_submission(&app.store, "first", "token-of-the-first").await;
    let second = queue_submission(&app.store, "second", "token-of-the-second").await;
    assert_eq!(tokens_of(&app.store, &second).await.unwrap().access_token, "token-of-the-second");
    sqlx::query(
        "UPDATE submissions SET access_token = (SELECT access_token FROM submissions WHERE id = $1), \
         refresh_token = (SELECT refresh_token FROM submissions WHERE id = $1) WHERE id = $2",
    )
    .bind(&first)
    .bind(&second)
    .execute(&db)
    .await
    .unwrap();
    assert!(tokens_of(&app.store, &second).await.is_none(), "the first's tokens do not open in the second");
    // Nor does an access token moved into the refresh token's place of its own row.
    sqlx::query("UPDATE submissions SET refresh_token = access_token WHERE id = $1")
        .bind(&first)
        .execute(&db)
        .await
        .unwrap();
    let tokens = tokens_of(&app.store, &first).await.unwrap();
    assert_eq!(tokens.access_token, "token-of-the-first");
    assert_eq!(tokens.refresh_token, None);
}

/// A second portal on the same database and the same sandbox, with only the new data key.
async fn portal_with_only_the_new_key(app: &TestApp) -> String {
    start_instance(Settings {
        session_key: Some(SecretString::from(SESSION_KEY.to_string())),
        data_key: Some(SecretString::from(NEW_DATA_KEY.to_string())),
        ..another_instance_settings(app)
    })
    .await
}

#[tokio::test]
async fn rotate_key_reseals_every_row_so_that_the_new_key_alone_reads_them() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.session_key = Some(SecretString::from(SESSION_KEY.to_string())))
        .await
        .unwrap();
    let sam = app.new_browser();
    let cookie = session_cookie_set(&sam.sign_in_as(SAM_SALES).await).expect("a session cookie");
    assert_eq!(sam.get("/customers").await.status(), StatusCode::OK);
    let queued = queue_submission(&app.store, "before-rotation", "token-before-rotation").await;
    let new_key_only =
        Store::connect(&app._db.url).await.unwrap().with_sealer(Sealer::from_secret(NEW_DATA_KEY.as_bytes()));
    assert!(tokens_of(&new_key_only, &queued).await.is_none(), "before the rotation the new key opens nothing");
    // A row sealed with a key nobody has any more.
    let lost = Store::connect(&app._db.url).await.unwrap().with_sealer(Sealer::from_secret(b"a key that is gone"));
    lost.session_insert("a-session-of-a-lost-key", "{}", 600).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = portal_command(dir.path())
        .arg("rotate-key")
        .env("MCA_DATABASE_URL", &app._db.url)
        .env("MCA_DATA_KEY", NEW_DATA_KEY)
        .env("MCA_DATA_KEY_PREVIOUS", TEST_DATA_KEY)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(
            "Re-sealed 3 rows with the current data key (1 sessions, 1 submissions' tokens, 1 sign-ins kept for refreshes)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("1 rows could not be opened"), "{stdout}");
    assert!(!stdout.contains(NEW_DATA_KEY) && !stdout.contains(TEST_DATA_KEY), "no key is printed");

    assert_eq!(tokens_of(&new_key_only, &queued).await.unwrap().access_token, "token-before-rotation");
    let address = portal_with_only_the_new_key(&app).await;
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = plain.get(format!("{address}/customers")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "Sam's session reads with the new key alone");
    assert!(r.text().await.unwrap().contains(SAM_SALES));
}
