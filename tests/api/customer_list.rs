//! The customer list as an admin's worksheet: orders, page sizes, the acceptance filter,
//! the view kept in every link, the latest attestation and the indirect reseller.

use mca_portal::sandbox::seed;
use reqwest::StatusCode;

use crate::helpers::*;

/// The value of `data-attested-on` of each row, in order.
fn attested_on(html: &str) -> Vec<String> {
    html.split("<tr data-customer=\"")
        .skip(1)
        .map(|row| attribute_values(row.split("</tr>").next().unwrap_or_default(), "data-attested-on").remove(0))
        .collect()
}

/// The option of a select that is selected, by the select's id.
fn selected(html: &str, select: &str) -> String {
    let options = between(html, &format!("<select id=\"{select}\""), "</select>").expect("the select");
    let chosen = options.split("<option value=\"").find(|o| o.contains("\" selected>")).unwrap_or("\"");
    chosen.split('"').next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_orders_and_filters_stay_in_every_link_and_page_through_without_repeats() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let (_, first) = b.get_html("/customers?sort=status&acceptance=not_provided").await;
    assert_eq!((selected(&first, "sort"), selected(&first, "acceptance")), ("status".into(), "not_provided".into()));
    assert!(first.contains("Showing 25 of 30 customers."), "30 of 36 not provided");
    assert!(first.contains("<option value=\"\">All statuses (30)</option>"), "the counts follow the filter");
    assert!(first.contains(">Accepted directly (Provided) (0)</option>"));
    let next = pager_link(&first, "Next").expect("Next");
    for kept in ["sort=status", "acceptance=not_provided", "after="] {
        assert!(next.contains(kept), "{kept} in {next}");
    }
    let refresh = form_fields(&first, "/customers/refresh");
    assert!(refresh.iter().any(|(k, v)| k == "sort" && v == "status"), "Refresh list comes back to the view");
    let pages = every_page(&b, "/customers?sort=status&acceptance=not_provided").await;
    let rows: Vec<_> = pages.iter().flat_map(|p| listed_customers(p)).collect();
    assert_eq!(rows.len(), 30);
    let keys: Vec<_> = rows.iter().map(|r| (r.status.clone(), r.company.clone())).collect();
    assert!(keys.is_sorted(), "by status, then company name: {keys:?}");
    let both = pages.concat();
    assert!(!both.contains("data-acceptance=\"Provided\""), "only those not provided");
    let (_, back) = b.get_html(&pager_link(&pages[1], "Previous").expect("Previous")).await;
    assert_eq!(listed_customers(&back), listed_customers(&pages[0]));
    assert!(back.contains("aria-sort=\"ascending\">MCA status</th>"), "the sorted column says so");
}

#[tokio::test]
async fn the_latest_attestation_sorts_newest_or_oldest_first() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, newest) = b.get_html("/customers?sort=attested_newest&size=50").await;
    let dates = attested_on(&newest);
    assert_eq!(dates.len(), 36, "all on one page of 50");
    let contoso = seed::customers().into_iter().filter(|c| c.tenant_id == seed::CONTOSO_TENANT).collect::<Vec<_>>();
    let never = contoso.iter().filter(|c| c.agreements.is_empty()).count();
    let attested: Vec<_> = dates.iter().take_while(|d| !d.is_empty()).cloned().collect();
    assert_eq!(attested.len(), 36 - never);
    assert!(dates[attested.len()..].iter().all(|d| d.is_empty()), "never attested last");
    assert!(attested.is_sorted_by(|a, b| a >= b), "newest first: {attested:?}");
    assert!(newest.contains("aria-sort=\"descending\">Latest attestation</th>"));
    let (_, oldest) = b.get_html("/customers?sort=attested_oldest&size=50").await;
    let dates = attested_on(&oldest);
    let attested: Vec<_> = dates.iter().skip_while(|d| d.is_empty()).cloned().collect();
    assert!(attested.is_sorted(), "oldest first: {attested:?}");
    assert_eq!(dates.len() - attested.len(), never, "those never attested first");
}

#[tokio::test]
async fn a_page_holds_25_50_or_100_customers() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| sandbox.extra_customers = 100).await.unwrap();
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers").await;
    let sizes = between(&html, "<select id=\"size\"", "</select>").expect("a page size select");
    for n in [25, 50, 100] {
        assert!(sizes.contains(&format!(">{n} a page</option>")), "{n} offered");
    }
    for (size, shown) in [("25", 25), ("50", 50), ("100", 100), ("7", 25), ("x", 25)] {
        let (status, html) = b.get_html(&format!("/customers?size={size}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed_customers(&html).len(), shown, "size={size}");
        assert!(html.contains(&format!("Showing {shown} of 136 customers.")), "size={size}");
        if shown != 25 {
            assert!(pager_link(&html, "Next").unwrap().contains(&format!("size={size}")), "the size stays");
        }
    }
    // A bookmark of a deep position opens at it.
    let pages = every_page(&b, "/customers?size=50").await;
    assert_eq!(pages.len(), 3);
    let deep = pager_link(&pages[1], "Next").unwrap();
    let (_, again) = app.signed_in(HANA_HELPDESK).await.get_html(&deep).await;
    assert_eq!(listed_customers(&again), listed_customers(&pages[2]), "another person, the same rows");
}

#[tokio::test]
async fn the_latest_attestation_shows_who_made_it() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let (_, html) = b.get_html("/customers?q=northwind+traders").await;
    assert!(
        html.contains("<th scope=\"col\" aria-sort=\"none\">Latest attestation</th><th scope=\"col\">Attested by</th>")
    );
    let row = row_of(&html, "Northwind Traders");
    assert!(row.contains("<td data-label=\"Attested by\">Sam Sales</td>"), "by name, once signed in here: {row}");
    let (_, html) = b.get_html("/customers?q=alpine").await;
    let row = row_of(&html, "Alpine Ski House");
    assert!(row.contains("data-attested-on=\"\""), "accepted directly, never attested: {row}");
    let (_, html) = b.get_html("/customers?sort=attested_newest&size=100").await;
    assert!(html.contains("not recorded by Partner Center"), "an attestation without its partner user");
}

#[tokio::test]
async fn an_indirect_provider_sees_each_customers_reseller() {
    let app = spawn_app().await;
    let b = app.signed_in(SAM_SALES).await;
    let fields = CustomerFields::tailwind("forfabrikam", "attest", &today_utc())
        .set("associated_partner_id", seed::FABRIKAM_TENANT);
    let done = b.add_customer(&fields).await;
    assert!(done.contains("was added"), "{done}");
    // Read again from Partner Center, whose customer read names the reseller.
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html("/customers?q=tailwind").await;
    let row = row_of(&html, "Tailwind Traders & Co");
    assert!(row.contains("<td data-label=\"Indirect reseller\">Fabrikam IT</td>"), "{row}");
    let (_, html) = b.get_html("/customers?q=alpine").await;
    assert!(row_of(&html, "Alpine Ski House").contains("<span class=\"muted\">not known</span>"));
    // A reseller has no such column.
    let (_, html) = app.signed_in(FIONA_FABRIKAM).await.get_html("/customers").await;
    assert!(!html.contains("Indirect reseller</th>"));
}

#[tokio::test]
async fn a_search_that_finds_more_than_a_thousand_says_so_and_still_pages() {
    let app = spawn_app_with(Db::Sqlite, |_, sandbox| sandbox.extra_customers = 1_010).await.unwrap();
    let b = app.signed_in(HANA_HELPDESK).await;
    // The first read of 1,046 customers may go on after the first page is shown.
    app.wait_until("every customer is read", async || {
        let (_, html) = b.get_html("/customers").await;
        !html.contains("data-progress-url")
    })
    .await;
    let (_, html) = b.get_html("/customers?q=portfolio&sort=attested_oldest").await;
    assert!(html.contains("Showing 25 of more than 1,000 matching customers."), "the count stops at 1,000");
    assert!(html.contains("<option value=\"\">All statuses (more than 1,000 matching)</option>"));
    assert!(html.contains("<option value=\"attested\">Attested</option>"), "no count that would be wrong");
    let rows = listed_customers(&html);
    assert!(rows.iter().all(|r| r.company.starts_with("Portfolio Customer")), "only matches");
    let dates = attested_on(&html);
    assert!(dates.iter().all(|d| d.is_empty()) || dates.is_sorted(), "in the order asked for: {dates:?}");
    let next = pager_link(&html, "Next").expect("Next");
    let (_, page2) = b.get_html(&next).await;
    let second = listed_customers(&page2);
    assert_eq!(second.len(), 25);
    assert!(second.iter().all(|r| !rows.contains(r)), "the next rows, none again");
    let (_, few) = b.get_html("/customers?q=customer+00100").await;
    assert!(few.contains("Showing 1 of 1 customer."), "a narrow search counts exactly");
}

#[tokio::test]
async fn customers_not_read_yet_have_a_filter_of_their_own() {
    let app = spawn_app().await;
    let b = app.signed_in(ALEX_ADMIN).await;
    let (_, none) = b.get_html("/customers?acceptance=not_read").await;
    assert_eq!(selected(&none, "acceptance"), "not_read");
    assert!(listed_customers(&none).is_empty(), "every customer was read");
    assert!(
        none.contains("No customer has customer acceptance through Microsoft “Not read yet”."),
        "the empty list says why, in the filter's words"
    );
    sqlx::query("UPDATE customers SET accepted_directly = NULL WHERE tenant_id = $1 AND company_name = $2")
        .bind(seed::CONTOSO_TENANT)
        .bind("Northwind Traders")
        .execute(&app.database().await)
        .await
        .expect("forget one customer's acceptance");
    let (_, one) = b.get_html("/customers?acceptance=not_read").await;
    let rows = listed_customers(&one);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].company, "Northwind Traders");
    assert!(one.contains("data-acceptance=\"Not read yet\""), "and its column says so");
}
