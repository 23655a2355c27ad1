//! Edit agreement: validated, stored, then sent to Partner Center exactly once; roles and
//! partner type enforced on the server; a slow or failing upstream loses nothing.

use std::time::Duration;

use mca_portal::sandbox::Faults;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_sales_agent_records_a_new_attestation() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("A. Datum Labs");
    let html = b.customer_page(&id).await;
    assert_eq!(customer_status(&html), "reattestation_required");
    assert!(html.contains(&format!("/customers/{id}/agreement/edit")), "the account page offers Edit");
    let (status, form, _) = b.open_edit_agreement(&id).await;
    assert_eq!(status, StatusCode::OK);
    for label in
        ["First name", "Last name", "Email address", PHONE_LABEL, "Agreement acceptance date", "Save and continue"]
    {
        assert!(form.contains(label), "{label}");
    }
    assert!(
        form.contains(&format!("today is {} (year-month-day) in UTC", today_utc())),
        "the form says which day is today in UTC"
    );
    let before = app.sandbox.attestations_of(&id).len();
    let today = today_utc();
    let r = b.edit_agreement(&id, &tania("tania.carr@adatumlabs.example", &today)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/customers/{id}"));
    let html = b.customer_page(&id).await;
    let flash = between(&html, "class=\"flash\"", "</div>").expect("a message after attesting");
    assert!(flash.contains("Partner Center recorded the attestation"), "the outcome is said: {flash}");
    assert!(flash.contains("Within 30 minutes"), "and that Microsoft emails the primary contact: {flash}");
    // Who is emailed is the customer's primary contact as Partner Center holds it, with the
    // address the page shows, not the person just attested.
    let shown = between(&html, "<dt>Billing email</dt><dd>", "</dd>").expect("the page shows the billing email");
    assert!(flash.contains(shown), "the banner names {shown}: {flash}");
    assert!(!flash.contains("tania.carr@adatumlabs.example"), "not the person attested: {flash}");
    assert_eq!(customer_status(&html), "attested", "the status follows at once");
    assert!(html.contains("tania.carr@adatumlabs.example"));
    let row = attestation_row(&html, "tania.carr@adatumlabs.example");
    assert!(row.contains("Sam Sales"), "attested by the signed-in user, whose token sent it");
    let after = app.sandbox.attestations_of(&id);
    assert_eq!(after.len(), before + 1, "exactly one new attestation upstream");
    let posts = app.attestation_posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].request_id.is_some() && posts[0].correlation_id.is_some());
    // The audit log has the submission and the attempt, with the ids, and no token.
    let log = app.store.audit_recent(mca_portal::sandbox::seed::CONTOSO_TENANT, 20).await.unwrap();
    let attempt = log.iter().find(|e| e.entry.action == "attest_attempt").expect("the attempt is audited");
    assert_eq!(attempt.entry.outcome, "delivered");
    assert_eq!(attempt.entry.actor_name.as_deref(), Some("Sam Sales"));
    assert_eq!(attempt.entry.request_id, posts[0].request_id);
    assert!(attempt.entry.detail.as_deref().unwrap().contains(&today));
    assert!(log.iter().any(|e| e.entry.action == "attest_submitted"));
    for e in &log {
        assert!(!format!("{:?}", e.entry).contains("eyJ"), "no token in the audit log");
    }
}

/// The phone label of both forms, Edit agreement and Add customer.
const PHONE_LABEL: &str = "Phone number (optional in most countries)";

/// The value of the input `name` in a form page.
fn input_value(html: &str, name: &str) -> String {
    let tag = between(html, &format!("name=\"{name}\""), ">").unwrap_or_else(|| panic!("no input {name}"));
    between(tag, "value=\"", "\"").map(unescape).unwrap_or_default()
}

#[tokio::test]
async fn the_form_starts_empty_with_the_latest_person_beside_it_to_use() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let sc = seed_customer("Best For You Organics");
    let latest = &sc.agreements.iter().max_by_key(|a| a.date_agreed).unwrap().contact;
    let (_, html, _) = b.open_edit_agreement(&sc.id).await;
    for field in ["first_name", "last_name", "email", "phone", "date_agreed"] {
        assert_eq!(input_value(&html, field), "", "{field} starts empty");
    }
    let rule = html.find("refuses a second attestation with exactly the same").expect("the rule is said");
    assert!(rule < html.find("name=\"first_name\"").unwrap(), "before the agent types");
    let reference = between(&html, "Latest attestation, for reference", "</aside>").expect("the latest person");
    assert!(reference.contains(&escaped(&latest.email)) && reference.contains(&escaped(&latest.first_name)));
    // Without the script, Use these details is a link that reloads the form filled.
    let link = format!("/customers/{}/agreement/edit?use=latest", sc.id);
    assert!(reference.contains(&format!("href=\"{link}\"")) && reference.contains("Use these details"));
    assert!(reference.contains(&format!("data-email=\"{}\"", escaped(&latest.email))), "and data for the script");
    let (status, filled) = b.get_html(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(input_value(&filled, "first_name"), latest.first_name);
    assert_eq!(input_value(&filled, "last_name"), latest.last_name);
    assert_eq!(input_value(&filled, "email"), latest.email);
    assert_eq!(input_value(&filled, "phone"), latest.phone.clone().unwrap_or_default());
    assert_eq!(input_value(&filled, "date_agreed"), "", "the date is the agent's to give");
}

#[tokio::test]
async fn both_forms_label_the_phone_alike_and_say_how_dates_are_written() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let (_, edit, _) = b.open_edit_agreement(&id).await;
    let (_, add) = b.get_html("/customers/new").await;
    for (form, html) in [("Edit agreement", &edit), ("Add customer", &add)] {
        assert!(html.contains(&format!(">{PHONE_LABEL}</label>")), "{form}: the phone label");
        let hint = between(html, "id=\"date_agreed-hint\"", "</p>").expect("a date hint");
        assert!(hint.contains(&format!("{} (year-month-day)", today_utc())), "{form}: {hint}");
    }
    let r = b.edit_agreement(&id, &tania("tania@bellows.example", "")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("as year-month-day, like {}", today_utc())), "the error says the format");
}

/// The Edit agreement form as typed: first name, last name, email, phone, date.
fn typed<'a>(
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
    phone: &'a str,
    date: &'a str,
) -> AgreementInput<'a> {
    AgreementInput { first_name, last_name, email, phone, date_agreed: date }
}

/// The form is refused with `message`, a summary and the wrong field marked, and shows
/// every value typed, as text.
async fn assert_refused_keeping_values(b: &Browser, id: &str, input: &AgreementInput<'_>, message: &str) {
    let r = b.edit_agreement(id, input).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
    let html = r.text().await.unwrap();
    assert!(html.contains(&escaped(message)) || html.contains(message), "{message}");
    assert!(html.contains("class=\"error-summary\""), "a summary at the top");
    assert!(html.contains("aria-invalid=\"true\""), "the wrong field is marked");
    for v in [input.first_name, input.last_name, input.email, input.phone, input.date_agreed] {
        if !v.is_empty() {
            assert!(html.contains(&format!("value=\"{}\"", escaped(v))), "{message}: the value {v:?} is kept");
        }
    }
    assert!(!html.contains("<script>alert(1)</script>"), "markup is shown as text");
}

#[tokio::test]
async fn each_validation_rule_explains_itself_and_keeps_every_value() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let tomorrow = tomorrow_utc();
    let long = "x".repeat(51);
    let email = "tania@example.com";
    let cases = [
        (typed("Tania", "Carr", email, "", &tomorrow), "can't be after today"),
        (typed("", "Carr", email, "", "2024-01-01"), "Enter the first name."),
        (typed("Tania", &long, email, "", "2024-01-01"), "at most 50 characters"),
        (typed("Tania", "Carr", "tania.example.com", "", "2024-01-01"), "needs an @"),
        (typed("Tania", "Carr", email, "call me", "2024-01-01"), "only digits, spaces"),
        (typed("Tania", "Carr", email, "", "31/12/2024"), "not a calendar date"),
        (typed("<script>alert(1)</script>", "Carr", "bad", "", ""), "Enter the agreement acceptance date"),
    ];
    for (input, message) in &cases {
        assert_refused_keeping_values(&b, &id, input, message).await;
    }
    // Today in UTC is accepted: the boundary.
    let r = b.edit_agreement(&id, &tania("tania@bellows.example", &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.sandbox.attestations_of(&id).len(), 1, "only the valid one reached Partner Center");
}

#[tokio::test]
async fn markup_in_a_name_is_stored_and_shown_as_text() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Wingtip Toys");
    let input = AgreementInput {
        first_name: "<b>Bo</b>",
        last_name: "O'Hara & Sons",
        email: "bo@wingtip.example",
        phone: "",
        date_agreed: "2025-06-01",
    };
    assert_eq!(b.edit_agreement(&id, &input).await.status(), StatusCode::SEE_OTHER);
    let html = b.customer_page(&id).await;
    assert!(html.contains(&escaped("<b>Bo</b> O'Hara & Sons")), "shown as typed");
    assert!(!html.contains("<b>Bo</b>"));
}

#[tokio::test]
async fn the_same_contact_again_is_explained_before_anything_is_sent() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let sc = seed_customer("Adatum Corporation");
    let a = &sc.agreements[0];
    let input = AgreementInput {
        first_name: &a.contact.first_name,
        last_name: &a.contact.last_name,
        email: &a.contact.email,
        phone: a.contact.phone.as_deref().unwrap_or(""),
        date_agreed: &today_utc(),
    };
    let r = b.edit_agreement(&sc.id, &input).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("at least one of the four must differ"), "the 600061 rule is explained");
    assert!(html.contains("Microsoft 365 admin center"), "and what to do when all four are still current");
    for field in ["first_name", "last_name", "email", "phone"] {
        let input = between(&html, &format!("name=\"{field}\""), ">").unwrap();
        assert!(input.contains("aria-invalid=\"true\""), "{field} is marked");
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field} says why");
    }
    assert!(!between(&html, "name=\"date_agreed\"", ">").unwrap().contains("aria-invalid"), "the date is not");
    assert!(app.partner_center_posts().is_empty(), "nothing was sent");
    // A different phone number makes it a new attestation.
    let other = AgreementInput { phone: "+1 425 555 0000", ..input };
    assert_eq!(b.edit_agreement(&sc.id, &other).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_double_submit_or_reload_sends_once_and_shows_the_first_outcome() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Southridge Video");
    let (_, _, hidden) = b.open_edit_agreement(&id).await;
    let input = tania("tania@southridge.example", "2025-01-15");
    let first = b.post_agreement(&id, &hidden, &input).await;
    let second = b.post_agreement(&id, &hidden, &input).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    let html = b.customer_page(&id).await;
    assert!(html.contains("already sent"), "the second submit shows the first outcome");
    assert_eq!(app.sandbox.attestations_of(&id).len(), 1, "one attestation upstream");
    assert_eq!(app.attestation_posts().len(), 1, "one call upstream");
}

#[tokio::test]
async fn concurrent_double_clicks_send_once() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Consolidated Messenger");
    let (_, _, hidden) = b.open_edit_agreement(&id).await;
    let input = tania("tania@consolidated.example", "2025-02-01");
    let (r1, r2, r3) = tokio::join!(
        b.post_agreement(&id, &hidden, &input),
        b.post_agreement(&id, &hidden, &input),
        b.post_agreement(&id, &hidden, &input)
    );
    for r in [r1, r2, r3] {
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.sandbox.attestations_of(&id).len(), 1);
}

#[tokio::test]
async fn helpdesk_no_role_and_reseller_users_are_refused_on_the_server() {
    let app = spawn_app().await;
    let contoso = app.customer_id("Northwind Traders");
    let fabrikam = app.customer_id("Cascade Bicycles");
    for (who, id, says) in [
        (HANA_HELPDESK, &contoso, "Only Admin agents and Sales agents"),
        (NICO_NO_ROLE, &contoso, "Helpdesk agent"),
        (
            FIONA_FABRIKAM,
            &fabrikam,
            // The provider is named as Partner Center's relationships call names it.
            "Indirect resellers can't attest on behalf of their customers. Work with Contoso Distribution, your indirect provider, to complete attestation.",
        ),
        (FIONA_FABRIKAM, &contoso, "Indirect resellers can't attest"),
    ] {
        let b = app.signed_in(who).await;
        let (status, html) = b.get_html(&format!("/customers/{id}/agreement/edit")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who} GET");
        assert!(html.contains(&escaped(says)), "{who}: {says}");
        // The same POST made by hand, with a valid CSRF token of the user's own session.
        let page = if who == NICO_NO_ROLE { "/no-access" } else { "/customers" };
        let token = b.token_of(page).await;
        let r = b
            .post_form(
                &format!("/customers/{id}/agreement"),
                &[
                    ("csrf_token", &token),
                    ("idempotency_key", "k1"),
                    ("first_name", "A"),
                    ("last_name", "B"),
                    ("email", "a@b.example"),
                    ("phone", ""),
                    ("date_agreed", "2025-01-01"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{who} POST");
    }
    assert!(app.partner_center_posts().is_empty(), "nothing reached Partner Center");
    // The reseller's own account page says why there is no Edit.
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    let html = fiona.customer_page(&fabrikam).await;
    assert!(!html.contains("/agreement/edit"));
    assert!(html.contains("Work with Contoso Distribution, your indirect provider, to complete attestation."));
    assert!(app.partner_center_posts().is_empty(), "nothing reached Partner Center");
}

#[tokio::test]
async fn a_slow_upstream_gets_saved_and_sent_automatically() {
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        s.deliver_wait_seconds = 1;
        s.delivery_poll_ms = 100;
        let _ = sandbox;
    })
    .await
    .unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Fourth Coffee");
    assert_eq!(b.get(&format!("/customers/{id}")).await.status(), StatusCode::OK);
    // Partner Center becomes slow: every call takes 2.5 s, more than the agent waits.
    app.sandbox.set_faults(Faults { latency_ms: 2500, ..Faults::default() });
    let r = b.edit_agreement(&id, &tania("tania@fourthcoffee.example", "2025-03-03")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = b.customer_page(&id).await;
    assert!(html.contains("Saved — it will be sent to Partner Center automatically."), "the agent is told it is saved");
    assert!(customer_status(&html) == "pending" || shows_submission(&html, "pending"), "and sees it pending");
    app.wait_until("the attestation reaches Partner Center", async || {
        app.attestations_by(&id, "tania@fourthcoffee.example") > 0
    })
    .await;
    app.sandbox.set_faults(Faults::default());
    app.wait_until("the submission shows as sent", async || shows_submission(&b.customer_page(&id).await, "sent"))
        .await;
    assert_eq!(customer_status(&b.customer_page(&id).await), "attested");
    assert_eq!(app.attestations_by(&id, "tania@fourthcoffee.example"), 1);
}

#[tokio::test]
async fn timeouts_are_retried_with_the_same_request_id_and_attest_once() {
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        impatient(s);
        // Every call is carried out but answered too late.
        sandbox.faults = Faults { timeout_percent: 100, timeout_seconds: 2, ..Faults::default() };
    })
    .await
    .unwrap();
    // Sign in while the API times out: the sign-in reads partner type through it, so let it through first.
    app.sandbox.set_faults(Faults::default());
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Litware, Inc.");
    assert_eq!(b.get(&format!("/customers/{id}")).await.status(), StatusCode::OK);
    // Opening the agreement document reads the template id, which is then cached.
    assert_eq!(b.get(&format!("/customers/{id}/agreement-document")).await.status(), StatusCode::SEE_OTHER);
    app.sandbox.set_faults(Faults { timeout_percent: 100, timeout_seconds: 2, ..Faults::default() });
    let r = b.edit_agreement(&id, &tania("tania@litware.example", "2025-04-04")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.sandbox.set_faults(Faults::default());
    app.wait_until_delivered(1).await;
    assert_eq!(
        app.attestations_by(&id, "tania@litware.example"),
        1,
        "one attestation, although it was sent more than once"
    );
    let posts = app.attestation_posts();
    assert!(posts.len() >= 2, "it was retried ({})", posts.len());
    assert!(posts.iter().all(|p| p.request_id == posts[0].request_id), "with the same MS-RequestId each time");
}

#[tokio::test]
async fn a_refusal_keeps_everything_and_can_be_corrected_and_sent_again() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Munson's Pickles and Preserves Farm");
    assert_eq!(b.get(&format!("/customers/{id}")).await.status(), StatusCode::OK);
    // Meanwhile someone attests the same person through another tool: the portal's own
    // check cannot know, so Partner Center refuses with 600061.
    app.sandbox.add_attestation(
        &id,
        "Tania",
        "Carr",
        "tania@munsons.example",
        Some("+1 425 555 0199"),
        chrono::NaiveDate::from_ymd_opt(2025, 5, 1).unwrap(),
    );
    let r = b.edit_agreement(&id, &tania("tania@munsons.example", "2025-05-05")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Partner Center did not accept this"));
    assert!(html.contains("at least one of the four must differ"), "the 600061 explanation");
    assert!(
        html.contains("value=\"tania@munsons.example\"") && html.contains("value=\"2025-05-05\""),
        "everything typed is kept"
    );
    let page = b.customer_page(&id).await;
    assert!(shows_submission(&page, "failed"));
    assert_eq!(customer_status(&page), "failed", "the customer shows Failed with the reason");
    let href = page.split("href=\"").find(|h| h.contains("agreement/edit?from=")).unwrap().split('"').next().unwrap();
    // Correct and send again: the failed values are there; change the phone and send.
    let (status, form) = b.get_html(&unescape(href)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"tania@munsons.example\""));
    let hidden = hidden_inputs(&form);
    let fixed = AgreementInput { phone: "+1 425 555 0000", ..tania("tania@munsons.example", "2025-05-05") };
    let r = b.post_agreement(&id, &hidden, &fixed).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(customer_status(&b.customer_page(&id).await), "attested");
}

#[tokio::test]
async fn a_batch_of_200_against_a_flaky_upstream_is_delivered_exactly_once() {
    let app = spawn_app_with(Db::Sqlite, |s, _| {
        s.deliver_wait_seconds = 0;
        s.delivery_poll_ms = 200;
        s.delivery_concurrency = 16;
        s.http_timeout_seconds = 1;
    })
    .await
    .unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let ids = contoso_customer_ids();
    assert_eq!(b.get(&format!("/customers/{}/agreement-document", ids[0])).await.status(), StatusCode::SEE_OTHER);
    // 30 % 5xx, 10 % 429 and 5 % timeouts on every Partner Center call from here on.
    app.sandbox.set_faults(Faults {
        error_percent: 30,
        throttle_percent: 10,
        timeout_percent: 5,
        timeout_seconds: 2,
        ..Faults::default()
    });
    let total = 200;
    b.record_numbered_attestations(&ids, total, "batch", "2025-01-01").await;
    app.wait_until_delivered(total).await;
    app.assert_each_attested_once(&ids, total, "batch");
    let posts = app.attestation_posts().len();
    assert!(posts > total, "the faults made the portal retry ({posts} calls for {total} submissions)");
}
