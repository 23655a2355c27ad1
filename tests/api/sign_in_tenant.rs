//! Every signed-in user belongs to one partner tenant, named by a GUID: an ID token
//! without a usable `tid` is refused at sign-in with a page that says what to tell the
//! administrator, unless the deployment names its single tenant (`tenant_id`). There is
//! no shared fallback tenant.

use mca_portal::sandbox::IdTokenDefect;
use mca_portal::sandbox::seed::{CONTOSO_TENANT, FABRIKAM_TENANT};
use reqwest::StatusCode;

use crate::helpers::*;

/// Signs Sam in with an ID token spoiled by `defect`: refused, with the page that says
/// why and what to tell the administrator, and nobody signed in or recorded anywhere.
async fn refused_without_a_tenant(defect: IdTokenDefect) {
    let app = spawn_app().await;
    app.sandbox.set_next_id_token_defect(defect);
    let b = app.new_browser();
    let r = b.sign_in_as(SAM_SALES).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{defect:?} is refused");
    let html = r.text().await.unwrap();
    assert!(html.contains("did not say which partner organization"), "{defect:?}: the page says what happened");
    assert!(html.contains("Tell your administrator") && html.contains("tenant_id"), "{defect:?}: and what to pass on");
    let r = b.get("/customers").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{defect:?}: not signed in");
    assert!(location(&r).starts_with("/login"));
    for stand_in in ["default", "", "common"] {
        assert!(app.store.tenant_get(stand_in).await.unwrap().is_none(), "no tenant {stand_in:?} was made up");
        assert!(app.store.audit_recent(stand_in, 10).await.unwrap().is_empty(), "nothing recorded for {stand_in:?}");
    }
}

#[tokio::test]
async fn an_id_token_without_tid_is_refused() {
    refused_without_a_tenant(IdTokenDefect::MissingTenant).await;
}

#[tokio::test]
async fn a_tid_that_is_not_a_tenant_id_is_refused() {
    refused_without_a_tenant(IdTokenDefect::MalformedTenant).await;
}

#[tokio::test]
async fn with_tenant_id_configured_the_same_sign_in_lands_in_that_tenant() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.tenant_id = Some(CONTOSO_TENANT.into())).await.unwrap();
    app.sandbox.set_next_id_token_defect(IdTokenDefect::MissingTenant);
    let b = app.new_browser();
    let r = b.sign_in_as(SAM_SALES).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/customers");
    let (status, html) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Contoso Distribution"), "the configured tenant's partner");
    let listed: Vec<String> = listed_customers(&html).into_iter().map(|c| c.id).collect();
    assert!(!listed.is_empty() && listed.iter().all(|id| contoso_customer_ids().contains(id)), "{listed:?}");
    let signed_in = app.store.audit_recent(CONTOSO_TENANT, 10).await.unwrap();
    assert!(signed_in.iter().any(|e| e.entry.action == "sign_in"), "the sign-in is recorded in Contoso's log");
}

#[tokio::test]
async fn a_deployment_for_one_tenant_refuses_an_account_of_another() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.tenant_id = Some(CONTOSO_TENANT.into())).await.unwrap();
    let b = app.new_browser();
    let r = b.sign_in_as(FIONA_FABRIKAM).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("another organization"), "the page says why");
    assert!(app.store.audit_recent(FABRIKAM_TENANT, 10).await.unwrap().is_empty(), "Fabrikam is not served");
    assert_eq!(b.get("/customers").await.status(), StatusCode::SEE_OTHER, "not signed in");
}
