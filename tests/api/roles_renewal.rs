//! Roles stay current: when the delegated access token is renewed (at the latest when it
//! expires, an hour at most), the portal verifies the ID token that comes with the
//! renewal, maps the roles again and reads the partner type again. A renewal that can't
//! confirm the roles ends the session.

use mca_portal::sandbox::seed::CONTOSO_GROUPS;
use mca_portal::sandbox::{Faults, IdTokenDefect};
use reqwest::StatusCode;

use crate::helpers::*;

/// A portal whose sandbox issues access tokens for a minute: less than the two minutes
/// the portal keeps in hand, so every request renews them.
async fn spawn_with_short_tokens(id_token_on_refresh: bool) -> TestApp {
    spawn_app_with(Db::Sqlite, |_, sandbox| {
        sandbox.access_token_seconds = 60;
        sandbox.id_token_on_refresh = id_token_on_refresh;
    })
    .await
    .expect("SQLite")
}

#[tokio::test]
async fn a_sales_agent_whose_role_is_removed_loses_it_at_the_next_renewal() {
    let app = spawn_with_short_tokens(true).await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Fourth Coffee");
    let edit = format!("/customers/{id}/agreement/edit");
    let (status, form) = b.get_html(&edit).await;
    assert_eq!(status, StatusCode::OK, "a Sales agent may attest");
    assert!(app.sandbox.set_user_groups(SAM_SALES, &[]), "the directory takes Sam out of the Sales agents");
    let (status, html) = b.get_html(&edit).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the attest page is refused at once");
    assert!(html.contains("have an agent role"), "the page for users without an agent role");
    assert_eq!(b.get_html("/customers").await.0, StatusCode::FORBIDDEN);
    let r = b.post_agreement(&id, &hidden_inputs(&form), &tania("tania@fourthcoffee.example", &today_utc())).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "and so is attesting with the form opened before");
    assert!(app.attestation_posts().is_empty(), "nothing reached Partner Center");
    let log = app.store.audit_recent(mca_portal::sandbox::seed::CONTOSO_TENANT, 20).await.unwrap();
    assert!(log.iter().any(|e| e.entry.action == "roles_renewed"), "the change of roles is in the audit log");
}

#[tokio::test]
async fn roles_follow_the_directory_both_ways() {
    let app = spawn_with_short_tokens(true).await;
    let sam = app.signed_in(SAM_SALES).await;
    let nico = app.signed_in(NICO_NO_ROLE).await;
    let edit = format!("/customers/{}/agreement/edit", app.customer_id("Fourth Coffee"));
    app.sandbox.set_user_groups(SAM_SALES, &[CONTOSO_GROUPS.helpdesk]);
    app.sandbox.set_user_groups(NICO_NO_ROLE, &[CONTOSO_GROUPS.sales]);
    let (status, html) = sam.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK, "a Helpdesk agent still looks customers up");
    assert!(html.contains("Helpdesk agent"), "the header says the new role");
    assert_eq!(sam.get_html(&edit).await.0, StatusCode::FORBIDDEN, "but may not attest");
    assert_eq!(nico.get_html(&edit).await.0, StatusCode::OK, "a role given in the directory counts at once");
}

#[tokio::test]
async fn a_renewal_without_an_id_token_asks_to_sign_in_again() {
    let app = spawn_with_short_tokens(false).await;
    let b = app.signed_in(SAM_SALES).await;
    let r = b.get("/customers?status=attested").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the roles can't be read again");
    assert_eq!(location(&r), "/login?return_to=%2Fcustomers%3Fstatus%3Dattested", "back here after signing in");
    let r = b.get("/customers").await;
    assert!(location(&r).starts_with("/login"), "the session has ended");
}

#[tokio::test]
async fn a_renewal_whose_id_token_fails_verification_ends_the_session() {
    let app = spawn_with_short_tokens(true).await;
    for defect in [IdTokenDefect::Tampered, IdTokenDefect::WrongAudience, IdTokenDefect::WrongIssuer] {
        let b = app.signed_in(SAM_SALES).await;
        app.sandbox.set_next_id_token_defect(defect);
        let r = b.get("/customers").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{defect:?}");
        assert!(location(&r).starts_with("/login"), "{defect:?}: sign in again");
        let r = b.get("/customers").await;
        assert!(location(&r).starts_with("/login"), "{defect:?}: the session has ended");
    }
}

#[tokio::test]
async fn requests_that_find_the_token_due_together_share_one_renewal() {
    let app = spawn_with_short_tokens(true).await;
    let b = app.signed_in(SAM_SALES).await;
    let token_calls = || {
        app.sandbox.requests().iter().filter(|r| r.method == "POST" && r.path_and_query == "/idp/v2.0/token").count()
    };
    let before = token_calls();
    // A slow Partner Center keeps the first renewal (which reads the partner type again)
    // under way while the second request arrives with the same refresh token.
    app.sandbox.set_faults(Faults { latency_ms: 300, ..Faults::default() });
    let progress = "/customers/refresh/progress";
    let (first, second) = tokio::join!(b.get(progress), b.get(progress));
    assert_eq!(first.status(), StatusCode::OK, "{}", location(&first));
    assert_eq!(second.status(), StatusCode::OK, "{}", location(&second));
    assert_eq!(token_calls(), before + 1, "one renewal: the single-use refresh token was spent once");
    assert_eq!(b.get(progress).await.status(), StatusCode::OK, "and the session lives on");
}
