//! The store's contract suite, run on SQLite always and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (CI sets it, and fails without it).

use chrono::{Duration, NaiveDate, Utc};
use mca_portal::domain::customer::BillingDetails;
use mca_portal::domain::{Attestation, Customer, EffectiveStatus, PartnerType, StatusInputs};
use mca_portal::store::{AuditEntry, CustomerFilter, Store};

use crate::helpers::{Db, fresh_db};

async fn store_on(db: Db) -> Option<(Store, crate::helpers::TestDb)> {
    let d = fresh_db(db).await?;
    let s = Store::connect(&d.url).await.expect("connect and migrate");
    Some((s, d))
}

fn customer(id: &str, name: &str, domain: &str) -> Customer {
    Customer {
        id: id.into(),
        company_name: name.into(),
        domain: domain.into(),
        relationship: Some("reseller".into()),
        commerce_id: None,
        billing: None,
    }
}

fn attestation(first: &str, date: (i32, u32, u32)) -> Attestation {
    Attestation {
        first_name: first.into(),
        last_name: "Carr".into(),
        email: format!("{}@example.com", first.to_lowercase()),
        phone: None,
        date_agreed: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
        user_id: None,
        template_id: Some("t".into()),
    }
}

async fn save(s: &Store, tenant: &str, c: &Customer, direct: bool, atts: &[Attestation]) {
    let verdict = StatusInputs {
        accepted_directly: Some(direct),
        attestation_dates: atts.iter().map(|a| a.date_agreed).collect(),
        ..Default::default()
    }
    .verdict(&Default::default());
    s.customer_save(tenant, c, Some(direct), atts, &verdict, Utc::now()).await.unwrap();
}

async fn contract(s: Store) {
    // Migrating again is a no-op.
    s.migrate().await.unwrap();
    s.ping().await.unwrap();

    // Tenants.
    assert!(s.tenant_get("t1").await.unwrap().is_none());
    s.tenant_upsert("t1", "Contoso", PartnerType::IndirectProvider).await.unwrap();
    s.tenant_upsert("t1", "Contoso Distribution", PartnerType::IndirectProvider).await.unwrap();
    let t = s.tenant_get("t1").await.unwrap().unwrap();
    assert_eq!(t.name, "Contoso Distribution");
    assert_eq!(t.partner_type, PartnerType::IndirectProvider);
    assert!(t.customers_synced_at.is_none());
    s.tenant_mark_synced("t1", Utc::now()).await.unwrap();
    assert!(s.tenant_get("t1").await.unwrap().unwrap().customers_synced_at.is_some());

    // Customers: save, read back, replace.
    let mut c1 = customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com");
    c1.billing = Some(BillingDetails {
        email: Some("ap@alpha.example".into()),
        city: Some("Zürich".into()),
        country: Some("CH".into()),
        ..Default::default()
    });
    save(&s, "t1", &c1, false, &[attestation("Ann", (2021, 1, 2)), attestation("Bob", (2024, 5, 6))]).await;
    save(&s, "t1", &customer("c2", "Beta 100% Ltd", "beta_x.onmicrosoft.com"), true, &[]).await;
    save(&s, "t1", &customer("c3", "Gamma", "gamma.onmicrosoft.com"), false, &[]).await;
    save(&s, "t2", &customer("c9", "Other tenant's Alpha", "alpha9.onmicrosoft.com"), false, &[]).await;
    let r = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert_eq!(r.customer.company_name, "Alpha & Sons");
    assert_eq!(r.customer.billing.as_ref().unwrap().city.as_deref(), Some("Zürich"));
    assert_eq!(r.accepted_directly, Some(false));
    assert_eq!(r.status, EffectiveStatus::Attested);
    assert_eq!(r.attestations.len(), 2);
    assert_eq!(r.attestations[0].first_name, "Bob", "newest first");
    // Saving without billing keeps the billing read before; attestations are replaced.
    let c1_again = customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com");
    save(&s, "t1", &c1_again, false, &[attestation("Ann", (2021, 1, 2))]).await;
    let r = s.customer_get("t1", "c1").await.unwrap().unwrap();
    assert!(r.customer.billing.is_some());
    assert_eq!(r.attestations.len(), 1);
    assert_eq!(r.status, EffectiveStatus::ReattestationRequired);

    // The tenant boundary.
    assert!(s.customer_get("t2", "c1").await.unwrap().is_none());
    assert!(s.customer_get("t1", "c9").await.unwrap().is_none());

    // Search, filter, paging.
    let all = s.customer_list("t1", &CustomerFilter::default(), 1, 2).await.unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(all.items.len(), 2);
    assert_eq!(all.pages(), 2);
    assert_eq!(all.items[0].company_name, "Alpha & Sons", "by company name");
    let p2 = s.customer_list("t1", &CustomerFilter::default(), 2, 2).await.unwrap();
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.items[0].company_name, "Gamma");
    let clamped = s.customer_list("t1", &CustomerFilter::default(), 50, 2).await.unwrap();
    assert_eq!(clamped.page, 2);
    let by_domain = s
        .customer_list("t1", &CustomerFilter { search: "ALPHA.onmicrosoft".into(), status: None }, 1, 10)
        .await
        .unwrap();
    assert_eq!(by_domain.total, 1, "the other tenant's alpha is not counted");
    let percent = s.customer_list("t1", &CustomerFilter { search: "100%".into(), status: None }, 1, 10).await.unwrap();
    assert_eq!(percent.total, 1);
    let wildcard = s.customer_list("t1", &CustomerFilter { search: "%".into(), status: None }, 1, 10).await.unwrap();
    assert_eq!(wildcard.total, 1, "% matches only a literal percent sign");
    let underscore =
        s.customer_list("t1", &CustomerFilter { search: "a_x".into(), status: None }, 1, 10).await.unwrap();
    assert_eq!(underscore.total, 1, "_ matches only a literal underscore (beta_x)");
    let direct = s
        .customer_list(
            "t1",
            &CustomerFilter { search: String::new(), status: Some(EffectiveStatus::AcceptedDirectly) },
            1,
            10,
        )
        .await
        .unwrap();
    assert_eq!(direct.total, 1);
    assert_eq!(direct.items[0].id, "c2");
    let counts = s.customer_status_counts("t1", "").await.unwrap();
    let searched = s.customer_status_counts("t1", "ALPHA").await.unwrap();
    assert_eq!(searched.iter().map(|c| c.count).sum::<i64>(), 1, "counts follow the search");
    let count = |st| counts.iter().find(|c| c.status == st).unwrap().count;
    assert_eq!(count(EffectiveStatus::AcceptedDirectly), 1);
    assert_eq!(count(EffectiveStatus::ReattestationRequired), 1);
    assert_eq!(count(EffectiveStatus::NotConfirmed), 1);
    assert_eq!(count(EffectiveStatus::Attested), 0);

    // Forgetting customers Partner Center no longer lists.
    let cutoff = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    save(&s, "t1", &customer("c1", "Alpha & Sons", "alpha.onmicrosoft.com"), false, &[]).await;
    assert_eq!(s.customers_forget_unseen("t1", cutoff).await.unwrap(), 2);
    assert!(s.customer_get("t1", "c2").await.unwrap().is_none());
    assert!(s.customer_get("t1", "c1").await.unwrap().is_some());
    assert!(s.customer_get("t2", "c9").await.unwrap().is_some(), "another tenant's rows are untouched");

    // Sessions.
    s.session_insert("key-1", "{\"a\":\"1\"}", 60).await.unwrap();
    assert_eq!(s.session_load("key-1").await.unwrap().as_deref(), Some("{\"a\":\"1\"}"));
    assert!(s.session_update("key-1", "{\"a\":\"2\"}", 60).await.unwrap());
    assert_eq!(s.session_load("key-1").await.unwrap().as_deref(), Some("{\"a\":\"2\"}"));
    s.session_touch("key-1", 120).await.unwrap();
    s.session_delete("key-1").await.unwrap();
    assert!(s.session_load("key-1").await.unwrap().is_none());
    assert!(!s.session_update("key-1", "{}", 60).await.unwrap(), "a deleted session is not revived");
    s.session_insert("key-old", "{}", -1).await.unwrap();
    assert!(s.session_load("key-old").await.unwrap().is_none(), "an expired session is not loaded");
    assert!(s.session_purge_expired().await.unwrap() >= 1);

    // The audit log: appended and read back newest first, per tenant.
    for action in ["first", "second"] {
        s.audit(&AuditEntry {
            tenant_id: "t1".into(),
            action: action.into(),
            outcome: "ok".into(),
            actor_name: Some("Sam".into()),
            ..Default::default()
        })
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    s.audit(&AuditEntry {
        tenant_id: "t2".into(),
        action: "elsewhere".into(),
        outcome: "ok".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let log = s.audit_recent("t1", 10).await.unwrap();
    assert_eq!(log.iter().map(|e| e.entry.action.as_str()).collect::<Vec<_>>(), ["second", "first"]);
    assert!(log[0].at > Utc::now() - Duration::minutes(1));
}

#[tokio::test]
async fn store_contract_on_sqlite() {
    let (s, _d) = store_on(Db::Sqlite).await.unwrap();
    contract(s).await;
}

#[tokio::test]
async fn store_contract_on_postgres() {
    let Some((s, _d)) = store_on(Db::Postgres).await else { return };
    contract(s).await;
}

#[tokio::test]
async fn a_newer_database_is_refused_with_advice() {
    let (s, d) = store_on(Db::Sqlite).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')")
        .execute(&sqlx::AnyPool::connect(&d.url).await.unwrap())
        .await
        .unwrap();
    let e = s.migrate().await.unwrap_err().to_string();
    assert!(e.contains("newer mca-portal"), "{e}");
}
