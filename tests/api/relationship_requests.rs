//! Relationship request links: the client asks the sandbox for them with the id that was
//! picked, the sandbox refuses whoever may not ask, the link carries the known
//! parameters, and a customer who accepts it on the sandbox's page appears in the
//! partner's customer list after a refresh.

use std::time::Duration;

use mca_portal::config::DEFAULT_OIDC_CLIENT_ID as SANDBOX_CLIENT_ID;
use mca_portal::partner_center::{PartnerCenter, PcError, RelationshipFor, RetryPolicy};
use mca_portal::sandbox::CLIENT_SECRET as SANDBOX_CLIENT_SECRET;
use mca_portal::sandbox::seed::{CONTOSO_TENANT, FABRIKAM_TENANT};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::*;

const PATH: &str = "/v1/customers/relationshiprequests";
const OTHER_TENANT: &str = "0ddba11a-0000-4000-8000-000000000009";

fn client(app: &TestApp) -> PartnerCenter {
    let retry = RetryPolicy { max_retries: 0, ..RetryPolicy::default() };
    PartnerCenter::new(&app.sandbox_url, Duration::from_secs(10), retry).unwrap()
}

async fn access_token(app: &TestApp, who: &str) -> String {
    user_tokens(&app.sandbox_url, who).await["access_token"].as_str().unwrap().to_string()
}

async fn app_only_token(app: &TestApp) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/idp/{CONTOSO_TENANT}/oauth2/v2.0/token", app.sandbox_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("client_secret", SANDBOX_CLIENT_SECRET),
            ("scope", "https://api.partnercenter.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    let t: serde_json::Value = r.json().await.unwrap();
    t["access_token"].as_str().unwrap().to_string()
}

/// The relationship requests the sandbox received, with their query.
fn requests_sent(app: &TestApp) -> Vec<String> {
    app.sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.starts_with(PATH))
        .map(|r| r.path_and_query)
        .collect()
}

/// The link's query parameters, in order, and its fragment.
fn parameters(link: &str) -> (Vec<(String, String)>, String) {
    let url = url::Url::parse(link).unwrap();
    assert_eq!((url.scheme(), url.host_str(), url.path()), ("https", Some("admin.microsoft.com"), "/Adminportal/Home"));
    (url.query_pairs().into_owned().collect(), url.fragment().unwrap_or_default().to_string())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Partner Center's status and code of a refusal.
fn refusal(e: PcError) -> (u16, Option<String>) {
    match e {
        PcError::Api { status, code, .. } => (status, code),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test]
async fn the_call_carries_the_picked_id_and_the_link_has_the_known_parameters() {
    let app = spawn_app().await;
    let pc = client(&app);
    let sam = access_token(&app, SAM_SALES).await;
    let own = pc.relationship_request(&sam, &RelationshipFor::Own, Uuid::new_v4()).await.unwrap();
    let (query, fragment) = parameters(&own);
    let expected =
        [("invType", "ResellerRelationship"), ("partnerId", CONTOSO_TENANT), ("msppId", "0"), ("DAP", "false")];
    assert_eq!(query, pairs(&expected));
    assert_eq!(fragment, "/BillingAccounts/partner-invitation");

    let for_reseller = RelationshipFor::ForIndirectReseller(FABRIKAM_TENANT.into());
    let by_provider = pc.relationship_request(&sam, &for_reseller, Uuid::new_v4()).await.unwrap();
    let fiona = access_token(&app, FIONA_FABRIKAM).await;
    let with_provider = RelationshipFor::WithIndirectProvider(CONTOSO_TENANT.into());
    let by_reseller = pc.relationship_request(&fiona, &with_provider, Uuid::new_v4()).await.unwrap();
    let expected = [
        ("invType", "IndirectResellerRelationship"),
        ("partnerId", FABRIKAM_TENANT),
        ("msppId", "4200002"),
        ("indirectCSPId", CONTOSO_TENANT),
        ("DAP", "false"),
    ];
    assert_eq!(parameters(&by_provider).0, pairs(&expected), "the reseller's relationship, billed by the provider");
    assert_eq!(by_reseller, by_provider, "the same invitation, whichever of the two asks");

    assert_eq!(
        requests_sent(&app),
        [
            PATH.to_string(),
            format!("{PATH}?indirectResellerId={FABRIKAM_TENANT}"),
            format!("{PATH}?indirectCloudSolutionProviderId={CONTOSO_TENANT}"),
        ]
    );
    let providers = pc.indirect_providers(&fiona, Uuid::new_v4()).await.unwrap();
    assert_eq!(
        providers.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect::<Vec<_>>(),
        [(CONTOSO_TENANT, "Contoso Distribution")]
    );
    assert!(pc.indirect_providers(&sam, Uuid::new_v4()).await.unwrap().is_empty(), "a provider has none");
}

#[tokio::test]
async fn the_sandbox_refuses_ids_that_are_not_the_callers_and_callers_that_may_not_invite() {
    let app = spawn_app().await;
    let pc = client(&app);
    let sam = access_token(&app, SAM_SALES).await;
    let fiona = access_token(&app, FIONA_FABRIKAM).await;
    let ask = async |token: &str, r: RelationshipFor| {
        refusal(pc.relationship_request(token, &r, Uuid::new_v4()).await.unwrap_err())
    };
    use RelationshipFor::*;
    assert_eq!(ask(&sam, ForIndirectReseller(OTHER_TENANT.into())).await.0, 400, "a reseller that is not Contoso's");
    assert_eq!(ask(&sam, ForIndirectReseller(CONTOSO_TENANT.into())).await.0, 400, "itself is no reseller of its own");
    assert_eq!(
        ask(&fiona, WithIndirectProvider(OTHER_TENANT.into())).await.0,
        400,
        "a provider that is not Fabrikam's"
    );
    let not_allowed = (403, Some("600006".to_string()));
    assert_eq!(
        ask(&sam, WithIndirectProvider(FABRIKAM_TENANT.into())).await,
        not_allowed,
        "a provider id from a provider"
    );
    assert_eq!(
        ask(&fiona, ForIndirectReseller(FABRIKAM_TENANT.into())).await,
        not_allowed,
        "a reseller id from a reseller"
    );
    for who in [HANA_HELPDESK, NICO_NO_ROLE] {
        let token = access_token(&app, who).await;
        assert_eq!(ask(&token, Own).await, not_allowed, "{who} may not invite");
    }
    assert_eq!(ask(&app_only_token(&app).await, Own).await, not_allowed, "App-only is refused: App+User only");

    // Both ids at once: the client never sends that, so the test asks by hand.
    let both = format!(
        "{}{PATH}?indirectResellerId={FABRIKAM_TENANT}&indirectCloudSolutionProviderId={CONTOSO_TENANT}",
        app.sandbox_url
    );
    let r = reqwest::Client::new().get(both).bearer_auth(&sam).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["code"].is_number() && body["errorName"].is_string(), "Partner Center's error shape: {body}");

    for who in [ALEX_ADMIN, GLORIA_GLOBAL, "Felix Fabrikam"] {
        let token = access_token(&app, who).await;
        assert!(pc.relationship_request(&token, &Own, Uuid::new_v4()).await.is_ok(), "{who} may invite");
    }
}

/// Accepts the link on the sandbox's page as the customer's Global admin; the page's text.
async fn accept_on_sandbox_page(app: &TestApp, link: &str, company: &str, prefix: &str) -> String {
    let form = [("link", link), ("company", company), ("domain_prefix", prefix), ("admin_email", "admin@example.org")];
    let r = reqwest::Client::new()
        .post(format!("{}/admin-center/partner-invitation", app.sandbox_url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The customer list of `b` after Refresh list, searched for `company`.
async fn listed_after_refresh(b: &Browser, company: &str) -> Vec<ListedCustomer> {
    assert_eq!(b.post_with_token_of("/customers", "/customers/refresh").await.status(), StatusCode::SEE_OTHER);
    let (_, html) = b.get_html(&format!("/customers?q={}", company.replace(' ', "+"))).await;
    listed_customers(&html).into_iter().filter(|c| c.company == company).collect()
}

#[tokio::test]
async fn a_customer_who_accepts_the_link_appears_in_the_partners_list_after_a_refresh() {
    let app = spawn_app().await;
    let pc = client(&app);
    let sam = app.signed_in(SAM_SALES).await;
    assert!(listed_after_refresh(&sam, "Lamna Healthcare").await.is_empty());
    let token = access_token(&app, SAM_SALES).await;
    let link = pc.relationship_request(&token, &RelationshipFor::Own, Uuid::new_v4()).await.unwrap();

    // The page opened with the link's own parameters has the link filled in.
    let query = link.split_once('?').unwrap().1.split('#').next().unwrap();
    let page = reqwest::get(format!("{}/admin-center/partner-invitation?{query}", app.sandbox_url)).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!(">{}</textarea>", escaped(&link))), "{page}");
    assert!(page.contains("<label for=\"company\">") && page.contains("<label for=\"admin_email\">"));

    let done = accept_on_sandbox_page(&app, &link, "Lamna Healthcare", "lamnahealth").await;
    assert!(done.contains("Lamna Healthcare now has a reseller relationship with Contoso Distribution."), "{done}");
    let listed = listed_after_refresh(&sam, "Lamna Healthcare").await;
    assert_eq!(listed.len(), 1, "the new customer is in Contoso's list");
    assert_eq!(listed[0].status, "not_confirmed", "neither accepted directly nor attested");
    assert!(done.contains(&listed[0].id), "the confirmation names the customer's tenant id");
}

#[tokio::test]
async fn an_indirect_resellers_invitation_makes_a_customer_of_the_provider_seen_by_both() {
    let app = spawn_app().await;
    let token = access_token(&app, FIONA_FABRIKAM).await;
    let with_provider = RelationshipFor::WithIndirectProvider(CONTOSO_TENANT.into());
    let link = client(&app).relationship_request(&token, &with_provider, Uuid::new_v4()).await.unwrap();
    let id = app.sandbox.accept_relationship(&link, "Margie's Bakery", "margiesbakery").unwrap();
    let sam = app.signed_in(SAM_SALES).await;
    let fiona = app.signed_in(FIONA_FABRIKAM).await;
    for b in [&sam, &fiona] {
        let listed = listed_after_refresh(b, "Margie's Bakery").await;
        assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    }
    let taken = app.sandbox.accept_relationship(&link, "Margie's Bakery", "margiesbakery").unwrap_err();
    assert!(taken.contains("is taken"), "{taken}");
    let refused = app.sandbox.accept_relationship(&link.replace("DAP=false", "DAP=true"), "Other", "otherco");
    assert!(refused.is_err());
}

#[tokio::test]
async fn the_acceptance_page_keeps_what_was_typed_and_names_each_mistake() {
    let app = spawn_app().await;
    let form = [
        ("link", "https://admin.example.com/not-an-invitation"),
        ("company", ""),
        ("domain_prefix", "Bad Prefix!"),
        ("admin_email", "not-an-email"),
    ];
    let r = reqwest::Client::new()
        .post(format!("{}/admin-center/partner-invitation", app.sandbox_url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("<title>Error: ") && html.contains("Check these 4 fields"), "{html}");
    for (name, _) in form {
        assert!(html.contains(&format!("href=\"#{name}\"")), "the summary links to {name}");
        assert!(html.contains(&format!("id=\"{name}-error\"")), "{name} has its message");
    }
    assert!(html.contains(">https://admin.example.com/not-an-invitation</textarea>"));
    assert!(html.contains("value=\"Bad Prefix!\"") && html.contains("value=\"not-an-email\""));
    assert!(html.contains("aria-invalid=\"true\""));
}
