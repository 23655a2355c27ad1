//! The customer list (search, filter, paging), the account page in every status, Refresh,
//! the agreement document, and the tenant boundary.

use mca_portal::sandbox::seed::{self, SeedKind};
use reqwest::StatusCode;

use crate::helpers::*;

/// The status key a seed customer of this kind shows.
fn expected_status(kind: SeedKind) -> &'static str {
    match kind {
        SeedKind::AcceptedDirectly | SeedKind::AcceptedDirectlyAfterOldAttestation => "accepted_directly",
        SeedKind::AttestedRecently | SeedKind::AttestedOnCutoffDay | SeedKind::SeveralContactsLatestRecent => {
            "attested"
        }
        SeedKind::AttestedOnlyBeforeCutoff | SeedKind::SeveralContactsAllOld => "reattestation_required",
        SeedKind::NeverConfirmed => "not_confirmed",
    }
}

#[tokio::test]
async fn a_sales_agent_sees_every_customer_with_its_status_in_pages() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (status, page1) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page1.contains("Showing 25 of 36 customers."), "page 1 of 36");
    assert_eq!(listed_customers(&page1).len(), 25);
    assert!(pager_link(&page1, "Previous").is_none() && pager_link(&page1, "First page").is_none());
    let next = pager_link(&page1, "Next").expect("a Next link");
    assert!(next.starts_with("/customers?after=") && !next.contains("page="), "a position, not an offset: {next}");
    let (_, page2) = b.get_html(&next).await;
    assert!(page2.contains("Showing 11 of 36 customers."));
    assert_eq!(listed_customers(&page2).len(), 11);
    assert!(pager_link(&page2, "Next").is_none() && pager_link(&page2, "Last page").is_none());
    // Every Contoso customer appears once, with the status its seed implies, in words.
    let both = format!("{page1}{page2}");
    let mut ids: Vec<_> = listed_customers(&both).into_iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 36, "no customer twice, none left out");
    for c in seed::customers().iter().filter(|c| c.tenant_id == seed::CONTOSO_TENANT) {
        let expect = expected_status(seed::kind_of(&c.company_name).unwrap());
        assert_eq!(status_of_row(&both, &c.company_name), expect, "{}: {expect}", c.company_name);
    }
    // Previous comes back to the same 25; First page and Last page too.
    let (_, back) = b.get_html(&pager_link(&page2, "Previous").expect("Previous")).await;
    assert_eq!(listed_customers(&back), listed_customers(&page1));
    assert_eq!(pager_link(&page2, "First page").as_deref(), Some("/customers"));
    let (_, last) = b.get_html(&pager_link(&page1, "Last page").expect("Last page")).await;
    let last = listed_customers(&last);
    assert_eq!(last.len(), 25, "the last page is the last 25");
    assert_eq!(last[14..], listed_customers(&page2)[..], "ending with the rows Next reached");
    // A position past the end shows the last page rather than nothing; nonsense the first.
    let (_, past) = b.get_html("/customers?after=zzzz%7Cffffffff-0000-4000-8000-000000000000").await;
    assert_eq!(listed_customers(&past), last);
    let (_, junk) = b.get_html("/customers?after=abc&page=2").await;
    assert!(junk.contains("Showing 25 of 36 customers."));
    assert_eq!(listed_customers(&junk), listed_customers(&page1));
}

#[tokio::test]
async fn search_by_name_or_domain_any_case() {
    let app = spawn_app().await;
    let b = app.signed_in(HANA_HELPDESK).await;
    let (_, html) = b.get_html("/customers?q=WIND").await;
    assert!(html.contains("Northwind Traders") && html.contains("Northwind Health"));
    assert!(html.contains("of 2 customers"), "two Northwinds");
    assert!(html.contains("value=\"WIND\""), "the search stays in the box");
    let (_, html) = b.get_html("/customers?q=tailspintoys.onmicrosoft").await;
    assert!(html.contains("Tailspin Toys"));
    assert!(html.contains("of 1 customer."));
    let (_, html) = b.get_html("/customers?q=%25%25%25").await;
    assert!(html.contains("No customer matches this search"), "% is a character, not a wildcard");
    let (_, html) = b.get_html("/customers?q=Liberty%E2%80%99s").await;
    assert!(html.contains("of 1 customer."), "a typographic apostrophe finds the plain one");
    let (_, html) = b.get_html("/customers?q=north").await;
    assert!(html.contains("All statuses (2 matching)"), "the counts follow the search");
    let (_, html) = b.get_html("/customers?q=%3Ctest").await;
    assert!(html.contains(&escaped("World Wide Importers <Test & Co>")), "markup in names is shown as text");
    // One or two characters: company names that begin with them, and the page says so.
    let (_, html) = b.get_html("/customers?q=No").await;
    let names: Vec<_> = listed_customers(&html).into_iter().map(|c| c.company).collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.starts_with("No")), "{names:?}");
    assert!(html.contains("Company names that begin with “No”."));
    let (_, html) = b.get_html("/customers?q=%25").await;
    assert!(html.contains("No company name begins with “%”."), "and says how to search anywhere");
}

#[tokio::test]
async fn filter_by_status_with_counts() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    for (key, label, count) in [
        ("accepted_directly", "Accepted directly (Provided)", 6),
        ("attested", "Attested", 13),
        ("reattestation_required", "Re-attestation required", 10),
        ("not_confirmed", "Not confirmed", 7),
        ("pending", "Pending", 0),
        ("failed", "Failed", 0),
    ] {
        let (_, html) = b.get_html(&format!("/customers?status={key}")).await;
        assert!(html.contains(&format!(">{label} ({count})</option>")), "{label} count {count}");
        assert!(html.contains(&format!("value=\"{key}\" selected")), "{key} stays selected");
        if count == 0 {
            assert!(html.contains("No customer has this status"));
        } else {
            assert!(html.contains(&format!("of {count} customers")), "{key}");
            for row in listed_customers(&html) {
                assert_eq!(row.status, key, "{key}: every row has the status");
            }
        }
    }
    // Search and filter together; the pager keeps both.
    let (_, html) = b.get_html("/customers?q=o&status=attested").await;
    assert!(html.contains("value=\"o\""));
}

/// A seed customer's account page as it must read: company, status key, "Customer
/// acceptance through Microsoft", a piece of the reason, and how many attestation rows.
struct AccountCase(&'static str, &'static str, &'static str, &'static str, usize);

const ACCOUNT_CASES: [AccountCase; 8] = [
    AccountCase(
        "Alpine Ski House",
        "accepted_directly",
        "Provided",
        "accepted the Microsoft Customer Agreement in the Microsoft 365 admin center",
        0,
    ),
    AccountCase("Coho Winery", "accepted_directly", "Provided", "Microsoft 365 admin center", 1),
    AccountCase("Adatum Corporation", "attested", "Not provided", "on or after 2023-04-01", 1),
    AccountCase("Blue Yonder Airlines", "attested", "Not provided", "dated 2023-04-01, on or after 2023-04-01", 1),
    AccountCase("A. Datum Labs", "reattestation_required", "Not provided", "before 2023-04-01", 1),
    AccountCase("Best For You Organics", "attested", "Not provided", "on or after 2023-04-01", 3),
    AccountCase(
        "Datum Diagnostics",
        "reattestation_required",
        "Not provided",
        "dated 2023-03-31, before 2023-04-01",
        2,
    ),
    AccountCase("Bellows College", "not_confirmed", "Not provided", "No acceptance is on record", 0),
];

async fn assert_account_page(app: &TestApp, b: &Browser, c: &AccountCase) {
    let AccountCase(company, status_key, direct, reason, attestations) = *c;
    let (status, html) = b.get_html(&format!("/customers/{}", app.customer_id(company))).await;
    assert_eq!(status, StatusCode::OK, "{company}");
    assert!(html.contains(&format!("<h1>{company}</h1>")), "{company}");
    assert_eq!(customer_status(&html), status_key, "{company}: {status_key}");
    assert!(html.contains(&format!("<strong>{direct}</strong>")), "{company}: {direct}");
    assert!(html.contains("Customer acceptance through Microsoft"));
    assert!(html.contains(reason), "{company}: reason {reason}");
    assert_eq!(html.matches("<th scope=\"row\"").count(), attestations, "{company}: attestation rows");
    if status_key == "reattestation_required" {
        for a in ["new purchases", "quantity increases or decreases", "term or billing plan changes", "upgrades"] {
            assert!(html.contains(a), "{company}: blocked action {a}");
        }
    }
    assert!(html.contains("Billing email"), "{company}: company details from Partner Center");
}

#[tokio::test]
async fn the_account_page_shows_each_status_with_its_reason() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    for c in &ACCOUNT_CASES {
        assert_account_page(&app, &b, c).await;
    }
    // Several attestations with different contacts: each contact and its date is listed.
    let id = app.customer_id("Best For You Organics");
    let html = b.customer_page(&id).await;
    let sc = seed_customer("Best For You Organics");
    for a in &sc.agreements {
        assert!(html.contains(&a.contact.email), "{}", a.contact.email);
        assert!(html.contains(&a.date_agreed.to_string()));
    }
    let attested_by = attestation_row(&html, &sc.agreements[2].contact.email);
    assert!(attested_by.contains("Sam Sales"), "the partner user who attested, by name once they signed in here");
    assert!(html.contains("not recorded by Partner Center"), "older records without a user say so");
}

#[tokio::test]
async fn refresh_rereads_partner_center() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let id = app.customer_id("Bellows College");
    let html = b.customer_page(&id).await;
    assert_eq!(customer_status(&html), "not_confirmed");
    // The customer accepts in the Microsoft 365 admin center meanwhile.
    assert!(app.sandbox.set_accepted_directly(&id, true));
    let html = b.customer_page(&id).await;
    assert_eq!(customer_status(&html), "not_confirmed", "the page shows what was read, until Refresh");
    let r = b.post_form(&format!("/customers/{id}/refresh"), &[("csrf_token", &csrf_of(&html))]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/customers/{id}"));
    let html = b.customer_page(&id).await;
    assert_eq!(customer_status(&html), "accepted_directly");
    assert!(html.contains("<strong>Provided</strong>"));
    assert!(html.contains("Read again from Partner Center"), "the flash message says it was refreshed");
    // The list follows after a list refresh.
    let other = app.customer_id("Wingtip Toys");
    app.sandbox.set_accepted_directly(&other, true);
    let r = b.post_with_token_of("/customers", "/customers/refresh").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html("/customers").await;
    assert!(html.contains("Read again from Partner Center at ") && html.contains(": 36 customers."));
    assert!(html.contains(">Accepted directly (Provided) (8)</option>"));
    assert!(html.contains(">Not confirmed (5)</option>"));
}

#[tokio::test]
async fn the_agreement_document_is_fetched_on_click() {
    let app = spawn_app().await;
    let b = app.signed_in(HANA_HELPDESK).await;
    let id = app.customer_id("Fourth Coffee");
    let (status, html) = b.get_html(&format!("/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{}", text_of(&html));
    assert!(html.contains(&format!("/customers/{id}/agreement-document")), "{}", text_of(&html));
    let before = app.sandbox.requests().iter().filter(|r| r.path_and_query.contains("/document")).count();
    assert_eq!(before, 0, "no document link is fetched before the click");
    let r = b.get(&format!("/customers/{id}/agreement-document")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let link = location(&r);
    assert!(link.starts_with(&app.sandbox_url), "{link}");
    let doc = b.client.get(&link).send().await.unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    assert!(doc.text().await.unwrap().contains("sandbox copy"));
    let reqs = app.sandbox.requests();
    assert!(
        reqs.iter().any(|r| r.path_and_query == "/v1/agreements?agreementType=MicrosoftCustomerAgreement"),
        "the template id is read from metadata"
    );
    let doc_req = reqs.iter().find(|r| r.path_and_query.contains("/document")).unwrap();
    assert!(
        doc_req.path_and_query.starts_with("/v1/agreementtemplates/117a77b0-9360-443b-8795-c6dedc750cf9/document?")
    );
    // The customer's own language and country, from its billing profile.
    let sc = seed_customer("Fourth Coffee");
    assert!(
        doc_req.path_and_query.contains(&format!("language={}&country={}", sc.culture, sc.country)),
        "{}",
        doc_req.path_and_query
    );
}

#[tokio::test]
async fn every_upstream_call_carries_request_and_correlation_ids_and_the_mca_type() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    assert_eq!(b.get("/customers").await.status(), StatusCode::OK);
    let reqs = app.sandbox.requests();
    let api: Vec<_> = reqs.iter().filter(|r| r.path_and_query.starts_with("/v1/")).collect();
    assert!(
        api.iter().any(|r| r.path_and_query.starts_with("/v1/partners/customeragreementrecords")),
        "the agreement-records listing"
    );
    assert!(api.len() > 36, "the list, the listing, and the direct acceptance of each customer new to the portal");
    for r in &api {
        assert!(r.bearer, "{}", r.path_and_query);
        assert!(
            r.request_id.as_deref().and_then(|v| uuid::Uuid::parse_str(v).ok()).is_some(),
            "MS-RequestId on {}",
            r.path_and_query
        );
        assert!(
            r.correlation_id.as_deref().and_then(|v| uuid::Uuid::parse_str(v).ok()).is_some(),
            "MS-CorrelationId on {}",
            r.path_and_query
        );
        assert_eq!(r.contract_version.as_deref(), Some("v1"));
        if r.path_and_query.contains("/agreements") {
            assert!(r.path_and_query.contains("agreementType=MicrosoftCustomerAgreement"), "{}", r.path_and_query);
        }
    }
    let ids: std::collections::HashSet<_> = api.iter().filter_map(|r| r.request_id.clone()).collect();
    assert_eq!(ids.len(), api.len(), "a new MS-RequestId for every call");
}

#[tokio::test]
async fn a_reseller_sees_only_its_own_customers() {
    let app = spawn_app().await;
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    let (_, html) = fiona.get_html("/customers").await;
    assert!(html.contains("of 5 customers"));
    for c in seed::customers() {
        let escaped = escaped(&c.company_name);
        assert_eq!(html.contains(&escaped), c.tenant_id == seed::FABRIKAM_TENANT, "{}", c.company_name);
    }
    // Typing a Contoso customer's address: not found, read or refreshed.
    let contoso = app.customer_id("Northwind Traders");
    assert_eq!(fiona.get(&format!("/customers/{contoso}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(fiona.get(&format!("/customers/{contoso}/agreement-document")).await.status(), StatusCode::NOT_FOUND);
    let r = fiona.post_with_token_of("/customers", &format!("/customers/{contoso}/refresh")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // And the other way round, with the Contoso customers already read into the same database.
    let sam = app.signed_in(SAM_SALES).await;
    assert_eq!(sam.get("/customers").await.status(), StatusCode::OK);
    let fabrikam = app.customer_id("Harbor View Clinic");
    assert_eq!(sam.get(&format!("/customers/{fabrikam}")).await.status(), StatusCode::NOT_FOUND);
    let (_, html) = fiona.get_html("/customers").await;
    assert!(html.contains("of 5 customers"), "Contoso's rows stay Contoso's");
    assert!(!html.contains("Northwind"));
}

#[tokio::test]
async fn the_whole_flow_runs_on_postgres() {
    let Some(app) = spawn_app_with(Db::Postgres, |_, _| {}).await else { return };
    let b = app.signed_in(SAM_SALES).await;
    let (status, html) = b.get_html("/customers?q=north").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("of 2 customers"));
    let (_, html) = b.get_html("/customers?status=reattestation_required").await;
    assert!(html.contains("of 10 customers"));
    let id = app.customer_id("Datum Diagnostics");
    let (status, html) = b.get_html(&format!("/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(customer_status(&html), "reattestation_required");
    let r = b.post_with_token_of(&format!("/customers/{id}"), "/logout").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get("/customers").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn refresh_list_comes_back_to_the_same_view() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers?q=o&status=attested").await;
    let mut form = form_fields(&html, "/customers/refresh");
    assert!(form.iter().any(|(k, v)| k == "q" && v == "o"));
    form.retain(|(k, _)| k != "page");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post_form("/customers/refresh", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/customers?q=o&status=attested");
}

#[tokio::test]
async fn an_unknown_status_in_the_address_is_said_and_ignored() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (status, html) = b.get_html("/customers?status=bogus").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("not one the portal knows"));
    assert!(html.contains("of 36 customers"));
    let (_, html) = b.get_html("/customers?acceptance=maybe").await;
    assert!(html.contains("The customer acceptance “maybe” in the address is not one the portal knows"));
    assert!(html.contains("of 36 customers"), "every acceptance is shown");
    let (_, html) = b.get_html("/customers?status=ATTESTED").await;
    assert!(html.contains("of 13 customers"), "status keys are read in any case");
    let (status, html) = b.get_html("/customers?status=attested&status=failed").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a repeated parameter gets the error page");
    assert!(html.contains("Request id") && html.contains("Sam Sales"), "with the request id and the signed-in frame");
}

#[tokio::test]
async fn a_customer_partner_center_did_not_give_is_listed_as_not_read_yet() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.http_max_retries = 0).await.unwrap();
    let id = app.customer_id("Graphic Design Institute");
    app.sandbox.set_unreadable(&id, true);
    let b = app.signed_in(SAM_SALES).await;
    let (status, html) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 customer could not be read from Partner Center"), "the list says so");
    assert!(html.contains("All statuses (36)"), "nobody is left out");
    let (_, html) = b.get_html("/customers?status=not_read").await;
    assert_eq!(status_of_row(&html, "Graphic Design Institute"), "not_read");
    // Partner Center answers again; Refresh list reads it.
    app.sandbox.set_unreadable(&id, false);
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html("/customers?q=graphic").await;
    assert_eq!(status_of_row(&html, "Graphic Design Institute"), "reattestation_required");
    assert!(!html.contains("could not be read"));
}

#[tokio::test]
async fn a_long_first_read_shows_its_progress_and_fills_the_list() {
    let app = spawn_app_with(Db::Sqlite, |s, sandbox| {
        s.refresh.refresh_wait_seconds = 0;
        sandbox.extra_customers = 200;
    })
    .await
    .unwrap();
    let b = app.signed_in(SAM_SALES).await;
    // Every Partner Center call now takes 30 ms: reading 236 customers takes a while.
    app.sandbox.set_faults(mca_portal::sandbox::Faults { latency_ms: 30, ..Default::default() });
    let (status, html) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK, "the page does not wait for the whole read");
    assert!(html.contains("Reading your customers from Partner Center"), "it shows the progress");
    assert!(html.contains("<progress id=\"refresh-progress\""));
    let p: serde_json::Value = b.get("/customers/refresh/progress").await.json().await.unwrap();
    assert_eq!(p["running"], true);
    // A second Refresh while one runs does not start another.
    let r = b.post_with_token_of("/customers", "/customers/refresh").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let progress = async || -> serde_json::Value { b.get("/customers/refresh/progress").await.json().await.unwrap() };
    app.wait_until("the read is done", async || progress().await["running"] == false).await;
    let last = progress().await;
    assert_eq!(last["running"], false);
    assert_eq!(last["total"], 236);
    assert_eq!(last["done"], 236);
    let (_, html) = b.get_html("/customers").await;
    assert!(html.contains("of 236 customers"));
    assert!(!html.contains("<progress"), "no progress bar once done");
    let lists = app.sandbox.requests().iter().filter(|r| r.path_and_query.starts_with("/v1/customers?size=")).count();
    assert_eq!(lists, 3, "one read of the list (three pages of 100), not two");
}

/// Pretends the last complete read of Contoso's list was long ago.
async fn last_complete_read_long_ago(app: &TestApp) {
    sqlx::query("UPDATE partner_tenants SET customers_synced_at = $1 WHERE tenant_id = $2")
        .bind("2025-01-02T03:04:05.000000Z")
        .bind(seed::CONTOSO_TENANT)
        .execute(&app.database().await)
        .await
        .expect("set the time of the last read");
}

#[tokio::test]
async fn the_read_time_is_the_last_complete_read_and_customers_added_since_are_marked() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.http_max_retries = 0).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers").await;
    assert!(html.contains("Read from Partner Center "), "the first read was complete");
    last_complete_read_long_ago(&app).await;
    let fields = CustomerFields::tailwind("addedhere", "admin_center", "").without("accepted");
    let done = b.add_customer(&fields).await;
    let id = between(&done, "href=\"/customers/", "\"").expect("a link to the new customer").to_string();
    // A refresh that could not read one customer is not a complete read.
    let unreadable = app.customer_id("Graphic Design Institute");
    app.sandbox.set_unreadable(&unreadable, true);
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html("/customers?q=tailwind").await;
    assert!(html.contains("could not be read"), "the refresh was partial");
    assert!(html.contains("Read from Partner Center 2025-01-02 03:04 UTC"), "the time of the last complete read");
    let row = row_of(&html, "Tailwind Traders & Co");
    assert!(row.starts_with(&id), "{row}");
    assert!(row.contains("data-added-here") && row.contains("Added here "), "marked as added here: {row}");
    let (_, all) = b.get_html("/customers").await;
    assert!(!row_of(&all, "Northwind Traders").contains("Added here"), "only customers added here");
    // A complete read takes the new customer in like any other.
    app.sandbox.set_unreadable(&unreadable, false);
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html("/customers?q=tailwind").await;
    assert!(!html.contains("2025-01-02 03:04"), "a complete read moves the time");
    assert!(html.contains("Read from Partner Center "));
    assert!(!row_of(&html, "Tailwind Traders & Co").contains("Added here"), "no longer marked once read");
}

#[tokio::test]
async fn the_list_shows_customer_acceptance_through_microsoft_per_customer() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.http_max_retries = 0).await.unwrap();
    app.sandbox.set_unreadable(&app.customer_id("Graphic Design Institute"), true);
    let b = app.signed_in(HANA_HELPDESK).await;
    let pages = every_page(&b, "/customers").await;
    let (page1, both) = (&pages[0], pages.concat());
    assert!(page1.contains("<th scope=\"col\">Customer acceptance through Microsoft</th>"), "a column");
    for (company, acceptance) in [
        ("Alpine Ski House", "Provided"),
        ("Coho Winery", "Provided"),
        ("Adatum Corporation", "Not provided"),
        ("Bellows College", "Not provided"),
        ("Graphic Design Institute", "Not read yet"),
    ] {
        let row = row_of(&both, company);
        assert!(row.contains(&format!("data-acceptance=\"{acceptance}\">{acceptance}</td>")), "{company}: {row}");
    }
    let alpine = row_of(&both, "Alpine Ski House");
    assert!(alpine.contains("Accepted directly (Provided)"), "Partner Center's word beside ours: {alpine}");
    assert!(page1.contains(">Accepted directly (Provided) (6)</option>"), "in the filter too");
}

#[tokio::test]
async fn every_status_is_explained_once_on_the_list_and_blocked_actions_once_on_the_account() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers?status=attested").await;
    assert_eq!(html.matches("id=\"status-legend\"").count(), 1, "one legend");
    assert!(html.contains("href=\"#status-legend\""), "the filter points to it");
    let legend = between(&html, "id=\"status-legend\"", "</section>").expect("the legend");
    for label in
        ["Accepted directly (Provided)", "Attested", "Re-attestation required", "Pending", "Failed", "Not confirmed"]
    {
        assert_eq!(legend.matches(&format!("> {label}</span>")).count(), 1, "{label} explained once");
    }
    assert_eq!(legend.matches("> Not read yet</span>").count(), 1, "Not read yet explained");
    for what_to_do in ["Refresh list", "Send now", "Correct and send again", "<strong>Edit</strong>", "Added here"] {
        assert!(legend.contains(what_to_do), "the legend says what to do: {what_to_do}");
    }
    let account = b.customer_page(&app.customer_id("A. Datum Labs")).await;
    assert_eq!(customer_status(&account), "reattestation_required");
    for blocked in ["new purchases", "quantity increases or decreases", "term or billing plan changes", "upgrades"] {
        assert_eq!(account.matches(blocked).count(), 1, "{blocked} is listed once");
    }
}

#[tokio::test]
async fn every_cell_of_the_wide_tables_carries_its_label_for_a_phone() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let account = b.customer_page(&app.customer_id("Best For You Organics")).await;
    let table = between(&account, "<table class=\"attestations stacking\">", "</table>").expect("the attestations");
    let body = between(table, "<tbody>", "</tbody>").expect("rows");
    assert_eq!(body.matches("<tr>").count(), 3);
    assert_eq!(body.matches("<td").count(), 12);
    assert_eq!(body.matches("<td data-label=\"").count(), 12, "every value with its label");
    assert_eq!(body.matches("<th scope=\"row\" data-label=\"Person who accepted\">").count(), 3);
    let (_, list) = b.get_html("/customers").await;
    let row = row_of(&list, "Alpine Ski House");
    assert_eq!(row.matches("<td").count(), row.matches("<td data-label=\"").count(), "{row}");
    let css = b.get("/static/app.css").await.text().await.unwrap();
    assert!(css.contains("table.stacking [data-label]::before { content: attr(data-label);"), "labels shown");
}

#[tokio::test]
async fn an_empty_status_without_a_search_says_so_in_its_own_words() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers?status=pending").await;
    assert!(html.contains("No customer has this status. Choose All statuses to see the others."), "{html}");
    let (_, html) = b.get_html("/customers?status=pending&q=contoso").await;
    assert!(html.contains("No customer matches this search with this status."));
}
