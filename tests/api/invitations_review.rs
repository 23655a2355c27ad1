//! Problems a review of the invitation emails (issue 9) found by attacking the feature or
//! using it as an agent would; each test keeps its fix in place.

use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

/// Writes a New relationship invitation for `company`, together with `partner_id` (or no
/// one); the invitation's id.
async fn new_relationship(b: &Browser, partner_id: &str, company: &str) -> String {
    let (status, form) = b.get_html("/invitations/new-relationship").await;
    assert_eq!(status, StatusCode::OK, "{form}");
    let token = csrf_of(&form);
    let fields = [
        ("csrf_token", token.as_str()),
        ("company_name", company),
        ("first_name", "Zoë"),
        ("last_name", "Ångström"),
        ("email", "zoe@northwind.example"),
        ("language", "en"),
        ("partner_id", partner_id),
    ];
    let r = b.post_form("/invitations/new-relationship", &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    location(&r).trim_start_matches("/invitations/").to_string()
}

/// Refresh list, and waits until the refresh of all customers is over.
async fn refresh_all(app: &TestApp, b: &Browser) {
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    app.wait_until("the refresh is over", async || {
        let (_, html) = b.get_html("/customers").await;
        !html.contains("data-progress-url")
    })
    .await;
}

async fn accepted(app: &TestApp, tenant: &str, id: &str) -> bool {
    app.store.invitation_get(tenant, id).await.unwrap().expect("kept").accepted_at.is_some()
}

/// Finding: a relationship invitation is marked Accepted by name alone, so one for a
/// company that is already a customer (or shares its name) is "accepted" at the next
/// refresh although nobody opened its link.
#[tokio::test]
async fn a_relationship_invitation_for_a_company_already_listed_is_not_accepted_by_a_refresh() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let inv = new_relationship(&sam, "", "Bellows College").await;
    refresh_all(&app, &sam).await;
    assert!(!accepted(&app, seed::CONTOSO_TENANT, &inv).await, "nobody accepted this invitation's link");
}

/// Finding: two relationship invitations for the same company (the provider's own, and
/// one for its indirect reseller) are both marked Accepted when the customer accepts one.
#[tokio::test]
async fn accepting_one_relationship_link_does_not_accept_another_invitation_for_the_same_company() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let own = new_relationship(&sam, "", "Northwind Traders").await;
    let for_fabrikam = new_relationship(&sam, seed::FABRIKAM_TENANT, "Northwind Traders").await;
    let link = app.store.invitation_get(seed::CONTOSO_TENANT, &own).await.unwrap().unwrap().invitation.link;
    app.sandbox.accept_relationship(&link, "Northwind Traders", "northwindtr").expect("accepted");
    refresh_all(&app, &sam).await;
    assert!(accepted(&app, seed::CONTOSO_TENANT, &own).await, "the link accepted");
    assert!(
        !accepted(&app, seed::CONTOSO_TENANT, &for_fabrikam).await,
        "the invitation together with Fabrikam IT was not accepted"
    );
}

/// Finding: Save changes (or Send) on Add customer's confirmation leaves the page that
/// is the only place the temporary password is shown; the agent can't read it again.
#[tokio::test]
async fn save_changes_on_the_confirmation_leaves_the_temporary_password_readable() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let (_, review) = b.review_new_customer(&CustomerFields::tailwind("reviewpw", "admin_center", "")).await;
    let (_, done) = b.submit_new_customer(&review).await;
    let password = code_shown(&done, "temporary-password");
    let inv = between(&done, "action=\"/invitations/", "/save\"").expect("the editor").to_string();
    let mut form = form_fields(&done, &format!("/invitations/{inv}/save"));
    form.push(("to".into(), "tania@tailwind.example".into()));
    form.push(("subject".into(), "Please accept".into()));
    form.push((
        "body".into(),
        format!(
            "Sign in with {password}\nhttps://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement\n"
        ),
    ));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post_form(&format!("/invitations/{inv}/save"), &form).await;
    let page =
        if r.status() == StatusCode::SEE_OTHER { b.get_html(&location(&r)).await.1 } else { r.text().await.unwrap() };
    assert!(page.contains(&password), "after Save changes the agent still sees the temporary password");
    let kept = app.store.invitation_get(seed::CONTOSO_TENANT, &inv).await.unwrap().unwrap();
    assert!(!kept.invitation.body.contains(&password), "and it is still not kept");
}

/// Finding: a reference note refused as too long is thrown away: the page shows the old
/// note, not what was typed, and the message is not by the note's field.
#[tokio::test]
async fn a_note_refused_as_too_long_keeps_what_was_typed() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let inv = new_relationship(&sam, "", "Lamna Healthcare").await;
    let (_, page) = sam.get_html(&format!("/invitations/{inv}")).await;
    let typed = format!("Order 4711 {}", "x".repeat(495));
    let (status, html) = sam
        .post_html(&format!("/invitations/{inv}/note"), &[("csrf_token", csrf_of(&page).as_str()), ("note", &typed)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "refused like the other forms");
    assert!(html.contains(&typed), "the note as typed is on the page again");
    assert!(html.contains("aria-describedby=\"reference-note-error\""), "the message belongs to the note's field");
}

/// Finding: a recipient that is not an address gets only a summary: the To field is not
/// marked invalid and has no message of its own (house rule: a message per field).
#[tokio::test]
async fn a_wrong_recipient_is_marked_on_the_to_field() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let inv = new_relationship(&sam, "", "Lamna Healthcare").await;
    let (_, page) = sam.get_html(&format!("/invitations/{inv}")).await;
    let form =
        [("csrf_token", csrf_of(&page)), ("to", "zoe at lamna".into()), ("subject", "S".into()), ("body", "B".into())];
    let (_, html) = sam.post_html(&format!("/invitations/{inv}/save"), &form).await;
    let to = between(&html, "id=\"invitation-to\"", ">").expect("the To field");
    assert!(to.contains("aria-invalid=\"true\"") && to.contains("aria-describedby="), "{to}");
}

/// Finding: the script's report of a copy (or any POST to `used` without the text)
/// replaces the kept email with empty fields.
#[tokio::test]
async fn reporting_a_copy_without_the_text_does_not_erase_the_kept_email() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let inv = new_relationship(&sam, "", "Lamna Healthcare").await;
    let before = app.store.invitation_get(seed::CONTOSO_TENANT, &inv).await.unwrap().unwrap();
    let (_, page) = sam.get_html(&format!("/invitations/{inv}")).await;
    let r = sam
        .post_form(
            &format!("/invitations/{inv}/used"),
            &[("csrf_token", csrf_of(&page).as_str()), ("action", "copied")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let after = app.store.invitation_get(seed::CONTOSO_TENANT, &inv).await.unwrap().unwrap();
    assert_eq!(
        (after.invitation.recipient, after.invitation.subject, after.invitation.body),
        (before.invitation.recipient, before.invitation.subject, before.invitation.body)
    );
}

/// Finding: a `back` address with a line break after saving a note: the note is saved,
/// then the answer is a server error (the Location header can't hold it) instead of the
/// invitation's page.
#[tokio::test]
async fn a_note_with_a_line_break_in_back_still_goes_back_to_the_invitation() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let inv = new_relationship(&sam, "", "Lamna Healthcare").await;
    let (_, page) = sam.get_html(&format!("/invitations/{inv}")).await;
    let token = csrf_of(&page);
    let back = "/invitations\r\nSet-Cookie: x=y";
    let r = sam
        .post_form(&format!("/invitations/{inv}/note"), &[("csrf_token", &token), ("note", "n"), ("back", back)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/invitations/{inv}"));
}
