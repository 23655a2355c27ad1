//! The audit log page (Admin agents): every action in words with its user, customer,
//! outcome and Partner Center request id; filtered by user, customer (id or words),
//! action and UTC days, with a mistyped day shown again with its message; page after
//! page with every entry once, equal times included.

use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

/// The entries a page of the log lists: (entry id, action key).
fn entries(html: &str) -> Vec<(String, String)> {
    html.split("<tr data-entry=\"")
        .skip(1)
        .map(|rest| {
            let id = rest.split('"').next().unwrap().to_string();
            let action = between(rest, "data-action=\"", "\"").unwrap().to_string();
            (id, action)
        })
        .collect()
}

/// The value of the option labelled `label` in the page's selects.
fn option_value(html: &str, label: &str) -> String {
    let at = html.find(&format!(">{label}</option>")).unwrap_or_else(|| panic!("an option {label}"));
    let before = &html[..at];
    let start = before.rfind("<option value=\"").unwrap() + "<option value=\"".len();
    before[start..].split('"').next().unwrap().to_string()
}

fn actions(html: &str) -> Vec<String> {
    entries(html).into_iter().map(|(_, a)| a).collect()
}

#[tokio::test]
async fn every_action_is_found_in_words_and_each_filter_narrows_the_log() {
    let app = spawn_app().await;
    let sam = app.signed_in(SAM_SALES).await;
    let northwind = app.customer_id("Northwind Traders");
    let r = sam.edit_agreement(&northwind, &tania("tania@example.com", &today_utc())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let alex = app.signed_in(ALEX_ADMIN).await;
    let (status, html) = alex.get_html("/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actions(&html), ["sign_in", "attest_attempt", "attest_submitted", "sign_in"], "newest first");
    let attempt = between(&html, "data-action=\"attest_attempt\">", "</tr>").unwrap();
    for shown in ["Attestation sent to Partner Center", "Sam Sales", "Northwind Traders", "Delivered", "UTC"] {
        assert!(attempt.contains(shown), "{shown} in {attempt}");
    }
    assert!(attempt.contains(&format!("href=\"/customers/{northwind}\"")), "the customer's page");
    let request_id = between(attempt, "data-label=\"Request id\" class=\"id\">", "<").unwrap();
    assert_eq!(request_id.len(), 36, "the MS-RequestId: {attempt}");

    let sam_oid = option_value(&html, "Sam Sales");
    let by = |q: String| {
        let alex = &alex;
        async move { actions(&alex.get_html(&format!("/audit?{q}")).await.1) }
    };
    assert_eq!(by(format!("user={sam_oid}")).await, ["attest_attempt", "attest_submitted", "sign_in"]);
    assert_eq!(by("action=attest_submitted".into()).await, ["attest_submitted"]);
    assert_eq!(by(format!("customer={northwind}")).await, ["attest_attempt", "attest_submitted"], "by id");
    let upper = northwind.to_ascii_uppercase();
    assert_eq!(by(format!("customer={upper}")).await, ["attest_attempt", "attest_submitted"], "by id in capitals");
    assert_eq!(by("customer=NORTHWIND".into()).await, ["attest_attempt", "attest_submitted"], "by words");
    assert!(by("customer=fabrikam%20residences".into()).await.is_empty(), "another customer");
    assert_eq!(by(format!("from={0}&to={0}", today_utc())).await.len(), 4, "today, in UTC, included");
    assert!(by(format!("to={}", yesterday_utc())).await.is_empty());
    let (_, filtered) = alex.get_html(&format!("/audit?user={sam_oid}&action=attest_attempt")).await;
    assert!(filtered.contains(&format!("<option value=\"{sam_oid}\" selected>Sam Sales</option>")), "the choice kept");
    let export = format!("href=\"/audit/export.csv?user={sam_oid}&action=attest_attempt\"");
    assert!(unescape(&filtered).contains(&export), "the export carries the filters");
    let (_, none) = alex.get_html("/audit?customer=no%20such%20company").await;
    assert!(none.contains("No customer&#39;s company name or domain holds these words"), "says why nothing is shown");
    let (_, one_word) = alex.get_html("/audit?customer=zzzzzz").await;
    assert!(one_word.contains("No customer&#39;s company name or domain holds these words"), "one word too");
}

fn yesterday_utc() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string()
}

#[tokio::test]
async fn a_mistyped_day_is_shown_again_with_its_message() {
    let app = spawn_app().await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    let (status, html) = alex.get_html("/audit?from=05%2F01%2F2026&to=2026-01-01&customer=North&action=nope").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("class=\"error-summary\""), "a summary");
    assert!(html.contains("<a href=\"#from\">Enter the day as year-month-day, for example 2026-01-05.</a>"));
    assert!(html.contains("<a href=\"#action\">Choose an action from the list.</a>"));
    assert!(html.contains("id=\"from-error\""), "the message beside the field");
    assert!(html.contains("value=\"05/01/2026\""), "the day as typed");
    assert!(html.contains("value=\"North\""), "the other filters as typed");
    assert!(entries(&html).is_empty(), "no entries for filters that can't be used");
    let (status, html) = alex.get_html("/audit?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("The last day is before the first day"));
}

#[tokio::test]
async fn pages_follow_each_other_with_every_entry_once_at_equal_times() {
    let app = spawn_app().await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    let db = app.database().await;
    // 120 entries at one instant, and 1 a second later: pages of 50 end inside the run.
    for i in 0..121 {
        let at = if i == 120 { "2026-01-05T10:00:01.000000Z" } else { "2026-01-05T10:00:00.000000Z" };
        sqlx::query("INSERT INTO audit_log (id, tenant_id, at, action, outcome) VALUES ($1, $2, $3, 'sign_in', 'ok')")
            .bind(format!("entry-{:03}", (i * 37) % 121))
            .bind(seed::CONTOSO_TENANT)
            .bind(at)
            .execute(&db)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut next = Some("/audit?to=2026-01-05".to_string());
    let mut pages = 0;
    while let Some(path) = next {
        let (status, html) = alex.get_html(&path).await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(entries(&html).into_iter().map(|(id, _)| id));
        next = between(&html, "<a href=\"", "\" rel=\"next\">Older entries")
            .map(|h| unescape(h.rsplit("href=\"").next().unwrap()));
        pages += 1;
        if pages > 1 {
            assert!(html.contains(">Newest entries</a>"), "a way back to the start");
        }
    }
    assert_eq!(pages, 3, "50, 50 and 21");
    let mut expected: Vec<String> = (0..121).map(|i| format!("entry-{i:03}")).collect();
    expected.sort();
    expected.reverse();
    let newest = format!("entry-{:03}", (120 * 37) % 121);
    expected.retain(|e| *e != newest);
    expected.insert(0, newest);
    assert_eq!(seen, expected, "the newest instant first, then equal times by id, each once");
}

#[tokio::test]
async fn the_audit_log_works_in_chromium_and_passes_axe() {
    let app = spawn_app().await;
    let Some(stdout) = crate::browser::run_walk(&app, "audit.mjs", "audit").await else { return };
    for page in ["audit log", "audit log filtered", "audit log with a mistyped day", "audit log at 390px"] {
        assert!(stdout.contains(&format!("axe {page}: 0 violations")), "{page} was checked with axe:\n{stdout}");
    }
}

#[tokio::test]
async fn refreshing_a_customer_or_the_whole_list_is_in_the_log() {
    let app = spawn_app().await;
    let alex = app.signed_in(ALEX_ADMIN).await;
    let northwind = app.customer_id("Northwind Traders");
    let one =
        alex.post_with_token_of(&format!("/customers/{northwind}"), &format!("/customers/{northwind}/refresh")).await;
    assert_eq!(one.status(), StatusCode::SEE_OTHER);
    let all = alex.post_with_token_of("/customers", "/customers/refresh").await;
    assert_eq!(all.status(), StatusCode::SEE_OTHER);
    let (_, html) = alex.get_html("/audit?action=customer_refreshed").await;
    assert_eq!(actions(&html), ["customer_refreshed"]);
    let entry = between(&html, "data-action=\"customer_refreshed\">", "</tr>").unwrap();
    for shown in ["Customer read again (Refresh)", "Alex Admin", "Northwind Traders", "Done"] {
        assert!(entry.contains(shown), "{shown} in {entry}");
    }
    let (_, html) = alex.get_html("/audit?action=refresh_started").await;
    assert_eq!(actions(&html), ["refresh_started"]);
    assert!(html.contains("Refresh list (every customer read again)"), "in words");
}
