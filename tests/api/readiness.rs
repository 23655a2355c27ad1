//! Transact readiness (docs/readiness.md): on the account page and through the JSON API,
//! for the sandbox's seed customers of each kind; the list page by page with `after`; and
//! the OpenAPI description, which names every API route and lists what real answers hold.

use std::collections::BTreeSet;
use std::path::Path;

use mca_portal::domain::EffectiveStatus;
use reqwest::StatusCode;
use serde_json::Value;

use crate::api_keys::{api_get, contoso_admin, create_key, json_of};
use crate::helpers::*;

/// A seed customer's readiness as the API answers it.
async fn readiness_of(app: &TestApp, key: &str, company: &str) -> Value {
    let r = api_get(app, &format!("/api/v1/customers/{}/readiness", app.customer_id(company)), Some(key)).await;
    assert_eq!(r.status(), StatusCode::OK, "{company}");
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    json_of(r).await
}

fn codes(v: &Value) -> Vec<String> {
    v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect()
}

const BLOCKED: [&str; 4] =
    ["new purchases", "quantity increases or decreases", "term or billing plan changes", "upgrades"];

#[tokio::test]
async fn each_kind_of_seed_customer_gets_its_readiness_in_json_and_on_its_page() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let key = create_key(&admin, "Orders").await;
    // (company, readiness, reason codes, accepted directly, latest attestation date)
    let cases: [(&str, &str, &[&str], Value, Value); 6] = [
        ("Alpine Ski House", "can_transact", &["accepted_directly"], Value::Bool(true), Value::Null),
        ("Coho Winery", "can_transact", &["accepted_directly"], Value::Bool(true), Value::Null),
        ("Blue Yonder Airlines", "can_transact", &["attested"], Value::Bool(false), Value::from("2023-04-01")),
        (
            "A. Datum Labs",
            "blocked",
            &["reattestation_required", "reattestation_enforced"],
            Value::Bool(false),
            Value::Null,
        ),
        (
            "Datum Diagnostics",
            "blocked",
            &["reattestation_required", "reattestation_enforced"],
            Value::Bool(false),
            Value::from("2023-03-31"),
        ),
        ("Bellows College", "blocked", &["no_acceptance"], Value::Bool(false), Value::Null),
    ];
    for (company, readiness, reasons, direct, latest) in cases {
        let v = readiness_of(&app, &key, company).await;
        assert_eq!(v["company_name"], company);
        assert_eq!(v["readiness"], readiness, "{company}: {v}");
        assert_eq!(codes(&v), reasons, "{company}");
        assert_eq!(v["accepted_directly"], direct, "{company}");
        if !latest.is_null() {
            assert_eq!(v["latest_attestation_date"], latest, "{company}");
        }
        let blocked: Vec<_> = v["blocked_actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        if readiness == "blocked" {
            assert_eq!(blocked, BLOCKED, "{company}");
            assert_eq!(v["readiness_label"], "Blocked");
        } else {
            assert!(blocked.is_empty(), "{company}");
            assert_eq!(v["readiness_label"], "Can transact");
        }
        assert_eq!(v["as_of_date"], today_utc());
        // The account page says the same, and lists the blocked actions once.
        let page = admin.customer_page(&app.customer_id(company)).await;
        assert_eq!(attribute_values(&page, "data-readiness"), [readiness], "{company}");
        assert!(page.contains(&format!("Transact readiness: {}", v["readiness_label"].as_str().unwrap())));
        for code in codes(&v) {
            assert!(page.contains(&format!("data-reason=\"{code}\"")), "{company}: {code}");
        }
        for action in BLOCKED {
            assert_eq!(page.matches(action).count(), usize::from(readiness == "blocked"), "{company}: {action}");
        }
    }
    // A. Datum Labs's latest attestation is before the cutoff, named in the reason.
    let datum = readiness_of(&app, &key, "A. Datum Labs").await;
    let date = datum["latest_attestation_date"].as_str().unwrap().to_string();
    assert!(date.as_str() < "2023-04-01", "{date}");
    assert!(datum["reasons"][0]["text"].as_str().unwrap().contains(&date));
}

#[tokio::test]
async fn before_the_enforcement_day_an_old_attestation_can_transact_until_then() {
    let enforced = (chrono::Utc::now().date_naive() + chrono::Duration::days(30)).to_string();
    let day = enforced.clone();
    let app = spawn_app_with(Db::Sqlite, move |s, _| s.reattestation_enforced_from = day.parse().unwrap())
        .await
        .expect("SQLite");
    let admin = contoso_admin(&app).await;
    let key = create_key(&admin, "Orders").await;
    let v = readiness_of(&app, &key, "A. Datum Labs").await;
    assert_eq!(v["readiness"], "can_transact", "{v}");
    assert_eq!(v["blocked_from"], enforced.as_str());
    assert_eq!(codes(&v), ["reattestation_required", "reattestation_not_enforced_yet"]);
    assert!(v["reasons"][1]["text"].as_str().unwrap().contains(&format!("from {enforced}")));
    assert_eq!(v["status"], "reattestation_required", "the status stays what it is");
}

#[tokio::test]
async fn a_pending_attestation_leaves_the_customer_blocked_and_says_so() {
    let app = spawn_app_with(Db::Sqlite, |s, _| s.attestation_mode = mca_portal::config::AttestationMode::Enhanced)
        .await
        .expect("SQLite");
    let admin = contoso_admin(&app).await;
    let key = create_key(&admin, "Orders").await;
    let id = app.customer_id("Bellows College");
    let r = admin.edit_agreement(&id, &AgreementInput { phone: "", ..tania("tania@bellowscollege.example", "") }).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(customer_status(&admin.customer_page(&id).await), "pending");
    let v = readiness_of(&app, &key, "Bellows College").await;
    assert_eq!(v["status"], "pending");
    assert_eq!(v["readiness"], "blocked", "{v}");
    assert_eq!(codes(&v), ["no_acceptance", "attestation_pending"]);
    assert!(v["reasons"][1]["text"].as_str().unwrap().contains("stays blocked until Partner Center has recorded it"));
}

/// Every page of the list from the start with this query, following `next`.
async fn all_pages(app: &TestApp, key: &str, query: &str) -> (Vec<Value>, usize) {
    let mut customers = Vec::new();
    let mut pages = 0;
    let mut next = Some(format!("/api/v1/customers?{query}"));
    while let Some(path) = next {
        let r = api_get(app, &path, Some(key)).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let page = json_of(r).await;
        pages += 1;
        customers.extend(page["customers"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(String::from);
        assert_eq!(page["next_after"].is_null(), next.is_none());
        assert!(pages < 100, "the pages end");
    }
    (customers, pages)
}

#[tokio::test]
async fn the_list_comes_page_by_page_after_the_last_one_with_or_without_a_status() {
    let app = spawn_app().await;
    let key = create_key(&contoso_admin(&app).await, "Orders").await;
    let (all, pages) = all_pages(&app, &key, "limit=5").await;
    let ids: Vec<_> = contoso_customer_ids();
    assert_eq!(all.len(), ids.len(), "every customer once");
    assert_eq!(pages, ids.len().div_ceil(5));
    let listed: BTreeSet<_> = all.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, ids.into_iter().collect::<BTreeSet<_>>());
    let order: Vec<_> = all.iter().map(|c| (c["company_name"].as_str().unwrap(), c["id"].as_str().unwrap())).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "by company name, then id");
    // A status filter pages through exactly the customers of that status.
    let (required, _) = all_pages(&app, &key, "status=reattestation_required&limit=3").await;
    let expected: Vec<_> = all.iter().filter(|c| c["status"] == "reattestation_required").cloned().collect();
    assert!(expected.len() > 3, "more than a page");
    assert_eq!(required, expected);
    assert!(required.iter().all(|c| c["readiness"] == "blocked"));
    // The `after` of one page, given by hand, starts the next.
    let first = json_of(api_get(&app, "/api/v1/customers?limit=2", Some(&key)).await).await;
    let after = first["next_after"].as_str().unwrap();
    let second = json_of(api_get(&app, &format!("/api/v1/customers?limit=2&after={after}"), Some(&key)).await).await;
    assert_eq!(second["customers"][0], all[2]);
    // The default and the largest page.
    let default = json_of(api_get(&app, "/api/v1/customers", Some(&key)).await).await;
    assert_eq!(default["limit"], 100);
    assert!(default["next"].is_null(), "36 customers fit one page");
}

#[tokio::test]
async fn a_query_the_api_cant_use_gets_400_with_a_sentence() {
    let app = spawn_app().await;
    let key = create_key(&contoso_admin(&app).await, "Orders").await;
    for (query, says) in [
        ("limit=501", "from 1 to 500"),
        ("limit=ten", "from 1 to 500"),
        ("status=Attested", "status must be one of"),
        ("after=not-a-cursor", "next_after"),
    ] {
        let r = api_get(&app, &format!("/api/v1/customers?{query}"), Some(&key)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = json_of(r).await;
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{query}: {body}");
    }
    for path in ["/api/v1/customers/not..an..id/readiness", "/api/v1/nothing-here", "/api/v2/customers"] {
        let r = api_get(&app, path, Some(&key)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(json_of(r).await["error"]["code"], "not_found", "{path}");
    }
}

// ---- The OpenAPI description --------------------------------------------------------------

/// The API's routes as the source declares them (`#[get("/api/…")]`).
fn declared_api_routes() -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/api/mod.rs")).unwrap();
    let routes: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("#[get(\"").and_then(|r| r.split('"').next()).map(String::from))
        .collect();
    assert!(routes.len() >= 3, "{routes:?}");
    routes
}

/// The schema `name` of the document's components, with `$ref`s followed one level.
fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

/// Asserts that `answer` has every property the schema requires and none it does not list.
fn assert_matches(doc: &Value, schema_name: &str, answer: &Value) {
    let s = schema(doc, schema_name);
    let keys: BTreeSet<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
    let required: BTreeSet<&str> = s["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let listed: BTreeSet<&str> = s["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert!(required.is_subset(&keys), "{schema_name}: missing {:?}", required.difference(&keys).collect::<Vec<_>>());
    assert!(keys.is_subset(&listed), "{schema_name}: not described {:?}", keys.difference(&listed).collect::<Vec<_>>());
}

fn enum_of(doc: &Value, pointer: &str) -> BTreeSet<String> {
    doc.pointer(pointer).unwrap().as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_openapi_document_names_every_route_and_describes_the_real_answers() {
    let app = spawn_app().await;
    let r = app.new_browser().get("/api/v1/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc = json_of(r).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for route in declared_api_routes() {
        assert!(doc["paths"].get(&route).is_some(), "the document names {route}");
    }
    assert!(doc["components"]["securitySchemes"]["bearerKey"]["scheme"] == "bearer");
    let statuses: BTreeSet<String> = EffectiveStatus::ALL.iter().map(|s| s.key().to_string()).collect();
    assert_eq!(enum_of(&doc, "/components/schemas/Status/enum"), statuses);

    let key = create_key(&contoso_admin(&app).await, "Orders").await;
    let list = json_of(api_get(&app, "/api/v1/customers?limit=500", Some(&key)).await).await;
    assert_matches(&doc, "CustomerList", &list);
    let reason_codes = enum_of(&doc, "/components/schemas/Reason/properties/code/enum");
    let actions = enum_of(&doc, "/components/schemas/CustomerReadiness/properties/blocked_actions/items/enum");
    for c in list["customers"].as_array().unwrap() {
        assert_matches(&doc, "CustomerReadiness", c);
        for reason in c["reasons"].as_array().unwrap() {
            assert_matches(&doc, "Reason", reason);
            assert!(reason_codes.contains(reason["code"].as_str().unwrap()), "{reason}");
        }
        for a in c["blocked_actions"].as_array().unwrap() {
            assert!(actions.contains(a.as_str().unwrap()), "{a}");
        }
    }
    let one = readiness_of(&app, &key, "Northwind Traders").await;
    assert_matches(&doc, "CustomerReadiness", &one);
    let refused = json_of(api_get(&app, "/api/v1/customers", None).await).await;
    assert_matches(&doc, "Error", &refused);
    let error = &doc["components"]["schemas"]["Error"]["properties"]["error"];
    let detail_keys: BTreeSet<&str> = refused["error"].as_object().unwrap().keys().map(String::as_str).collect();
    let listed: BTreeSet<&str> = error["properties"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(detail_keys, listed);
}

#[tokio::test]
async fn the_api_only_reads_and_says_so_in_json_to_any_other_method() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let key = create_key(&admin, "Orders").await;
    let customer = app.customer_id("Bellows College");
    let client = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/customers".to_string()),
        (reqwest::Method::DELETE, format!("/api/v1/customers/{customer}/readiness")),
        (reqwest::Method::PUT, "/api/v1/nowhere".to_string()),
    ] {
        let r =
            client.request(method.clone(), format!("{}{path}", app.address)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));
        let body = json_of(r).await;
        assert_eq!(body["error"]["code"], "method_not_allowed", "{method} {path}");
    }
}

#[tokio::test]
async fn a_customer_id_in_capitals_finds_the_same_customer() {
    let app = spawn_app().await;
    let admin = contoso_admin(&app).await;
    let key = create_key(&admin, "Orders").await;
    let id = app.customer_id("Bellows College");
    let upper = api_get(&app, &format!("/api/v1/customers/{}/readiness", id.to_ascii_uppercase()), Some(&key)).await;
    assert_eq!(upper.status(), StatusCode::OK);
    assert_eq!(json_of(upper).await["id"], id.as_str(), "the id as the portal keeps it");
}
