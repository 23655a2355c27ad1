//! Add customer: Account info and Customer agreement, Next: Review, Update, Submit, and
//! the confirmation with the sign-in details shown once.

use std::time::Duration;

use mca_portal::sandbox::Faults;
use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_sales_agent_adds_a_customer_with_an_attestation() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, list) = b.get_html("/customers").await;
    assert!(list.contains("href=\"/customers/new\""), "the list offers Add customer");
    let today = today_utc();
    let (status, page) = b.review_new_customer(&CustomerFields::tailwind("tailwindtraders", "attest", &today)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>Review</h1>"));
    assert!(
        page.contains("Person who accepted the Microsoft Customer Agreement"),
        "the primary contact is shown as the person who accepted"
    );
    assert!(page.contains("tailwindtraders.onmicrosoft.com"));
    assert!(page.contains(&escaped("Tailwind Traders & Co")));
    assert!(page.contains(">Update</button>"));
    let (status, done) = b.submit_new_customer(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("was added"));
    let sign_in = code_shown(&done, "sign-in-name");
    let password = code_shown(&done, "temporary-password");
    assert_eq!(sign_in, "admin@tailwindtraders.onmicrosoft.com");
    assert!(password.len() >= 8, "a temporary password is shown");
    assert!(done.contains("Save these now"));
    assert!(
        done.contains("Microsoft emails the customer's primary contact (tania@tailwind.example) within 30 minutes")
    );
    // In Partner Center: one new customer, attested by Sam.
    let id = between(&done, "href=\"/customers/", "\"").expect("a link to the new customer");
    let atts = app.sandbox.attestations_of(id);
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].0, "tania@tailwind.example");
    assert_eq!(atts[0].1.to_string(), today);
    assert!(atts[0].2.is_some(), "attested with Sam's own token");
    let (status, account) = b.get_html(&format!("/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(customer_status(&account), "attested");
    assert!(!account.contains(&password), "the password is on no later page");
    let (_, list) = b.get_html("/customers?q=tailwind").await;
    assert!(list.contains(&escaped("Tailwind Traders & Co")), "the new customer is in the list");
    assert!(!list.contains(&password));
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 50).await.unwrap();
    assert!(log.iter().any(|e| e.entry.action == "create_customer_attempt" && e.entry.outcome == "delivered"));
    assert!(log.iter().all(|e| !format!("{:?}", e.entry).contains(&password)), "not in the audit log");
}

#[tokio::test]
async fn a_customer_who_will_accept_in_the_admin_center_gets_the_invitation_email() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let fields = CustomerFields::tailwind("wingtipnew", "admin_center", "");
    let (status, page) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("will be asked to accept the Microsoft Customer Agreement in the Microsoft 365 admin center")
    );
    let (_, done) = b.submit_new_customer(&page).await;
    assert!(done.contains("Invitation email"));
    assert!(
        done.contains("https://admin.microsoft.com/AdminPortal/Home?ref=/BillingAccounts/agreement"),
        "the admin center link"
    );
    assert!(done.contains("Sign in as admin@wingtipnew.onmicrosoft.com"), "with the new sign-in name");
    assert!(
        done.contains("Copy to clipboard") && done.contains("href=\"mailto:tania%40tailwind.example?subject="),
        "ready to copy or open in email"
    );
    let password = code_shown(&done, "temporary-password");
    let body = between(&done, "name=\"body\"", "</textarea>").expect("the email");
    assert!(body.contains(&password), "the password is in the text on screen (tests/api/invitations.rs: never kept)");
    let id = between(&done, "href=\"/customers/", "\"").expect("a link to the new customer");
    assert!(app.sandbox.attestations_of(id).is_empty(), "no attestation was sent");
    let account = b.customer_page(id).await;
    assert_eq!(customer_status(&account), "not_confirmed");
}

#[tokio::test]
async fn update_on_the_review_page_brings_back_every_value() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = b.review_new_customer(&CustomerFields::tailwind("updateme", "attest", "2025-01-02")).await;
    let (status, back) = b.post_page_form(&page, "/customers/new/update#agreement").await;
    assert_eq!(status, StatusCode::OK);
    for v in ["updateme", "Tania", "Carr", "tania@tailwind.example", "2025-01-02", "98052"] {
        assert!(back.contains(&format!("value=\"{}\"", escaped(v))), "{v} is kept");
    }
    assert!(back.contains(&format!("value=\"{}\"", escaped("Tailwind Traders & Co"))));
    assert!(back.contains(
        "id=\"agreement_attest\" name=\"agreement\" value=\"attest\" aria-controls=\"acceptance-date\" checked"
    ));
}

#[tokio::test]
async fn wrong_values_are_explained_and_kept() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let fields = CustomerFields::tailwind("bad prefix!", "attest", &tomorrow_utc())
        .set("email", "not-an-email")
        .set("company_name", "");
    let (status, page) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in ["Enter the company name.", "only letters a–z and digits", "needs an @", "can't be after today"] {
        assert!(page.contains(&escaped(m)) || page.contains(m), "{m}");
    }
    assert!(page.contains("value=\"bad prefix!\"") && page.contains("value=\"not-an-email\""), "values kept");
    assert!(page.contains("class=\"error-summary\""));
}

#[tokio::test]
async fn country_rules_ask_for_phone_and_registration_number() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let fields = CustomerFields::tailwind("brazilco", "attest", "2025-01-01")
        .set("country", "BR")
        .set("phone", "")
        .set("state", "");
    let (status, page) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("A phone number is required for customers in Brazil."));
    assert!(page.contains("An organization registration number is required for customers in Brazil."));
}

#[tokio::test]
async fn a_taken_domain_is_said_when_leaving_the_field_and_on_review() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let taken: serde_json::Value = b.get("/customers/new/domain?prefix=adatum").await.json().await.unwrap();
    assert_eq!(taken["available"], false);
    assert!(taken["message"].as_str().unwrap().contains("adatum.onmicrosoft.com is taken"));
    let free: serde_json::Value = b.get("/customers/new/domain?prefix=somethingnew42").await.json().await.unwrap();
    assert_eq!(free["available"], true);
    let (status, page) = b.review_new_customer(&CustomerFields::tailwind("adatum", "attest", "2025-01-01")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("adatum.onmicrosoft.com is taken. Choose another domain prefix."));
}

#[tokio::test]
async fn a_near_miss_address_offers_the_suggestion() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let fields = CustomerFields::tailwind("addresstest", "attest", "2025-01-01")
        .set("address_line1", "1 Main St")
        .set("city", "redmond");
    let (status, page) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Use the suggested address: 1 Main Street"), "the suggestion is offered");
    assert!(page.contains("Keep the address as I typed it"));
    // Choose the suggestion (checked already) and go on: the form whole, as a browser sends it.
    let mut all = form_fields(&page, "/customers/new/review");
    all.extend(
        fields.set("address_choice", "suggested").pairs().into_iter().map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let (status, html) = b.post_html("/customers/new/review", &all).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Review</h1>"), "{html}");
    assert!(html.contains("1 Main Street") && html.contains("Redmond"), "the suggested address is used");
}

#[tokio::test]
async fn submitting_twice_creates_one_tenant() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = b.review_new_customer(&CustomerFields::tailwind("twiceco", "attest", "2025-01-01")).await;
    let (_, first) = b.submit_new_customer(&page).await;
    let (_, second) = b.submit_new_customer(&page).await;
    assert!(first.contains("was added"));
    assert!(second.contains("Already submitted") && second.contains("Nothing was sent again"));
    let password = code_shown(&first, "temporary-password");
    assert!(!second.contains(&password), "the password is shown only once");
    assert_eq!(app.customer_creations().len(), 1);
}

#[tokio::test]
async fn a_timeout_while_creating_still_creates_one_tenant() {
    let app = spawn_app_with(Db::Sqlite, |s, _| impatient(s)).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = b.review_new_customer(&CustomerFields::tailwind("slowtenant", "attest", "2025-01-01")).await;
    // Warm the template id, then every call is carried out but answered too late.
    assert_eq!(
        b.get(&format!("/customers/{}/agreement-document", app.customer_id("Adatum Corporation"))).await.status(),
        StatusCode::SEE_OTHER
    );
    app.sandbox.set_faults(Faults { timeout_percent: 100, timeout_seconds: 2, ..Faults::default() });
    let (status, done) = b.submit_new_customer(&page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Saved — it will be sent to Partner Center automatically."), "{done}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.sandbox.set_faults(Faults::default());
    app.wait_until_delivered(1).await;
    let creates = app.customer_creations();
    assert!(creates.len() >= 2, "retried ({})", creates.len());
    assert!(creates.iter().all(|c| c.request_id == creates[0].request_id), "with one MS-RequestId");
    let (_, list) = b.get_html("/customers?q=slowtenant").await;
    assert!(list.contains("of 1 customer."), "one tenant, in the list");
}

#[tokio::test]
async fn an_indirect_provider_creates_a_customer_for_its_reseller() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = b.get_html("/customers/new").await;
    assert!(page.contains("Indirect reseller (optional)") && page.contains(">Fabrikam IT</option>"));
    let fields = CustomerFields::tailwind("forfabrikam", "attest", "2025-01-01")
        .set("associated_partner_id", seed::FABRIKAM_TENANT);
    let (status, review_page) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(review_page.contains("Fabrikam IT"));
    let (_, done) = b.submit_new_customer(&review_page).await;
    assert!(done.contains("was added"), "{done}");
}

#[tokio::test]
async fn helpdesk_no_role_and_resellers_cannot_add_customers() {
    let app = spawn_app().await;
    for who in [HANA_HELPDESK, NICO_NO_ROLE, FIONA_FABRIKAM] {
        let b = app.signed_in(who).await;
        assert_eq!(b.get("/customers/new").await.status(), StatusCode::FORBIDDEN, "{who} GET");
        let page = if who == NICO_NO_ROLE { "/no-access" } else { "/customers" };
        let (_, html) = b.get_html(page).await;
        assert!(!html.contains("href=\"/customers/new\""), "{who} is not offered Add customer");
        let token = csrf_of(&html);
        for action in ["/customers/new/review", "/customers/new/submit"] {
            let fields = CustomerFields::tailwind("byhand", "attest", "2025-01-01")
                .set("csrf_token", &token)
                .set("idempotency_key", "k");
            assert_eq!(
                b.post_form(action, &fields.pairs()).await.status(),
                StatusCode::FORBIDDEN,
                "{who} POST {action}"
            );
        }
    }
    assert!(app.partner_center_posts().is_empty());
}

/// The Update form of a Review page: where it goes and what its button says.
fn update_control(review: &str) -> &str {
    let form = between(review, "<form method=\"post\" action=\"/customers/new/update#agreement\"", "</form>")
        .expect("Update returns to the Customer agreement section");
    &form[form.find("<button").expect("a button")..]
}

#[tokio::test]
async fn the_agreement_is_one_choice_and_the_date_belongs_to_attesting() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, form) = b.get_html("/customers/new").await;
    assert!(form.contains(
        "<label for=\"agreement_attest\">The customer has accepted the Microsoft Customer Agreement</label>"
    ));
    assert!(!form.contains("name=\"accepted\""), "no second box to tick");
    let acceptance = between(&form, "<div class=\"nested\" id=\"acceptance-date\">", "agreement_admin_center").unwrap();
    assert!(acceptance.contains("id=\"date_agreed\""), "the date is revealed by the attest choice");
    let no_date = CustomerFields::tailwind("attestnodate", "attest", "").without("date_agreed");
    let (status, page) = b.review_new_customer(&no_date).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "attesting needs the date");
    assert!(page.contains("href=\"#date_agreed\""), "{page}");
    // The other choice with a date that would be refused: the server ignores the date.
    let fields = CustomerFields::tailwind("admincenterdate", "admin_center", "2999-01-01");
    let (status, review) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert!(!review.contains("2999-01-01") && !review.contains("Agreement acceptance date"), "no date on Review");
    assert!(form_fields(&review, "/customers/new/submit").contains(&("date_agreed".into(), String::new())));
    let (_, back) = b.post_page_form(&review, "/customers/new/update#agreement").await;
    assert!(back.contains("value=\"admin_center\" checked") && !back.contains("2999-01-01"));
    // The same sent straight to Submit (no Review in between) attests nothing.
    let token = csrf_of(&back);
    let direct = fields.set("csrf_token", &token).set("idempotency_key", "admin-center-with-a-date");
    let (status, done) = b.post_html("/customers/new/submit", &direct.pairs()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Invitation email"), "{done}");
    assert!(app.attestation_posts().is_empty(), "no attestation was sent");
}

#[tokio::test]
async fn review_shows_the_contact_and_reseller_as_fields_with_one_update() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let attest = CustomerFields::tailwind("reviewattest", "attest", "2025-01-01")
        .set("associated_partner_id", seed::FABRIKAM_TENANT);
    let (_, attesting) = b.review_new_customer(&attest).await;
    let (_, admin_center) = b.review_new_customer(&CustomerFields::tailwind("reviewac", "admin_center", "")).await;
    for review in [&attesting, &admin_center] {
        assert!(review.contains("<h3 id=\"primary-contact\">Primary contact</h3>"), "{review}");
        for (label, value) in
            [("Name", "Tania Carr"), ("Email address", "tania@tailwind.example"), ("Phone number", "+1 425 555 0100")]
        {
            assert!(review.contains(&format!("<dt>{label}</dt><dd>{value}</dd>")), "{label}");
        }
    }
    assert!(!admin_center.contains("to send to Tania Carr (tania@tailwind.example)"), "not inside a sentence");
    assert!(attesting.contains("<dt>Indirect reseller</dt><dd>Fabrikam IT</dd>"));
    assert!(!admin_center.contains("Indirect reseller"), "none was picked");
    assert_eq!(update_control(&attesting), update_control(&admin_center), "one label for Update");
    let (_, form) = b.get_html("/customers/new").await;
    assert!(form.contains("<h2 id=\"agreement\">Customer agreement</h2>"), "the anchor Update returns to");
}

#[tokio::test]
async fn the_confirmation_offers_copies_and_keeps_the_sign_in_name_whole() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let done = b.add_customer(&CustomerFields::tailwind("confirmcopy", "admin_center", "")).await;
    assert!(
        done.contains(
            "<span>admin</span><wbr><span>@confirmcopy</span><wbr><span>.onmicrosoft</span><wbr><span>.com</span>"
        ),
        "the name breaks only before @ and dots"
    );
    assert_eq!(code_shown(&done, "sign-in-name"), "admin@confirmcopy.onmicrosoft.com", "copied as one text");
    assert!(
        done.contains("data-copy=\"sign-in-name\" data-copy-status=\"credentials-status\">Copy sign-in name</button>")
    );
    assert!(
        done.contains(
            "data-copy=\"temporary-password\" data-copy-status=\"credentials-status\">Copy password</button>"
        )
    );
    assert!(
        done.contains(
            "data-copy=\"invitation-body\" data-copy-subject=\"invitation-subject\" data-record=\"copied\" data-needs-script hidden>Copy to clipboard</button>"
        ),
        "Copy to clipboard takes the subject too"
    );
    let body =
        between(&done, "data-grow aria-describedby=\"invitation-link-warning invitation-copy-help\">", "</textarea>")
            .expect("the email");
    let rows: usize =
        between(&done, "<textarea id=\"invitation-body\" name=\"body\" rows=\"", "\"").unwrap().parse().unwrap();
    assert!(rows > body.lines().count(), "{rows} rows show all {} lines", body.lines().count());
    assert!(between(&done, "<div class=\"email-fields\">", "</textarea>").unwrap().contains("invitation-to"));
    assert!(done.contains("<p class=\"actions\"><a class=\"button\" href=\"/customers/"), "spaced actions");
    assert!(done.contains("<script src=\"/static/app.js\" defer></script>"), "the Copy buttons work");
    let css = b.get("/static/app.css").await.text().await.unwrap();
    assert!(css.contains(".sign-in-name span { white-space: nowrap; }"));
    assert!(css.contains(
        ".email-fields input[type=text], .email-fields input[type=email], .email-fields textarea { width: 100%;"
    ));
}

#[tokio::test]
async fn after_a_failed_submit_the_domain_field_has_one_message() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (status, page) = b.review_new_customer(&CustomerFields::tailwind("adatum", "attest", "2025-01-01")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let taken = "adatum.onmicrosoft.com is taken. Choose another domain prefix.";
    assert_eq!(page.matches(taken).count(), 2, "once in the summary, once at the field");
    let message = between(&page, "id=\"domain_prefix-message\" role=\"status\" aria-live=\"polite\">", "</p>").unwrap();
    assert!(message.contains(taken), "the field's one message is where the live check answers");
    assert!(!page.contains("domain_prefix-status") && !page.contains("domain_prefix-error"), "no second slot");
    let js = b.get("/static/app.js").await.text().await.unwrap();
    assert!(js.contains("document.getElementById(`${input.id}-message`)"), "the check writes into that one message");
}

#[tokio::test]
async fn the_registration_number_says_when_it_is_required_and_the_language_follows_the_country() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, form) = b.get_html("/customers/new").await;
    assert!(form.contains(">Organization registration number (optional in United States)</label>"));
    assert!(form.contains("Required for customers in Brazil, Hungary, India,"), "the countries are named");
    assert!(form.contains(
        "<option value=\"\" id=\"culture-default\" selected>As the country/region: English (United States)</option>"
    ));
    assert!(
        form.contains("<option value=\"BR\" data-language=\"Portuguese (Brazil)\" data-registration=\"required\">")
    );
    let brazil = CustomerFields::tailwind("brazillabel", "attest", "2025-01-01").set("country", "BR").set("state", "");
    let (_, page) = b.review_new_customer(&brazil.set("culture", "")).await;
    assert!(page.contains(">Organization registration number (required in Brazil)</label>"));
    assert!(page.contains("As the country/region: Portuguese (Brazil)</option>"));
    // Not chosen: the country's language, on Review and in what is sent.
    let germany = CustomerFields::tailwind("germanylang", "attest", "2025-01-01").set("country", "DE").set("state", "");
    let (_, review) = b.review_new_customer(&germany.clone().set("culture", "")).await;
    assert!(review.contains("<dt>Language</dt><dd>German (Germany)</dd>"), "{review}");
    let (_, chosen) = b.review_new_customer(&germany.set("culture", "en-GB")).await;
    assert!(chosen.contains("<dt>Language</dt><dd>English (United Kingdom)</dd>"), "a chosen language stays");
    let (_, done) = b.submit_new_customer(&review).await;
    let id = between(&done, "href=\"/customers/", "\"").expect("a link to the new customer");
    let account = b.customer_page(id).await;
    assert!(account.contains("<dt>Language and culture</dt><dd>de-DE</dd>"), "created in German: {account}");
}

#[tokio::test]
async fn a_company_name_the_partner_already_has_is_a_warning_on_review() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let existing = app.customer_id("Adatum Corporation");
    b.get_html("/customers").await; // the first visit reads the customers from Partner Center
    let store = app.store.clone();
    app.wait_until("the customers are read", async || {
        !store.customers_named(seed::CONTOSO_TENANT, "Adatum Corporation", 1).await.unwrap().is_empty()
    })
    .await;
    let fields =
        CustomerFields::tailwind("adatumagain", "attest", "2025-01-01").set("company_name", "ADATUM corporation");
    let (status, review) = b.review_new_customer(&fields).await;
    assert_eq!(status, StatusCode::OK, "a warning, not a refusal");
    assert!(
        review.contains("<h1>Review</h1>") && review.contains("You already have a customer named ADATUM corporation.")
    );
    assert!(review.contains(&format!("<a href=\"/customers/{existing}\">Adatum Corporation</a>")), "{review}");
    let done = b.add_customer(&fields).await;
    assert!(done.contains("was added"), "it can still be added");
    let (_, other) = b.review_new_customer(&CustomerFields::tailwind("uniquename", "attest", "2025-01-01")).await;
    assert!(!other.contains("You already have a customer named"));
}
