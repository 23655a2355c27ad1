//! Add customer: Account info and Customer agreement, Next: Review, Update, Submit, and
//! the confirmation with the sign-in details shown once.

use std::time::Duration;

use mca_portal::sandbox::Faults;
use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

fn form<'a>(prefix: &'a str, agreement: &'a str, date: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("company_name", "Tailwind Traders & Co"),
        ("domain_prefix", prefix),
        ("first_name", "Tania"),
        ("last_name", "Carr"),
        ("email", "tania@tailwind.example"),
        ("phone", "+1 425 555 0100"),
        ("country", "US"),
        ("address_line1", "1 Main Street"),
        ("address_line2", ""),
        ("city", "Redmond"),
        ("state", "WA"),
        ("postal_code", "98052"),
        ("culture", "en-US"),
        ("registration_number", ""),
        ("agreement", agreement),
        ("accepted", "yes"),
        ("date_agreed", date),
    ]
}

/// Opens Add customer and posts the fields to Next: Review; returns the answer.
async fn review(b: &Browser, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let (status, html) = b.get_html("/customers/new").await;
    assert_eq!(status, StatusCode::OK, "Add customer opens");
    let mut all: Vec<(String, String)> =
        hidden_inputs(&html).into_iter().filter(|(k, _)| k == "csrf_token" || k == "idempotency_key").collect();
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let r = b.client.post(format!("{}/customers/new/review", b.address)).form(&all).send().await.unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

/// Posts a page's form with the given action (Review → Submit or Update).
async fn post_page_form(b: &Browser, html: &str, action: &str) -> (StatusCode, String) {
    let part = html.split(&format!("action=\"{action}\"")).nth(1).expect("the form").split("</form>").next().unwrap();
    let fields = hidden_inputs(part);
    let r = b.client.post(format!("{}{}", b.address, action)).form(&fields).send().await.unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

fn between(html: &str, start: &str, end: &str) -> String {
    html.split(start).nth(1).and_then(|s| s.split(end).next()).unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_sales_agent_adds_a_customer_with_an_attestation() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, list) = b.get_html("/customers").await;
    assert!(list.contains("href=\"/customers/new\""), "the list offers Add customer");
    let today = today_utc();
    let (status, page) = review(&b, &form("tailwindtraders", "attest", &today)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>Review</h1>"));
    assert!(
        page.contains("Person who accepted the Microsoft Customer Agreement"),
        "the primary contact is shown as the person who accepted"
    );
    assert!(page.contains("tailwindtraders.onmicrosoft.com"));
    assert!(page.contains(&escaped("Tailwind Traders & Co")));
    assert!(page.contains(">Update</button>"));
    let (status, done) = post_page_form(&b, &page, "/customers/new/submit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("was added"));
    let sign_in = between(&done, "<code id=\"sign-in-name\">", "</code>");
    let password = between(&done, "<code id=\"temporary-password\">", "</code>");
    assert_eq!(sign_in, "admin@tailwindtraders.onmicrosoft.com");
    assert!(password.len() >= 8, "a temporary password is shown");
    assert!(done.contains("Save these now"));
    assert!(
        done.contains("Microsoft emails the customer's primary contact (tania@tailwind.example) within 30 minutes")
    );
    // In Partner Center: one new customer, attested by Sam.
    let id = between(&done, "href=\"/customers/", "\"");
    let atts = app.sandbox.attestations_of(&id);
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
    let mut fields = form("wingtipnew", "admin_center", "");
    fields.retain(|(k, _)| *k != "accepted");
    let (status, page) = review(&b, &fields).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("will be asked to accept the Microsoft Customer Agreement in the Microsoft 365 admin center")
    );
    let (_, done) = post_page_form(&b, &page, "/customers/new/submit").await;
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
    let password = between(&done, "<code id=\"temporary-password\">", "</code>");
    let body = between(&done, "<textarea id=\"invitation-body\" rows=\"16\">", "</textarea>");
    assert!(!body.contains(&password), "the password is not in the email");
    let id = between(&done, "href=\"/customers/", "\"");
    assert!(app.sandbox.attestations_of(&id).is_empty(), "no attestation was sent");
    let (_, account) = b.get_html(&format!("/customers/{id}")).await;
    assert_eq!(customer_status(&account), "not_confirmed");
}

#[tokio::test]
async fn update_on_the_review_page_brings_back_every_value() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = review(&b, &form("updateme", "attest", "2025-01-02")).await;
    let (status, back) = post_page_form(&b, &page, "/customers/new/update").await;
    assert_eq!(status, StatusCode::OK);
    for v in ["updateme", "Tania", "Carr", "tania@tailwind.example", "2025-01-02", "98052"] {
        assert!(back.contains(&format!("value=\"{}\"", escaped(v))), "{v} is kept");
    }
    assert!(back.contains(&format!("value=\"{}\"", escaped("Tailwind Traders & Co"))));
    assert!(back.contains("id=\"accepted\" name=\"accepted\" value=\"yes\" checked"));
}

#[tokio::test]
async fn wrong_values_are_explained_and_kept() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    let mut fields = form("bad prefix!", "attest", &tomorrow);
    for (k, v) in fields.iter_mut() {
        match *k {
            "email" => *v = "not-an-email",
            "company_name" => *v = "",
            "accepted" => *v = "",
            _ => {}
        }
    }
    fields.retain(|(k, _)| *k != "accepted");
    let (status, page) = review(&b, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in [
        "Enter the company name.",
        "only letters a–z and digits",
        "needs an @",
        "can't be after today",
        "Confirm that the customer has accepted",
    ] {
        assert!(page.contains(&escaped(m)) || page.contains(m), "{m}");
    }
    assert!(page.contains("value=\"bad prefix!\"") && page.contains("value=\"not-an-email\""), "values kept");
    assert!(page.contains("class=\"error-summary\""));
}

#[tokio::test]
async fn country_rules_ask_for_phone_and_registration_number() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let mut fields = form("brazilco", "attest", "2025-01-01");
    for (k, v) in fields.iter_mut() {
        match *k {
            "country" => *v = "BR",
            "phone" => *v = "",
            "state" => *v = "",
            _ => {}
        }
    }
    let (status, page) = review(&b, &fields).await;
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
    let (status, page) = review(&b, &form("adatum", "attest", "2025-01-01")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("adatum.onmicrosoft.com is taken. Choose another domain prefix."));
}

#[tokio::test]
async fn a_near_miss_address_offers_the_suggestion() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let mut fields = form("addresstest", "attest", "2025-01-01");
    for (k, v) in fields.iter_mut() {
        match *k {
            "address_line1" => *v = "1 Main St",
            "city" => *v = "redmond",
            _ => {}
        }
    }
    let (status, page) = review(&b, &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Use the suggested address: 1 Main Street"), "the suggestion is offered");
    assert!(page.contains("Keep the address as I typed it"));
    // Choose the suggestion (checked already) and go on: the form whole, as a browser sends it.
    let all = {
        let mut f: Vec<(String, String)> =
            hidden_inputs(page.split("action=\"/customers/new/review\"").nth(1).unwrap());
        f.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        f.push(("address_choice".into(), "suggested".into()));
        f
    };
    let r = b.client.post(format!("{}/customers/new/review", b.address)).form(&all).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>Review</h1>"), "{html}");
    assert!(html.contains("1 Main Street") && html.contains("Redmond"), "the suggested address is used");
}

#[tokio::test]
async fn submitting_twice_creates_one_tenant() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = review(&b, &form("twiceco", "attest", "2025-01-01")).await;
    let (_, first) = post_page_form(&b, &page, "/customers/new/submit").await;
    let (_, second) = post_page_form(&b, &page, "/customers/new/submit").await;
    assert!(first.contains("was added"));
    assert!(second.contains("Already submitted") && second.contains("Nothing was sent again"));
    let password = between(&first, "<code id=\"temporary-password\">", "</code>");
    assert!(!second.contains(&password), "the password is shown only once");
    let creates =
        app.sandbox.requests().iter().filter(|r| r.method == "POST" && r.path_and_query == "/v1/customers").count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn a_timeout_while_creating_still_creates_one_tenant() {
    let app = spawn_app_with(Db::Sqlite, |s, _| {
        s.deliver_wait_seconds = 1;
        s.delivery_poll_ms = 100;
        s.http_timeout_seconds = 1;
        s.http_max_retries = 1;
    })
    .await
    .unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let (_, page) = review(&b, &form("slowtenant", "attest", "2025-01-01")).await;
    // Warm the template id, then every call is carried out but answered too late.
    assert_eq!(
        b.get(&format!("/customers/{}/agreement-document", app.customer_id("Adatum Corporation"))).await.status(),
        StatusCode::SEE_OTHER
    );
    app.sandbox.set_faults(Faults { timeout_percent: 100, timeout_seconds: 2, ..Faults::default() });
    let (status, done) = post_page_form(&b, &page, "/customers/new/submit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Saved — it will be sent to Partner Center automatically."), "{done}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.sandbox.set_faults(Faults::default());
    let mut counts = Vec::new();
    for _ in 0..200 {
        counts = app.store.submission_counts(seed::CONTOSO_TENANT).await.unwrap();
        if counts == vec![("delivered".to_string(), 1)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counts, vec![("delivered".to_string(), 1)]);
    let creates: Vec<_> = app
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path_and_query == "/v1/customers")
        .collect();
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
    let mut fields = form("forfabrikam", "attest", "2025-01-01");
    fields.push(("associated_partner_id", seed::FABRIKAM_TENANT));
    let (status, review_page) = review(&b, &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(review_page.contains("Fabrikam IT"));
    let (_, done) = post_page_form(&b, &review_page, "/customers/new/submit").await;
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
            let mut fields = form("byhand", "attest", "2025-01-01");
            fields.push(("csrf_token", &token));
            fields.push(("idempotency_key", "k"));
            assert_eq!(b.post_form(action, &fields).await.status(), StatusCode::FORBIDDEN, "{who} POST {action}");
        }
    }
    assert!(!app.sandbox.requests().iter().any(|r| r.method == "POST" && r.path_and_query.starts_with("/v1/")));
}
