//! Exports as CSV (Admin agents): the customer list with the list's filters, and the audit
//! log with the page's; read back with an independent CSV reader, quoting and the formula
//! guard included; streamed, 5,000 customers read back whole; every export audited.

use chrono::Utc;
use mca_portal::domain::{Attestation, Customer, StatusInputs};
use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

/// A CSV download's header line and records, after checking what every export carries:
/// the type, an attachment named `{name}-{today}.csv`, and the byte order mark.
async fn download(b: &Browser, path: &str, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let r = b.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let header = |h: &str| r.headers().get(h).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    let today = Utc::now().format("%Y-%m-%d");
    assert_eq!(header("content-disposition"), format!("attachment; filename=\"{name}-{today}.csv\""));
    assert_eq!(header("cache-control"), "no-store", "customer data is never cached");
    let body = r.text().await.expect("body");
    let text = body.strip_prefix('\u{feff}').expect("a UTF-8 byte order mark first, for Excel");
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let head = reader.headers().expect("a header line").iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.expect("a well-formed record").iter().map(String::from).collect()).collect();
    (head, rows)
}

const CUSTOMER_HEADER: [&str; 9] = [
    "Customer ID",
    "Company name",
    "Domain",
    "MCA status",
    "Customer acceptance through Microsoft",
    "Latest attestation date",
    "Attested by",
    "Readiness",
    "Status reason",
];

/// Alex Admin's browser, after the first read of Contoso's customers is complete.
async fn admin_with_customers(app: &TestApp) -> Browser {
    let b = app.signed_in(ALEX_ADMIN).await;
    let (status, _) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK);
    b
}

/// Stores a customer of Contoso's as a read of Partner Center would, not through it.
async fn store_customer(app: &TestApp, id: &str, name: &str, direct: bool, atts: &[Attestation]) {
    let customer = Customer {
        id: id.into(),
        company_name: name.into(),
        domain: format!("{id}.onmicrosoft.com"),
        relationship: Some("reseller".into()),
        commerce_id: None,
        billing: None,
        associated_partner_id: None,
    };
    let verdict = StatusInputs {
        accepted_directly: Some(direct),
        attestation_dates: atts.iter().map(|a| a.date_agreed).collect(),
        ..Default::default()
    }
    .verdict(&Default::default());
    app.store.customer_save(seed::CONTOSO_TENANT, &customer, Some(direct), atts, &verdict, Utc::now()).await.unwrap();
}

fn row_of<'a>(rows: &'a [Vec<String>], company: &str) -> &'a [String] {
    rows.iter().find(|r| r[1] == company).unwrap_or_else(|| panic!("a row for {company}"))
}

#[tokio::test]
async fn the_customer_csv_has_every_column_and_the_lists_filters() {
    let app = spawn_app().await;
    app.signed_in(SAM_SALES).await; // so that his attestations are shown by name
    let b = admin_with_customers(&app).await;
    let (head, rows) = download(&b, "/customers/export.csv", "customers").await;
    assert_eq!(head, CUSTOMER_HEADER);
    assert_eq!(rows.len(), 36, "every Contoso customer, no Fabrikam one");
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by company name");
    let northwind = row_of(&rows, "Northwind Traders");
    assert_eq!(northwind[0], app.customer_id("Northwind Traders"));
    assert_eq!(northwind[2], "northwindtraders.onmicrosoft.com");
    assert_eq!((northwind[3].as_str(), northwind[4].as_str()), ("Attested", "Not provided"));
    assert_eq!(northwind[5], seed_customer("Northwind Traders").agreements[0].date_agreed.to_string());
    assert_eq!(northwind[6], "Sam Sales", "the partner user who attested, by name");
    assert_eq!(northwind[7], "Can transact", "attested on or after the cutoff");
    assert!(!northwind[8].is_empty(), "the status's reason");
    assert_eq!(row_of(&rows, "A. Datum Labs")[7], "Blocked", "only an attestation before the cutoff");
    let alpine = row_of(&rows, "Alpine Ski House");
    assert_eq!(
        (alpine[3].as_str(), alpine[4].as_str(), alpine[5].as_str()),
        ("Accepted directly (Provided)", "Provided", "")
    );
    assert_eq!(row_of(&rows, "Litware, Inc.")[2], "litware.onmicrosoft.com", "a comma in a name is quoted");
    let (_, filtered) = download(&b, "/customers/export.csv?q=northwind&status=attested", "customers").await;
    let names: Vec<&str> = filtered.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["Northwind Traders"], "search and status as the list has them");
    let (_, reattest) = download(&b, "/customers/export.csv?status=reattestation_required", "customers").await;
    assert!(!reattest.is_empty() && reattest.iter().all(|r| r[3] == "Re-attestation required"));
    let r = b.get("/customers/export.csv?status=no-such-status").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "an unknown status is not read as every customer");
    let r = b.get("/customers/export.csv?acceptance=maybe").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "nor an unknown acceptance");
    assert!(r.text().await.unwrap().contains("customer acceptance through Microsoft in the address is not one"));
    let (_, sorted) =
        download(&b, "/customers/export.csv?acceptance=not_provided&sort=attested_newest", "customers").await;
    assert!(!sorted.is_empty() && sorted.iter().all(|r| r[4] == "Not provided"), "the acceptance filter");
    let dates: Vec<&str> = sorted.iter().map(|r| r[5].as_str()).collect();
    let attested = dates.iter().take_while(|d| !d.is_empty()).count();
    assert!(attested > 0 && dates[attested..].iter().all(|d| d.is_empty()), "never attested last: {dates:?}");
    assert!(dates[..attested].is_sorted_by(|a, b| a >= b), "the list's order, newest first: {dates:?}");
}

#[tokio::test]
async fn cells_that_could_be_formulas_are_made_inert_and_quotes_survive() {
    let app = spawn_app().await;
    let b = admin_with_customers(&app).await;
    let names =
        ["=HYPERLINK(\"http://evil.example\",\"Click\")", "+Plus Corp", "-Minus Ltd", "@At Home", "Quote \"Q\" Co"];
    for (i, name) in names.iter().enumerate() {
        store_customer(&app, &format!("f0000000-0000-4000-8000-00000000000{i}"), name, true, &[]).await;
    }
    let body = b.get("/customers/export.csv?q=hyperlink").await.text().await.unwrap();
    assert!(body.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Click\"\")\","), "{body}");
    let (_, rows) = download(&b, "/customers/export.csv", "customers").await;
    for name in names {
        let expected = if name.starts_with(['=', '+', '-', '@']) { format!("'{name}") } else { name.to_string() };
        assert!(rows.iter().any(|r| r[1] == expected), "{expected} in {rows:?}");
    }
}

#[tokio::test]
async fn an_export_of_5000_customers_is_streamed_and_reads_back_whole() {
    let app = spawn_app().await;
    let b = admin_with_customers(&app).await;
    for i in 0..5000 {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 1 + (i % 12) as u32, 1).unwrap();
        let atts = if i % 3 == 0 { vec![] } else { vec![store_attestation(date)] };
        store_customer(
            &app,
            &format!("e0000000-0000-4000-8000-{i:012}"),
            &format!("Export Customer {i:05}"),
            i % 3 == 0,
            &atts,
        )
        .await;
    }
    let r = b.get("/customers/export.csv").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.content_length().is_none(), "sent as it is read, without a length known in advance");
    assert_eq!(r.headers().get("transfer-encoding").and_then(|v| v.to_str().ok()), Some("chunked"));
    drop(r);
    let (_, rows) = download(&b, "/customers/export.csv", "customers").await;
    assert_eq!(rows.len(), 5036, "the 5,000 stored and the 36 read from Partner Center");
    let exported: Vec<&String> = rows.iter().filter(|r| r[1].starts_with("Export Customer")).map(|r| &r[0]).collect();
    let mut unique = exported.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5000, "each once");
    let (_, some) = download(&b, "/customers/export.csv?q=export%20customer%2004", "customers").await;
    assert_eq!(some.len(), 1000, "04000 to 04999: the search across chunks");
}

fn store_attestation(date: chrono::NaiveDate) -> Attestation {
    Attestation {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: "ada@example.com".into(),
        phone: None,
        date_agreed: date,
        user_id: None,
        template_id: Some("t".into()),
    }
}

#[tokio::test]
async fn only_admin_agents_export_and_each_export_is_audited() {
    let app = spawn_app().await;
    for who in [SAM_SALES, HANA_HELPDESK] {
        let b = app.signed_in(who).await;
        for path in ["/customers/export.csv", "/audit/export.csv", "/audit"] {
            assert_eq!(b.get(path).await.status(), StatusCode::FORBIDDEN, "{who} {path}");
        }
        let (_, customers) = b.get_html("/customers").await;
        assert!(!customers.contains("/customers/export.csv"), "{who} is not offered the export");
        assert!(!customers.contains("href=\"/audit\""), "{who} has no audit log link");
    }
    let b = admin_with_customers(&app).await;
    let (_, customers) =
        b.get_html("/customers?q=north&status=attested&acceptance=not_provided&sort=status&size=50").await;
    assert!(
        unescape(&customers).contains(
            "href=\"/customers/export.csv?q=north&status=attested&acceptance=not_provided&sort=status\" download>Export these customers (CSV)"
        ),
        "the link carries the list's search, filters and order, not its page"
    );
    assert!(customers.contains("<a href=\"/audit\">Audit log</a>"), "the admin's menu");
    download(&b, "/customers/export.csv?q=north&status=attested", "customers").await;
    download(&b, "/audit/export.csv?action=customers_exported", "audit-log").await;
    let log = app.store.audit_recent(seed::CONTOSO_TENANT, 5).await.unwrap();
    let exports: Vec<_> = log.iter().filter(|e| e.entry.action.ends_with("_exported")).collect();
    assert_eq!(exports.len(), 2);
    assert_eq!(exports[0].entry.action, "audit_exported");
    assert_eq!(
        exports[0].entry.detail.as_deref(),
        Some("CSV of audit entries with action Customer list exported (CSV)")
    );
    assert_eq!(exports[1].entry.action, "customers_exported");
    assert_eq!(exports[1].entry.actor_name.as_deref(), Some("Alex Admin"));
    assert_eq!(
        exports[1].entry.detail.as_deref(),
        Some("CSV of customers with search \u{201c}north\u{201d}, MCA status Attested")
    );
    let gloria = app.signed_in(GLORIA_GLOBAL).await;
    assert_eq!(
        gloria.get("/customers/export.csv").await.status(),
        StatusCode::OK,
        "a Global admin counts as Admin agent"
    );
}

#[tokio::test]
async fn the_audit_csv_has_the_pages_filters() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let northwind = app.customer_id("Northwind Traders");
    let r = sam.edit_agreement(&northwind, &tania("tania@example.com", &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let b = admin_with_customers(&app).await;
    let (head, rows) = download(&b, "/audit/export.csv?customer=northwind%20traders", "audit-log").await;
    assert_eq!(
        head,
        [
            "Time (UTC)",
            "User",
            "User ID",
            "Action",
            "Action key",
            "Customer ID",
            "Company name",
            "Detail",
            "Outcome",
            "Partner Center code",
            "Request ID",
            "Correlation ID"
        ]
    );
    let actions: Vec<&str> = rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(actions, ["attest_attempt", "attest_submitted"], "newest first, only Northwind's");
    for r in &rows {
        assert_eq!(
            (r[1].as_str(), r[5].as_str(), r[6].as_str()),
            ("Sam Sales", northwind.as_str(), "Northwind Traders")
        );
    }
    assert_eq!((rows[0][3].as_str(), rows[0][8].as_str()), ("Attestation sent to Partner Center", "Delivered"));
    assert!(!rows[0][10].is_empty(), "the MS-RequestId of the call");
    let (_, all) = download(&b, "/audit/export.csv", "audit-log").await;
    assert!(all.iter().any(|r| r[4] == "sign_in") && all[0][4] == "audit_exported", "the export lists itself first");
    let r = b.get("/audit/export.csv?from=yesterday").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a filter that can't be used exports nothing");
}
