//! `mca-portal seed --customers N`: the database filled with the sandbox's customers, as
//! a read from Partner Center stores them, so that a portal started on it with the same
//! `sandbox_extra_customers` shows them at once, without reading them again.

use std::collections::BTreeMap;

use reqwest::StatusCode;

use crate::helpers::*;

const DATABASE: &str = "sqlite://seeded.db";

async fn seed(dir: &std::path::Path, n: &str) -> (bool, String, String) {
    let out = portal_command(dir).args(["seed", "--customers", n]).env("MCA_DATABASE_URL", DATABASE).output().await;
    let out = out.expect("run the seed command");
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Every row of the list, company to status key, page after page.
async fn statuses(b: &Browser) -> BTreeMap<String, String> {
    let pages = every_page(b, "/customers?size=100").await;
    pages.iter().flat_map(|p| listed_customers(p)).map(|c| (c.company, c.status)).collect()
}

/// What the seed wrote that a second run could change: each customer's row, its
/// attestations, and the counts the list shows.
async fn database_rows(dir: &std::path::Path) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", dir.join("seeded.db").display());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT customer_id || '|' || company_name || '|' || search_text || '|' || status || '|' || \
         COALESCE(accepted_directly, -1) || '|' || latest_attestation_on || '|' || COALESCE(latest_attestation_by, '') || '|' || \
         (SELECT COUNT(*) FROM partner_attestations p WHERE p.tenant_id = c.tenant_id AND p.customer_id = c.customer_id) \
         FROM customers c ORDER BY tenant_id, customer_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refresh_runs").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(runs, 0, "no read from Partner Center was started");
    rows
}

#[tokio::test]
async fn a_seeded_database_lists_the_sandboxs_customers_with_their_statuses_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = seed(dir.path(), "2000").await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("Wrote 2041 customers (2000 generated"), "{stdout}");
    assert!(stdout.contains(" s."), "it says how long it took: {stdout}");
    assert!(stdout.contains("MCA_SANDBOX_EXTRA_CUSTOMERS=2000"), "it says how to serve the same: {stdout}");
    let first = database_rows(dir.path()).await;
    assert_eq!(first.len(), 2041);

    // Twice gives the same database.
    let (ok, stdout, stderr) = seed(dir.path(), "2000").await;
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(database_rows(dir.path()).await, first, "a second run changes nothing");

    let mut portal = serve_on_free_ports(dir.path())
        .env("MCA_DATABASE_URL", DATABASE)
        .env("MCA_SANDBOX_EXTRA_CUSTOMERS", "2000")
        .spawn()
        .expect("start the portal");
    let address = line_starting(&mut portal, "Open ").await.trim_end_matches(" in your browser.").to_string();
    let b = Browser::new(&address);
    assert_eq!(location(&b.sign_in_as(SAM_SALES).await), "/customers");
    let (status, html) = b.get_html("/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Showing 25 of 2,036 customers."), "Contoso's 36 and 2,000 generated");
    assert!(!html.contains("Reading your customers from Partner Center"));
    let seeded = statuses(&b).await;
    assert_eq!(seeded.len(), 2036);

    // The same customers as a read from the sandbox stores them: the demo customers and
    // the first generated ones (the generated list is the same at any length).
    let reference = spawn_app_with(Db::Sqlite, |_, sandbox| sandbox.extra_customers = 100).await.unwrap();
    let read = statuses(&reference.signed_in(SAM_SALES).await).await;
    assert_eq!(read.len(), 136);
    for (company, status) in &read {
        assert_eq!(seeded.get(company), Some(status), "{company}: the seeded status is the one a read gives");
    }
    let kinds: std::collections::BTreeSet<&String> = seeded.values().collect();
    assert!(kinds.len() >= 4, "a mix of statuses: {kinds:?}");
    portal.kill().await.unwrap();
    database_rows(dir.path()).await;
}

#[tokio::test]
async fn more_customers_than_the_maximum_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = seed(dir.path(), "1000001").await;
    assert!(!ok);
    assert!(stderr.contains("choose at most 1000000 customers"), "{stderr}");
    assert!(!stdout.contains("Wrote"), "{stdout}");
    assert!(!dir.path().join("seeded.db").exists(), "nothing was written");
}
