//! Invitation wording settings: an Admin agent writes the partner's own wording per kind and
//! language, previews it for a sample customer, can't drop the link, and every change is in
//! the audit log; invitations then use the wording of the customer's language.

use mca_portal::domain::invitation::InvitationKind;
use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

const SETTINGS: &str = "/settings/invitations";
const GERMAN_SUBJECT: &str = "Bitte akzeptieren Sie den Microsoft-Kundenvertrag für {company_name}";
const GERMAN_BODY: &str = "Hallo {contact_first_name},\n\nbitte öffnen Sie {link} und melden Sie sich an.\n{sign_in}\n\nViele Grüße\n{agent_name}, {partner_name}\n";

/// Posts the edit form of a kind and language: `action` is `save` or `preview`.
async fn post_wording(
    b: &Browser,
    kind: &str,
    language: &str,
    subject: &str,
    body: &str,
    action: &str,
) -> reqwest::Response {
    let path = format!("{SETTINGS}/{kind}/{language}");
    let token = b.token_of(&path).await;
    b.post_form(&path, &[("csrf_token", &token), ("subject", subject), ("body", body), ("action", action)]).await
}

/// Makes an "Invite to accept the MCA" invitation for a customer; returns its page.
async fn invite(b: &Browser, customer_id: &str) -> String {
    let page = format!("/customers/{customer_id}");
    let token = b.token_of(&page).await;
    let r = b
        .post_form(
            &format!("/customers/{customer_id}/invitations"),
            &[("csrf_token", &token), ("kind", "admin_center")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the invitation is made");
    let to = location(&r);
    assert!(to.starts_with("/invitations/"), "{to}");
    b.get_html(&to).await.1
}

/// The subject of an invitation's page, as its field holds it.
fn subject_of(invitation_page: &str) -> String {
    let field = between(invitation_page, "id=\"invitation-subject\" name=\"subject\" value=\"", "\"").expect("subject");
    unescape(field)
}

#[tokio::test]
async fn the_customers_language_picks_the_wording_and_english_is_the_fallback() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let r = post_wording(&admin, "admin_center", "de", GERMAN_SUBJECT, GERMAN_BODY, "save").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), SETTINGS);
    let (_, overview) = admin.get_html(SETTINGS).await;
    assert!(overview.contains("Saved the German wording"), "the flash says what was saved");
    let german_table = between(&overview, "data-language=\"de\"", "</table>").expect("German is listed");
    assert!(german_table.contains("Your own wording") && german_table.contains("Alex Admin"));

    // A. Datum Labs is a German (de-DE) customer of the seed.
    let german = invite(&admin, &app.customer_id("A. Datum Labs")).await;
    assert_eq!(subject_of(&german), "Bitte akzeptieren Sie den Microsoft-Kundenvertrag für A. Datum Labs");
    assert!(german.contains("Viele Grüße"));
    assert!(german.contains("https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement"));

    // Adatum Corporation (en-US) still gets the built-in wording.
    let english = invite(&admin, &app.customer_id("Adatum Corporation")).await;
    assert_eq!(subject_of(&english), "Please accept the Microsoft Customer Agreement for Adatum Corporation");

    // With the partner's own English wording, a Dutch customer (no Dutch wording) gets it.
    let r =
        post_wording(&admin, "admin_center", "en", "Our MCA request for {company_name}", "Open {link}\n", "save").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let dutch = invite(&admin, &app.customer_id("Bellows College")).await;
    assert_eq!(subject_of(&dutch), "Our MCA request for Bellows College");
    let english = invite(&admin, &app.customer_id("Adatum Corporation")).await;
    assert_eq!(subject_of(&english), "Our MCA request for Adatum Corporation");
}

#[tokio::test]
async fn a_body_without_the_link_is_refused_and_everything_typed_is_kept() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let subject = "Zoë's <request> for {company_name}";
    let body = "Hello {contact_first_name},\nplease accept.\n";
    let r = post_wording(&admin, "admin_center", "en", subject, body, "save").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("class=\"error-summary\""), "a summary at the top");
    assert!(html.contains("id=\"body-error\""), "a message beside the body");
    assert!(html.contains("The body must contain {link}"));
    assert!(html.contains(&format!("value=\"{}\"", escaped(subject))), "the subject as typed");
    assert!(html.contains(&escaped(body)), "the body as typed");
    let kept = app.store.invitation_template(seed::CONTOSO_TENANT, InvitationKind::AdminCenter, "en").await.unwrap();
    assert!(kept.is_none(), "nothing was saved");
}

#[tokio::test]
async fn an_unknown_placeholder_is_refused_with_the_known_ones_named() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let r = post_wording(&admin, "relationship", "en", "Hi {customer_name}", "Go to {link}\n", "save").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = unescape(&r.text().await.unwrap());
    assert!(html.contains("{customer_name} in the subject is not a placeholder of this kind of invitation"));
    assert!(html.contains("{with_partner}"), "the relationship's own placeholder is named");
    assert!(html.contains("id=\"subject-error\""));
    // {sign_in} belongs to the admin-center kind only.
    let r = post_wording(&admin, "acceptance_link", "en", "Accept", "{sign_in} at {link}\n", "save").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unescape(&r.text().await.unwrap()).contains("{sign_in} in the body is not a placeholder"));
    let kept = app.store.invitation_templates(seed::CONTOSO_TENANT).await.unwrap();
    assert!(kept.is_empty());
}

#[tokio::test]
async fn preview_fills_in_the_sample_customer_and_saves_nothing() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let subject = "For {company_name}, from {partner_name}";
    let body = "Dear {contact_name} ({contact_first_name}),\n{sign_in}\n{link}\n{agent_name}\n";
    let r = post_wording(&admin, "admin_center", "de", subject, body, "preview").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let preview = unescape(between(&html, "data-preview>", "</section>").expect("a preview below the form"));
    assert!(preview.contains("For Northwind Traders, from Contoso Distribution"), "{preview}");
    assert!(preview.contains("Dear Avery Example (Avery),"));
    assert!(preview.contains("Sign in as admin@northwindtraders.onmicrosoft.com"));
    assert!(preview.contains("https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement"));
    assert!(preview.contains("Alex Admin"));
    assert!(html.contains(&format!("value=\"{}\"", escaped(subject))), "the form keeps what was typed");
    assert!(html.contains(&escaped(body)));

    let r = post_wording(&admin, "relationship", "en", "Hi", "{link}{with_partner}\n", "preview").await;
    let html = unescape(&r.text().await.unwrap());
    assert!(html.contains("invType=ResellerRelationship"), "a sample relationship link");
    assert!(html.contains(", together with Wide World Importers"), "a sample partner it is together with");
    assert!(app.store.invitation_templates(seed::CONTOSO_TENANT).await.unwrap().is_empty(), "nothing saved");
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_saying_what_changed() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let body = GERMAN_BODY;
    post_wording(&admin, "admin_center", "de", GERMAN_SUBJECT, body, "save").await;
    post_wording(&admin, "admin_center", "de", "Neu: {company_name}", body, "save").await;
    // Saving the same wording again changes nothing and logs nothing.
    let r = post_wording(&admin, "admin_center", "de", "Neu: {company_name}", body, "save").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let path = format!("{SETTINGS}/admin_center/de/remove");
    let token = admin.token_of(&path).await;
    let r = admin.post_form(&path, &[("csrf_token", &token), ("confirm", "yes")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 20).await.unwrap();
    let ours: Vec<_> = log.iter().filter(|e| e.entry.action.starts_with("invitation_wording")).collect();
    let details: Vec<&str> = ours.iter().map(|e| e.entry.detail.as_deref().unwrap_or("")).collect();
    assert_eq!(ours.len(), 3, "{details:#?}");
    assert!(ours.iter().all(|e| e.entry.actor_name.as_deref() == Some("Alex Admin")));
    let (removed, changed, first) = (details[0], details[1], details[2]);
    assert_eq!(ours[0].entry.action, "invitation_wording_removed");
    assert!(removed.contains("German (de)") && removed.contains("own wording removed"), "{removed}");
    assert!(removed.contains("customers now get the English wording"), "{removed}");
    assert!(changed.starts_with("Accept the MCA in the Microsoft 365 admin center, German (de): own wording changed"));
    let old_len = GERMAN_SUBJECT.chars().count();
    assert!(changed.contains(&format!("subject changed ({old_len} → 19 characters)")), "{changed}");
    assert!(changed.contains("body unchanged"), "{changed}");
    assert!(first.contains("own wording saved in place of the built-in wording"), "{first}");
    assert!(first.contains("subject changed") && first.contains("body changed"), "{first}");
}

#[tokio::test]
async fn removing_or_resetting_asks_for_confirmation_first() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    for lang in ["en", "de"] {
        let r = post_wording(&admin, "admin_center", lang, "Own {company_name}", "At {link}\n", "save").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let held = async |lang: &str| {
        app.store.invitation_template(seed::CONTOSO_TENANT, InvitationKind::AdminCenter, lang).await.unwrap().is_some()
    };
    let (_, edit) = admin.get_html(&format!("{SETTINGS}/admin_center/en")).await;
    assert!(edit.contains("Reset to the built-in wording"));

    // The reset: a POST without the confirmation's answer shows the confirmation.
    let reset = format!("{SETTINGS}/admin_center/en/remove");
    let token = admin.token_of(&reset).await;
    let r = admin.post_form(&reset, &[("csrf_token", &token)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let confirmation = r.text().await.unwrap();
    assert!(confirmation.contains("name=\"confirm\" value=\"yes\""));
    assert!(confirmation.contains("Cancel"));
    assert!(held("en").await, "nothing removed before confirming");
    let (_, confirmation) = admin.post_page_form(&confirmation, &reset).await;
    assert!(confirmation.is_empty(), "a redirect");
    assert!(!held("en").await, "reset after confirming");

    // Removing a language: its confirmation, then gone from the list.
    let remove = format!("{SETTINGS}/languages/de/remove");
    let (status, confirmation) = admin.get_html(&remove).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirmation.contains("Remove German?"));
    assert!(held("de").await);
    let (_, _) = admin.post_page_form(&confirmation, &remove).await;
    assert!(!held("de").await);
    let (_, overview) = admin.get_html(SETTINGS).await;
    assert!(!overview.contains("data-language=\"de\""), "German left the list");
    assert!(overview.contains("data-language=\"en\""), "English is always listed");
    assert!(overview.contains("Built-in wording"));
}

#[tokio::test]
async fn a_language_already_in_the_list_is_refused_with_a_message() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let add = async |language: &str| {
        let token = admin.token_of(SETTINGS).await;
        admin.post_form(&format!("{SETTINGS}/languages"), &[("csrf_token", &token), ("language", language)]).await
    };
    let r = add("nl").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("{SETTINGS}/admin_center/nl"));
    let (_, edit) = admin.get_html(&location(&r)).await;
    assert!(edit.contains("Write the Dutch wording of each kind"));
    assert!(edit.contains("data-no-own-wording"), "nothing of its own yet");
    assert!(
        unescape(&edit).contains("Please accept the Microsoft Customer Agreement for {company_name}"),
        "starts from English"
    );
    post_wording(&admin, "admin_center", "nl", "Graag akkoord, {company_name}", "{link}\n", "save").await;

    for (language, message) in [
        ("nl", "Dutch is already in the list"),
        ("en", "English is already in the list"),
        ("xx", "Choose a language from the list."),
    ] {
        let r = add(language).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{language}");
        let html = r.text().await.unwrap();
        assert!(html.contains(message), "{language}");
        assert!(html.contains("id=\"language-error\"") && html.contains("class=\"error-summary\""));
    }
}

#[tokio::test]
async fn only_admin_agents_reach_the_wording_settings() {
    let app = spawn_app().await;
    let admin = app.signed_in(ALEX_ADMIN).await;
    let (status, html) = admin.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/settings/invitations\""), "admins get the nav link");
    let pages = [
        SETTINGS.to_string(),
        format!("{SETTINGS}/admin_center/en"),
        format!("{SETTINGS}/admin_center/en/remove"),
        format!("{SETTINGS}/languages/de/remove"),
    ];
    for who in [SAM_SALES, HANA_HELPDESK] {
        let b = app.signed_in(who).await;
        let (_, customers) = b.get_html("/customers").await;
        assert!(!customers.contains("href=\"/settings/invitations\""), "{who} gets no nav link");
        let token = csrf_of(&customers);
        for page in &pages {
            assert_eq!(b.get(page).await.status(), StatusCode::FORBIDDEN, "{who} GET {page}");
        }
        let posts: [(&str, Vec<(&str, &str)>); 4] = [
            ("/settings/invitations/languages", vec![("language", "de")]),
            ("/settings/invitations/admin_center/en", vec![("subject", "S"), ("body", "{link}"), ("action", "save")]),
            ("/settings/invitations/admin_center/en/remove", vec![("confirm", "yes")]),
            ("/settings/invitations/languages/de/remove", vec![("confirm", "yes")]),
        ];
        for (path, mut form) in posts {
            form.push(("csrf_token", &token));
            assert_eq!(b.post_form(path, &form).await.status(), StatusCode::FORBIDDEN, "{who} POST {path}");
        }
    }
    assert!(app.store.invitation_templates(seed::CONTOSO_TENANT).await.unwrap().is_empty());
    let anonymous = app.new_browser().get(SETTINGS).await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER, "sign in first");
}

#[tokio::test]
async fn the_wording_pages_work_in_chromium_and_pass_axe() {
    let app = spawn_app().await;
    if crate::browser::run_walk(&app, "wording.mjs", "wording").await.is_none() {
        return;
    }
    assert!(app.store.invitation_templates(seed::CONTOSO_TENANT).await.unwrap().is_empty(), "German was removed");
}
