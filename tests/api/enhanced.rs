//! The enhanced attestation, the portal's default: the forms ask for the signatory, an
//! acceptance link for the customer, and the agreement created once the customer has
//! accepted there.

use mca_portal::config::{AttestationMode, Settings};
use mca_portal::domain::PartnerType;
use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

/// A portal in the default mode (the test helper otherwise sets `confirm`).
async fn enhanced_app() -> TestApp {
    spawn_app_with(Db::Sqlite, |s, _| s.attestation_mode = Settings::default().attestation_mode).await.unwrap()
}

#[tokio::test]
async fn enhanced_is_the_default_and_confirm_stays_a_setting() {
    assert_eq!(Settings::default().attestation_mode, AttestationMode::Enhanced);
    let app = enhanced_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("A. Datum Labs");
    let (_, form, _) = b.open_edit_agreement(&id).await;
    assert!(form.contains("Signatory") && !form.contains("name=\"date_agreed\""), "the default asks for the signatory");
    let confirm = spawn_app_with(Db::Sqlite, |s, _| s.attestation_mode = AttestationMode::Confirm).await.unwrap();
    let b = confirm.signed_in(SAM_SALES).await;
    let (_, form, _) = b.open_edit_agreement(&id).await;
    assert!(form.contains("name=\"date_agreed\""), "confirm mode asks for the acceptance date");
}

/// Enhanced mode where Fabrikam IT, an indirect reseller of the sandbox's seed, is a
/// direct-bill partner too: in the portal's settings and, separately, in the sandbox's own
/// options (the sandbox never reads the portal's settings).
async fn fabrikam_direct_bill_app() -> TestApp {
    spawn_app_with(Db::Sqlite, |s, sandbox| {
        s.attestation_mode = AttestationMode::Enhanced;
        s.partner_types.insert(seed::FABRIKAM_TENANT.to_string(), PartnerType::DirectBill);
        sandbox.direct_bill_tenants = vec![seed::FABRIKAM_TENANT.to_string()];
    })
    .await
    .unwrap()
}

/// The acceptance link an account page shows for a submission waiting for the customer.
fn link_in(html: &str) -> String {
    let field = html.split("id=\"link-").nth(1).expect("an acceptance link on the page");
    unescape(between(field, "value=\"", "\"").expect("the link"))
}

/// The "Open the acceptance page now" link of a page: where it goes, and that it opens a
/// new tab.
fn open_now_link_in(html: &str) -> (String, bool) {
    let before = html.split(">Open the acceptance page now<").next().expect("the page");
    let tag = before.rsplit("<a ").next().expect("an <a> before the words");
    let href = unescape(between(tag, "href=\"", "\"").expect("its address"));
    (href, tag.contains("target=\"_blank\"") && tag.contains("rel=\"noopener\""))
}

#[tokio::test]
async fn edit_agreement_asks_for_the_signatory_and_no_date() {
    let app = enhanced_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("A. Datum Labs");
    let (status, form, _) = b.open_edit_agreement(&id).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Signatory: the person who will accept the agreement"), "{form}");
    assert!(!form.contains("name=\"date_agreed\""), "no acceptance date is asked for");
    assert!(form.contains("Open the acceptance page now"), "the form says what comes next");
    // A date posted anyway (a later one, refused in confirm mode) is ignored.
    let r = b.edit_agreement(&id, &tania("tania@adatumlabs.example", "2999-01-01")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "accepted without a date of the agent's");
    let page = b.customer_page(&id).await;
    assert!(!page.contains("2999-01-01"), "the posted date went nowhere");
    assert!(page.contains("to accept at the acceptance link"), "the submission says how it is dated");
}

#[tokio::test]
async fn edit_agreement_sends_a_link_and_attests_once_the_customer_accepts() {
    let app = enhanced_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("A. Datum Labs");
    let r = b.edit_agreement(&id, &AgreementInput { phone: "", ..tania("tania@adatumlabs.example", "") }).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = b.customer_page(&id).await;
    assert!(page.contains("acceptance link is ready"), "the agent is told");
    assert_eq!(customer_status(&page), "pending");
    assert!(page.contains("Waiting for the customer to accept"));
    let link = link_in(&page);
    // The email with the link: made (and kept) when the agent asks for it.
    let submission = between(&page, "name=\"submission\" value=\"", "\"").expect("Write the email with this link");
    let token = csrf_of(&page);
    let form = [("csrf_token", token.as_str()), ("kind", "acceptance_link"), ("submission", submission)];
    let r = b.post_form(&format!("/customers/{id}/invitations"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, email) = b.get_html(&location(&r)).await;
    assert!(
        email.contains("Copy to clipboard") && email.contains("mailto:tania%40adatumlabs.example"),
        "ready to copy"
    );
    assert!(email.contains(&escaped(&link)), "the email carries the acceptance link");
    assert!(email.contains("data-invitation-state=\"waiting\""));
    assert!(link.starts_with(&format!("{}/accept/", app.sandbox_url)), "{link}");
    assert_eq!(open_now_link_in(&page), (link.clone(), true), "or opened now, in a new tab");
    let reqs = app.sandbox.requests();
    assert!(reqs.iter().any(|r| r.method == "POST" && r.path_and_query == "/v1/attestations/enhanced"));
    assert_eq!(app.attestations_by(&id, "tania@adatumlabs.example"), 0, "no agreement before the customer accepts");
    // The signatory opens the link and accepts (no sign-in).
    let customer = reqwest::Client::new();
    let accept_page = customer.get(&link).send().await.unwrap();
    assert_eq!(accept_page.status(), StatusCode::OK);
    assert!(accept_page.text().await.unwrap().contains("Accept the Microsoft Customer Agreement"));
    let done = customer.post(&link).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    // Refresh looks at it now rather than waiting for the next check.
    let r = b.post_with_token_of(&format!("/customers/{id}"), &format!("/customers/{id}/refresh")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = b.customer_page(&id).await;
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 20).await.unwrap();
    assert!(
        customer_status(&page) == "attested",
        "attested once accepted: {:?}",
        log.iter().map(|e| (&e.entry.action, &e.entry.outcome, &e.entry.detail)).collect::<Vec<_>>()
    );
    assert_eq!(app.attestations_by(&id, "tania@adatumlabs.example"), 1);
    let (_, accepted) = b.get_html("/invitations?state=accepted").await;
    assert!(accepted.contains("A. Datum Labs"), "the invitation is accepted with its attestation");
}

#[tokio::test]
async fn add_customer_in_enhanced_mode_gives_the_acceptance_link() {
    let app = enhanced_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let done = b
        .add_customer(&CustomerFields::new(&[
            ("company_name", "Enhanced Example Ltd"),
            ("domain_prefix", "enhancedexample"),
            ("first_name", "Ravi"),
            ("last_name", "Shah"),
            ("email", "ravi@enhanced.example"),
            ("phone", ""),
            ("country", "GB"),
            ("address_line1", "10 High Street"),
            ("city", "Reading"),
            ("postal_code", "RG1 1AA"),
            ("culture", "en-GB"),
            ("agreement", "attest"),
        ]))
        .await;
    assert!(done.contains("was added"));
    assert!(done.contains("acceptance link is ready"), "{done}");
    let (link, new_tab) = open_now_link_in(&done);
    assert!(link.starts_with(&format!("{}/accept/", app.sandbox_url)) && new_tab, "{link}");
    assert!(done.contains("Copy to clipboard") && done.contains(&link), "and the email that carries it");
    // The customer's page says it waits, and the link works there as on the confirmation.
    let id = between(&done, "<a class=\"button\" href=\"/customers/", "\"").expect("Open the customer").to_string();
    let page = b.customer_page(&id).await;
    assert!(page.contains("Waiting for the customer to accept"), "{page}");
    assert_eq!(link_in(&page), link);
    let customer = reqwest::Client::new();
    assert_eq!(customer.post(&link).send().await.unwrap().status(), StatusCode::OK);
    let r = b.post_with_token_of(&format!("/customers/{id}"), &format!("/customers/{id}/refresh")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(customer_status(&b.customer_page(&id).await), "attested", "attested once accepted");
}

#[tokio::test]
async fn add_customer_in_enhanced_mode_asks_for_no_date_and_review_says_what_follows() {
    let app = enhanced_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let form = b.get_html("/customers/new").await.1;
    assert!(form.contains("at a link from Partner Center"), "{form}");
    assert!(!form.contains("name=\"date_agreed\""), "no acceptance date is asked for");
    let fields = CustomerFields::new(&[
        ("company_name", "Signatory Example Ltd"),
        ("domain_prefix", "signatoryexample"),
        ("first_name", "Ravi"),
        ("last_name", "Shah"),
        ("email", "ravi@signatory.example"),
        ("phone", ""),
        ("country", "GB"),
        ("address_line1", "10 High Street"),
        ("city", "Reading"),
        ("postal_code", "RG1 1AA"),
        ("culture", "en-GB"),
        ("agreement", "attest"),
        ("date_agreed", "2999-01-01"),
    ]);
    let (status, review) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::OK, "a posted date is ignored, not refused: {review}");
    assert!(review.contains("Signatory: the person who accepts"), "{review}");
    assert!(!review.contains("2999-01-01"), "Review shows no date");
}

#[tokio::test]
async fn the_enhanced_attestation_takes_only_app_only_tokens() {
    let app = enhanced_app().await;
    let b = app.signed_in(SAM_SALES).await;
    assert_eq!(b.get("/customers").await.status(), StatusCode::OK);
    // The portal's own App-only token works (seen above); a user's token does not.
    let r = reqwest::Client::new()
        .post(format!("{}/v1/attestations/enhanced", app.sandbox_url))
        .bearer_auth("not-a-token")
        .json(&serde_json::json!({"country": "US"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let _ = seed::CONTOSO_TENANT;
}

#[tokio::test]
async fn a_reseller_that_is_also_direct_bill_attests_in_its_own_name_with_its_own_app_token() {
    let app = fabrikam_direct_bill_app().await;
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    let id = app.customer_id("Cascade Bicycles");
    let r = fiona.edit_agreement(&id, &tania("tania@cascadebikes.example", &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let link = link_in(&fiona.customer_page(&id).await);
    // The signatory's page names the partner whose application token made the attestation.
    let customer = reqwest::Client::new();
    let accept_page = customer.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(accept_page.contains("Fabrikam IT asks you"), "{accept_page}");
    assert!(!accept_page.contains("Contoso Distribution"), "not the provider's name");
    assert_eq!(app.sandbox.enhanced_partner_names(&id), ["Fabrikam IT"], "recorded as Fabrikam's");
    assert_eq!(customer.post(&link).send().await.unwrap().status(), StatusCode::OK);
    let r = fiona.post_with_token_of(&format!("/customers/{id}"), &format!("/customers/{id}/refresh")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(customer_status(&fiona.customer_page(&id).await), "attested");
    let fiona_oid = seed::users().into_iter().find(|u| u.name == FIONA_FABRIKAM).unwrap().oid;
    let recorded = app.sandbox.attestations_of(&id);
    assert!(
        recorded.iter().any(|(email, _, by)| email == "tania@cascadebikes.example" && by.as_deref() == Some(fiona_oid)),
        "Partner Center records Fabrikam's agent as the one who attested: {recorded:?}"
    );
}

/// Sam records an attestation of A. Datum Labs in enhanced mode; returns the customer id
/// and the acceptance link Sam's page shows.
async fn waiting_for_the_customer(app: &TestApp) -> (String, String) {
    let sam = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("A. Datum Labs");
    let r = sam.edit_agreement(&id, &tania("tania@adatumlabs.example", &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let link = link_in(&sam.customer_page(&id).await);
    (id, link)
}

#[tokio::test]
async fn only_admin_and_sales_agents_see_the_acceptance_link() {
    let app = enhanced_app().await;
    let (id, link) = waiting_for_the_customer(&app).await;
    let hana = app.signed_in(HANA_HELPDESK).await.customer_page(&id).await;
    assert!(hana.contains("Waiting for the customer to accept"), "the helpdesk agent sees where it stands");
    assert!(!hana.contains(&link) && !hana.contains("/accept/"), "but not the link: {hana}");
    assert!(!hana.contains("Copy to clipboard"), "nor the email that carries it");
    let alex = app.signed_in(ALEX_ADMIN).await.customer_page(&id).await;
    assert_eq!(link_in(&alex), link, "an Admin agent of the same partner sees it");
}

#[tokio::test]
async fn the_audit_log_has_the_acceptance_link_once_however_often_it_is_checked() {
    let app = enhanced_app().await;
    let (id, link) = waiting_for_the_customer(&app).await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    for _ in 0..3 {
        // Refresh looks at the enhanced attestation again at once.
        let r = alex.post_with_token_of(&format!("/customers/{id}"), &format!("/customers/{id}/refresh")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let checks = app
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path_and_query.starts_with("/v1/attestations/enhanced/"))
        .count();
    assert!(checks >= 3, "the attestation was checked after each Refresh ({checks} checks)");
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 200).await.unwrap();
    let with_link = log.iter().filter(|e| e.entry.detail.as_deref().is_some_and(|d| d.contains(&link))).count();
    assert_eq!(with_link, 1, "written once, when it was created");
}
