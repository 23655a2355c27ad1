//! The review dashboard: its counts are the list's, each links to the list filtered so,
//! the chart is text as well as bars, and the status changes since the last refresh.
//! Also the list's and the export's readiness column (the export's is in `exports`).

use mca_portal::domain::EffectiveStatus;
use mca_portal::sandbox::seed::CONTOSO_TENANT;
use mca_portal::store::RunState;
use reqwest::StatusCode;

use crate::helpers::*;

/// The dashboard's count link in the table row marked `marker`, as (address, count).
fn count_in(html: &str, marker: &str) -> (String, i64) {
    let row = between(html, marker, "</tr>").unwrap_or_else(|| panic!("a row {marker}"));
    let href = attribute_values(row, "href").into_iter().next().unwrap_or_default();
    let count = between(row, "\">", "</a>").map(|n| n.rsplit('>').next().unwrap_or_default()).unwrap_or_default();
    (unescape(&href), count.trim().replace(',', "").parse().unwrap_or_else(|_| panic!("a number in {row}")))
}

/// The count the list's filter offers for "All statuses (n)".
fn all_statuses(html: &str) -> i64 {
    let label = between(html, "<option value=\"\">All statuses (", ")").expect("a count");
    label.replace(',', "").parse().unwrap()
}

async fn wait_for_the_run(app: &TestApp) {
    app.wait_until("the refresh is finished", async || {
        let last = app.store.refresh_run_latest(CONTOSO_TENANT).await.unwrap();
        last.is_some_and(|r| r.state != RunState::Running)
    })
    .await;
}

#[tokio::test]
async fn the_dashboards_counts_are_the_lists_and_link_to_it() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    wait_for_the_run(&app).await;
    let (status, html) = b.get_html("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    let mut sum = 0;
    for s in EffectiveStatus::ALL {
        let (href, count) = count_in(&html, &format!("<tr data-status=\"{}\">", s.key()));
        assert_eq!(href, format!("/customers?status={}", s.key()));
        let (_, list) = b.get_html(&href).await;
        assert_eq!(listed_customers(&list).len() as i64, count.min(25), "{}: the list shows them", s.key());
        let option = format!("<option value=\"{}\" selected>{} ({count})</option>", s.key(), escaped(s.label()));
        assert!(list.contains(&option), "{}: the list counts {count}", s.key());
        sum += count;
    }
    assert_eq!(sum, 36, "every Contoso customer once");
    for (label, key) in [("Provided", "provided"), ("Not provided", "not_provided"), ("Not read yet", "not_read")] {
        let (href, count) = count_in(&html, &format!("<tr data-acceptance=\"{label}\">"));
        assert_eq!(href, format!("/customers?acceptance={key}"));
        let (_, list) = b.get_html(&href).await;
        assert_eq!(all_statuses(&list), count, "{label}");
    }
    assert!(html.contains("It read them all."), "the last complete refresh could read every customer");
    assert!(html.contains("No customer's status has changed since the last refresh began."));
}

#[tokio::test]
async fn the_chart_is_labelled_with_words_and_numbers_and_has_a_table() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    let (status, html) = b.get_html("/dashboard").await;
    assert_eq!(status, StatusCode::OK, "a Sales agent may view it");
    assert!(
        html.contains("<a href=\"/dashboard\" aria-current=\"page\">Dashboard</a>"),
        "in the navigation, marked as the page shown"
    );
    let svg = between(&html, "<svg", "</svg>").expect("a chart");
    assert!(svg.contains("role=\"img\"") && svg.contains("aria-labelledby=\"chart-title chart-desc\""));
    assert!(svg.contains("<title id=\"chart-title\">"));
    for s in EffectiveStatus::ALL {
        assert!(svg.contains(&format!(">{}</text>", escaped(s.label()))), "{} written on the chart", s.label());
    }
    assert!(html.contains("<caption>Customers in each MCA status</caption>"), "the same numbers as a table");
    assert!(!html.contains("<form method=\"post\" action=\"/dashboard"), "no actions");
}

#[tokio::test]
async fn a_helpdesk_agent_is_refused_the_dashboard() {
    let app = spawn_app().await;
    let b = app.signed_in(HANA_HELPDESK).await;
    let (status, html) = b.get_html("/dashboard").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("<svg class=\"chart\""));
    let (_, customers) = b.get_html("/customers").await;
    assert!(!customers.contains("href=\"/dashboard\""), "no link to a page they can't open");
}

#[tokio::test]
async fn status_changes_since_the_last_refresh_are_listed_before_and_after() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    assert_eq!(b.get_html("/customers").await.0, StatusCode::OK);
    wait_for_the_run(&app).await;
    let bellows = app.customer_id("Bellows College");
    assert!(app.sandbox.set_accepted_directly(&bellows, true));
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    wait_for_the_run(&app).await;
    let (_, html) = b.get_html("/dashboard").await;
    let item = between(&html, &format!("<li data-customer=\"{bellows}\">"), "</li>").expect("Bellows College listed");
    assert!(text_of(item).contains("Bellows College: Not confirmed → Accepted directly (Provided)"), "{item}");
    assert!(!html.contains("more customers changed status"), "one change, all shown");
}

#[tokio::test]
async fn the_list_says_whether_each_customer_can_transact() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers?size=50").await;
    assert!(html.contains("<th scope=\"col\">Readiness</th>"));
    let readiness = |company: &str| attribute_values(&row_of(&html, company), "data-readiness").remove(0);
    assert_eq!(readiness("A. Datum Labs"), "Blocked", "re-attestation required");
    assert_eq!(readiness("Blue Yonder Airlines"), "Can transact", "attested on or after the cutoff");
    assert_eq!(readiness("Alpine Ski House"), "Can transact", "accepted directly");
    assert!(row_of(&html, "Bellows College").contains("data-label=\"Readiness\""), "the phone layout names it");
}
