//! Invitation emails: made from a customer's page and from Add customer, changed, copied,
//! opened in the mail program, listed with their state and reference note; never kept
//! with a password; Accepted once the customer accepts; roles checked on the server.

use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

const ADMIN_CENTER: &str = "https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement";

/// Makes an invitation of `kind` from the customer's page; its id and page.
async fn invite(b: &Browser, customer_id: &str, kind: &str) -> (String, String) {
    let page = b.customer_page(customer_id).await;
    let token = csrf_of(&page);
    let r =
        b.post_form(&format!("/customers/{customer_id}/invitations"), &[("csrf_token", &token), ("kind", kind)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    let to = location(&r);
    let id = to.strip_prefix("/invitations/").expect("to the invitation's page").to_string();
    let (status, html) = b.get_html(&to).await;
    assert_eq!(status, StatusCode::OK);
    (id, html)
}

/// Percent-decoding of a `mailto:` part, as a mail program reads it.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// The recipient, subject and body the page's Open in email link carries.
fn mailto_parts(html: &str) -> (String, String, String) {
    let href = unescape(between(html, "id=\"invitation-mailto\" href=\"", "\"").expect("an Open in email link"));
    let rest = href.strip_prefix("mailto:").expect("a mailto: link");
    let (to, query) = rest.split_once('?').unwrap();
    let mut subject = None;
    let mut body = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        match k {
            "subject" => subject = Some(percent_decoded(v)),
            "body" => body = Some(percent_decoded(v)),
            other => panic!("unexpected mailto part {other}"),
        }
    }
    (percent_decoded(to), subject.unwrap(), body.unwrap())
}

/// The text of the editor's field.
fn field(html: &str, name: &str) -> String {
    match name {
        "body" => unescape(between(html, "name=\"body\"", "</textarea>").and_then(|t| t.split_once('>')).unwrap().1),
        _ => unescape(between(html, &format!("name=\"{name}\" value=\""), "\"").unwrap()),
    }
}

#[tokio::test]
async fn an_existing_customer_is_invited_to_accept_in_the_admin_center() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let page = b.customer_page(&id).await;
    assert!(page.contains("No invitation was made here for this customer."));
    let (inv, html) = invite(&b, &id, "admin_center").await;
    let body = field(&html, "body");
    assert!(body.contains(ADMIN_CENTER), "the admin center link: {body}");
    assert!(body.contains("Contoso Distribution") && body.contains("Bellows College"), "partner and customer");
    assert!(body.contains("Sam Sales"), "signed by the agent");
    assert!(body.contains("Sign in with a Global administrator account"));
    assert!(field(&html, "subject").contains("Bellows College"));
    assert!(html.contains("data-invitation-state=\"waiting\""));
    // The customer's page now names it and its state.
    let page = b.customer_page(&id).await;
    assert!(page.contains(&format!("href=\"/invitations/{inv}\"")), "the latest invitation is linked");
    assert!(page.contains("Invited on") && page.contains("by Sam Sales, waiting for the customer"));
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 5).await.unwrap();
    assert!(log.iter().any(|e| e.entry.action == "invitation_created" && e.entry.customer_id.as_deref() == Some(&id)));
}

#[tokio::test]
async fn the_mailto_link_decodes_back_to_the_exact_text_as_changed() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let id = app.customer_id("Bellows College");
    let (inv, html) = invite(&b, &id, "admin_center").await;
    let (to, subject, body) = mailto_parts(&html);
    assert_eq!((subject.as_str(), body.as_str()), (field(&html, "subject").as_str(), field(&html, "body").as_str()));
    assert_eq!(to, field(&html, "to"));
    // Changed by the agent: non-ASCII names, line breaks, reserved characters.
    let new_subject = "Zoë & Łukasz: accept the MCA? 100% #1";
    let new_body = format!("Hallo Zoë Ångström,\r\n\r\nbitte hier: {ADMIN_CENTER}\r\n+ mit freundlichen Grüßen\r\n");
    let token = csrf_of(&html);
    let form = [
        ("csrf_token", token.as_str()),
        ("to", "zoe.angstrom@bellows.example"),
        ("subject", new_subject),
        ("body", new_body.as_str()),
    ];
    let r = b.post_form(&format!("/invitations/{inv}/save"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html(&format!("/invitations/{inv}")).await;
    let (to, subject, body) = mailto_parts(&html);
    assert_eq!(to, "zoe.angstrom@bellows.example");
    assert_eq!(subject, new_subject);
    assert_eq!(body, new_body.replace("\r\n", "\n"), "line breaks are kept, as \\n");
    assert!(html.contains("id=\"invitation-link-warning\" class=\"warning\" role=\"alert\" hidden"), "link kept");
}

#[tokio::test]
async fn a_removed_link_is_warned_about_and_a_too_long_email_is_offered_for_copying() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let (inv, html) = invite(&b, &id, "admin_center").await;
    let token = csrf_of(&html);
    let changed = field(&html, "body").replace("BillingAccounts/agreement", "Billing");
    let form = [("csrf_token", token.as_str()), ("to", "a@b.example"), ("subject", "S"), ("body", changed.as_str())];
    let r = b.post_form(&format!("/invitations/{inv}/save"), &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html(&format!("/invitations/{inv}")).await;
    assert!(html.contains("The link is no longer in the text"), "the flash says so");
    assert!(html.contains("id=\"invitation-link-warning\" class=\"warning\" role=\"alert\">"), "shown, not hidden");
    // Too long for a mailto: link: no link, a sentence that says to copy.
    let long = format!("{ADMIN_CENTER}\n{}", "Zoë ".repeat(400));
    let form = [("csrf_token", token.as_str()), ("to", "a@b.example"), ("subject", "S"), ("body", long.as_str())];
    b.post_form(&format!("/invitations/{inv}/save"), &form).await;
    let (_, html) = b.get_html(&format!("/invitations/{inv}")).await;
    assert!(html.contains("id=\"invitation-too-long\" class=\"note\">"), "the sentence is shown");
    assert!(html.contains("data-record=\"opened\" hidden>Open in email"), "the link is not offered");
    // A wrong recipient is refused with the text kept.
    let form = [("csrf_token", token.as_str()), ("to", "not an address"), ("subject", "Kept"), ("body", "Typed text")];
    let (status, html) = b.post_html(&format!("/invitations/{inv}/save"), &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("is not an email address"));
    assert_eq!(field(&html, "subject"), "Kept");
    assert_eq!(field(&html, "body"), "Typed text");
}

#[tokio::test]
async fn add_customer_shows_the_password_in_the_email_on_screen_and_never_keeps_it() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let (status, page) = b.review_new_customer(&CustomerFields::tailwind("invitepw", "admin_center", "")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (_, done) = b.submit_new_customer(&page).await;
    let password = code_shown(&done, "temporary-password");
    let body = field(&done, "body");
    assert!(body.contains("Sign in as admin@invitepw.onmicrosoft.com"), "{body}");
    assert!(body.contains(&password), "the password is in the text on screen");
    let inv = between(&done, "action=\"/invitations/", "/save\"").expect("the kept invitation").to_string();
    // What is kept holds the placeholder, also after the agent records a copy.
    let token = csrf_of(&done);
    let subject = field(&done, "subject");
    let form = [
        ("csrf_token", token.as_str()),
        ("to", "tania@tailwind.example"),
        ("subject", subject.as_str()),
        ("body", body.as_str()),
        ("temporary_password", password.as_str()),
        ("action", "copied"),
    ];
    let r = b.post_form(&format!("/invitations/{inv}/used"), &form).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let kept = app.store.invitation_get(seed::CONTOSO_TENANT, &inv).await.unwrap().expect("kept");
    assert!(!format!("{kept:?}").contains(&password), "never the password");
    assert!(kept.invitation.body.contains("[the temporary password we give you separately]"));
    assert!(kept.copied_at.is_some(), "recorded as copied");
    let (_, later) = b.get_html(&format!("/invitations/{inv}")).await;
    assert!(!later.contains(&password));
    let (_, list) = b.get_html("/invitations").await;
    assert!(list.contains("Tailwind") && list.contains("copied on"), "listed with what was done");
    let db = app.database().await;
    let rows: Vec<(String,)> = sqlx::query_as("SELECT body FROM invitations").fetch_all(&db).await.unwrap();
    assert!(rows.iter().all(|(b,)| !b.contains(&password)));
}

#[tokio::test]
async fn the_state_becomes_accepted_when_a_refresh_sees_the_customer_accept_directly() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let (inv, _) = invite(&b, &id, "admin_center").await;
    let (_, waiting) = b.get_html("/invitations?state=accepted").await;
    assert!(!waiting.contains(&inv), "not accepted yet");
    assert!(app.sandbox.set_accepted_directly(&id, true));
    let r = b.post_with_token_of(&format!("/customers/{id}"), &format!("/customers/{id}/refresh")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = b.customer_page(&id).await;
    assert!(page.contains("Latest invitation") && page.contains("Accepted on"), "{}", text_of(&page));
    assert!(!page.contains("Invite to accept the MCA</button>"), "no new invitation for an accepted customer");
    let (_, accepted) = b.get_html("/invitations?state=accepted").await;
    assert!(accepted.contains(&inv), "listed as accepted");
    // And no new one can be made, whatever is posted.
    let token = csrf_of(&page);
    let r =
        b.post_form(&format!("/customers/{id}/invitations"), &[("csrf_token", &token), ("kind", "admin_center")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/customers/{id}"), "back to the customer, with the reason");
}

#[tokio::test]
async fn helpdesk_reads_invitations_and_changes_nothing() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let (inv, _) = invite(&sam, &id, "admin_center").await;
    let hana = app.signed_in(HANA_HELPDESK).await;
    let (status, list) = hana.get_html("/invitations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&inv));
    let (status, page) = hana.get_html(&format!("/invitations/{inv}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("readonly") && !page.contains("/save\""), "read-only");
    assert!(!hana.customer_page(&id).await.contains("Invite to accept the MCA</button>"));
    let token = csrf_of(&page);
    for (path, extra) in [
        (format!("/customers/{id}/invitations"), ("kind", "admin_center")),
        (format!("/invitations/{inv}/save"), ("body", "x")),
        (format!("/invitations/{inv}/used"), ("action", "copied")),
        (format!("/invitations/{inv}/note"), ("note", "x")),
    ] {
        let r = hana.post_form(&path, &[("csrf_token", &token), extra]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let kept = app.store.invitation_get(seed::CONTOSO_TENANT, &inv).await.unwrap().unwrap();
    assert!(kept.reference_note.is_empty() && kept.copied_at.is_none());
    let nico = app.signed_in(NICO_NO_ROLE).await;
    assert_eq!(nico.get("/invitations").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(nico.get(&format!("/invitations/{inv}")).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_indirect_reseller_invites_to_accept_but_sees_no_one_elses_invitations() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let (contoso_inv, _) = invite(&sam, &app.customer_id("Bellows College"), "admin_center").await;
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    let id = app.customer_id("Cascade Bicycles");
    let (inv, html) = invite(&fiona, &id, "admin_center").await;
    assert!(field(&html, "body").contains("Fabrikam IT"));
    let (_, list) = fiona.get_html("/invitations").await;
    assert!(list.contains(&inv) && !list.contains(&contoso_inv), "only its own tenant's");
    assert_eq!(fiona.get(&format!("/invitations/{contoso_inv}")).await.status(), StatusCode::NOT_FOUND);
    // The acceptance-link kind belongs to attestation, which a reseller can't make.
    let token = csrf_of(&html);
    let r = fiona
        .post_form(
            &format!("/customers/{id}/invitations"),
            &[("csrf_token", &token), ("kind", "acceptance_link"), ("submission", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_reference_note_and_the_filters_of_the_list() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    let (sams, html) = invite(&sam, &app.customer_id("Bellows College"), "admin_center").await;
    let (alexs, _) = invite(&alex, &app.customer_id("Adatum Corporation"), "admin_center").await;
    let token = csrf_of(&html);
    let r = sam
        .post_form(
            &format!("/invitations/{sams}/note"),
            &[("csrf_token", &token), ("note", "Order 4711, sent by Zoë"), ("back", "/invitations")],
        )
        .await;
    assert_eq!(location(&r), "/invitations");
    let (_, list) = sam.get_html("/invitations").await;
    assert!(list.contains("Order 4711, sent by Zoë"));
    let (_, by_customer) = sam.get_html("/invitations?customer=bellows").await;
    assert!(by_customer.contains(&sams) && !by_customer.contains(&alexs));
    let alex_oid = seed::users().into_iter().find(|u| u.name == ALEX_ADMIN).unwrap().oid;
    let (_, by_alex) = sam.get_html(&format!("/invitations?by={alex_oid}")).await;
    assert!(by_alex.contains(&alexs) && !by_alex.contains(&sams));
    let (_, by_kind) = sam.get_html("/invitations?kind=relationship").await;
    assert!(!by_kind.contains(&alexs) && by_kind.contains("No invitation matches these filters."));
    let (_, not_used) = sam.get_html("/invitations?state=not_used").await;
    assert!(not_used.contains(&alexs));
}

/// Fills in New relationship and writes the invitation; the answer.
async fn new_relationship(b: &Browser, partner_id: &str, company: &str) -> reqwest::Response {
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
    b.post_form("/invitations/new-relationship", &fields).await
}

#[tokio::test]
async fn new_relationship_asks_partner_center_for_the_link_with_the_reseller_picked() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let (_, customers) = sam.get_html("/customers").await;
    assert!(customers.contains("href=\"/invitations/new-relationship\">New relationship</a>"));
    let (_, form) = sam.get_html("/invitations/new-relationship").await;
    assert!(form.contains("Fabrikam IT"), "Contoso's indirect resellers are offered");
    let r = new_relationship(&sam, seed::FABRIKAM_TENANT, "Northwind Traders").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let asked = app.sandbox.requests();
    let call = asked.iter().find(|q| q.path_and_query.starts_with("/v1/customers/relationshiprequests")).unwrap();
    assert!(
        call.path_and_query.contains(&format!("indirectResellerId={}", seed::FABRIKAM_TENANT)),
        "{}",
        call.path_and_query
    );
    let (_, html) = sam.get_html(&location(&r)).await;
    let body = field(&html, "body");
    assert!(
        body.contains("https://admin.microsoft.com/Adminportal/Home?invType=IndirectResellerRelationship"),
        "{body}"
    );
    assert!(body.contains("together with Fabrikam IT, your reseller") && body.contains("Northwind Traders"));
    assert!(body.contains("Hello Zoë") && body.contains("does not give us administrative access"));
    // A reseller that is not one of Contoso's is refused, everything typed kept.
    let r = new_relationship(&sam, "00000000-0000-4000-8000-000000000bad", "Kept Company").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Choose one of your indirect resellers") && html.contains("value=\"Kept Company\""));
}

#[tokio::test]
async fn an_indirect_reseller_invites_together_with_its_provider_and_the_state_follows_the_customer_list() {
    let app = spawn_app().await;
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    let (_, form) = fiona.get_html("/invitations/new-relationship").await;
    assert!(form.contains("Contoso Distribution") && form.contains("Choose your indirect provider"));
    let r = new_relationship(&fiona, "", "Zephyr Kite Works").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "the provider must be picked");
    let r = new_relationship(&fiona, seed::CONTOSO_TENANT, "Zephyr Kite Works").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let call = app
        .sandbox
        .requests()
        .into_iter()
        .rfind(|q| q.path_and_query.starts_with("/v1/customers/relationshiprequests"))
        .unwrap();
    assert!(call.path_and_query.contains(&format!("indirectCloudSolutionProviderId={}", seed::CONTOSO_TENANT)));
    let (_, html) = fiona.get_html(&location(&r)).await;
    let inv = location(&r).trim_start_matches("/invitations/").to_string();
    let link = unescape(between(&html, "<code class=\"link\">", "</code>").unwrap());
    assert!(html.contains("data-invitation-state=\"waiting\""));
    // The customer accepts on the sandbox's admin center page; the next refresh of the
    // list finds the company among the reseller's customers.
    app.sandbox.accept_relationship(&link, "Zephyr kite WORKS", "zephyrkiteworks").expect("accepted");
    let r = fiona.post_with_token_of("/customers", "/customers/refresh").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.wait_until("the invitation is accepted", async || {
        let (_, page) = fiona.get_html(&format!("/invitations/{inv}")).await;
        page.contains("data-invitation-state=\"accepted\"")
    })
    .await;
    let kept = app.store.invitation_get(seed::FABRIKAM_TENANT, &inv).await.unwrap().unwrap();
    let customer = kept.accepted_customer_id.expect("matched to the new customer");
    assert_eq!(kept.invitation.customer_id.as_deref(), Some(customer.as_str()));
}

#[tokio::test]
async fn helpdesk_can_not_make_a_new_relationship() {
    let app = spawn_app().await;
    let hana = app.signed_in(HANA_HELPDESK).await;
    assert_eq!(hana.get("/invitations/new-relationship").await.status(), StatusCode::FORBIDDEN);
    let (_, page) = hana.get_html("/customers").await;
    assert!(!page.contains("New relationship</a>"));
    let r = hana
        .post_form("/invitations/new-relationship", &[("csrf_token", &csrf_of(&page)), ("company_name", "X")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!app.sandbox.requests().iter().any(|q| q.path_and_query.contains("relationshiprequests")));
}

/// The portal sending through a real SMTP server on loopback (`tests/smtp`), from the
/// configured sender with the agent as Reply-To.
async fn app_sending_through(server: &crate::smtp_server::SmtpServer) -> TestApp {
    let smtp = server.settings().smtp;
    spawn_app_with(Db::Sqlite, |s, _| {
        s.smtp = smtp;
        s.smtp.smtp_sender = Some("Contoso invitations <invitations@contoso.example>".into());
    })
    .await
    .expect("SQLite")
}

#[tokio::test]
async fn send_delivers_the_edited_email_and_a_failure_keeps_the_text_for_another_try() {
    use crate::smtp_server::{ServerOptions, SmtpServer, smtp_prerequisites};
    let Some(dir) = smtp_prerequisites("the invitation Send test") else { return };
    let options = ServerOptions { refuse_recipients: vec!["nobody@bellows.example".into()], ..Default::default() };
    let mut server = SmtpServer::start(&dir, options).await;
    let app = app_sending_through(&server).await;
    let b = app.signed_in(SAM_SALES).await;
    let (inv, html) = invite(&b, &app.customer_id("Bellows College"), "admin_center").await;
    assert!(html.contains("formaction=\"/invitations/") && html.contains(">Send</button>"), "Send is offered");
    let token = csrf_of(&html);
    let body = format!("Hallo Zoë Ångström,\r\nbitte akzeptieren: {ADMIN_CENTER}\r\n\r\nGrüße aus Łódź\r\n");
    let send = |to: &'static str| {
        let body = body.clone();
        let token = token.clone();
        let b = &b;
        let inv = inv.clone();
        async move {
            let form =
                [("csrf_token", token.as_str()), ("to", to), ("subject", "Zoë, bitte: MCA"), ("body", body.as_str())];
            b.post_form(&format!("/invitations/{inv}/send"), &form).await
        }
    };
    // Refused by the server: the reason, the text kept, nothing marked as sent.
    let r = send("nobody@bellows.example").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("The email was not sent"), "{}", text_of(&page));
    assert_eq!(field(&page, "body"), body.replace("\r\n", "\n"));
    assert_eq!(field(&page, "to"), "nobody@bellows.example");
    assert!(server.received_nothing().await);
    let kept = app.store.invitation_get(seed::CONTOSO_TENANT, &inv).await.unwrap().unwrap();
    assert!(kept.sent_at.is_none() && kept.send_failure.is_some());
    // Corrected and sent again: the server has it, intact.
    let r = send("zoe@bellows.example").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let got = server.received().await;
    assert_eq!(got.envelope.rcpt_to, ["zoe@bellows.example"]);
    assert_eq!(got.subject.as_deref(), Some("Zoë, bitte: MCA"));
    assert_eq!(
        got.text.as_deref().map(|t| t.trim_end_matches('\n')),
        Some(body.replace("\r\n", "\n").trim_end_matches('\n'))
    );
    assert_eq!(got.from[0].address, "invitations@contoso.example");
    assert_eq!(got.reply_to[0].address, "sam.sales@contosodistribution.onmicrosoft.com", "answers go to the agent");
    let (_, list) = b.get_html("/invitations?state=sent").await;
    assert!(list.contains(&inv) && list.contains("sent on"));
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 10).await.unwrap();
    let sends: Vec<_> =
        log.iter().filter(|e| e.entry.action == "invitation_sent").map(|e| e.entry.outcome.as_str()).collect();
    assert_eq!(sends, ["sent", "failed"], "both tries are in the audit log, newest first");
}

#[tokio::test]
async fn send_from_the_add_customer_confirmation_never_mails_the_password() {
    use crate::smtp_server::{ServerOptions, SmtpServer, smtp_prerequisites};
    let Some(dir) = smtp_prerequisites("the confirmation Send test") else { return };
    let mut server = SmtpServer::start(&dir, ServerOptions::default()).await;
    let app = app_sending_through(&server).await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let (_, review) = b.review_new_customer(&CustomerFields::tailwind("sendpw", "admin_center", "")).await;
    let (_, done) = b.submit_new_customer(&review).await;
    let password = code_shown(&done, "temporary-password");
    assert!(done.contains("the temporary password is never sent by email"));
    let inv = between(&done, "action=\"/invitations/", "/save\"").unwrap();
    let mut form = form_fields(&done, &format!("/invitations/{inv}/save"));
    form.push(("to".into(), "tania@tailwind.example".into()));
    form.push(("subject".into(), field(&done, "subject")));
    form.push(("body".into(), field(&done, "body")));
    let r = b
        .post_form(
            &format!("/invitations/{inv}/send"),
            &form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the confirmation's text stays on screen");
    let page = r.text().await.unwrap();
    assert!(page.contains("Sent to tania@tailwind.example") && page.contains(&password), "the password still readable");
    let got = server.received().await;
    let text = got.text.unwrap();
    assert!(text.contains("Sign in as admin@sendpw.onmicrosoft.com") && !text.contains(&password), "{text}");
    assert!(!got.raw.contains(&password));
}
