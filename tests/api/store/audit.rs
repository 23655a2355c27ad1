//! The audit log: appended, and read back newest first, per tenant; never changed or
//! removed, even by a statement sent straight to the database; read page after page with
//! every entry once (equal times included) and narrowed by user, customer, action and day.

use chrono::{Duration, NaiveDate, Utc};
use mca_portal::store::{AuditCursor, AuditEntry, AuditFilter, Store};

use super::{customer, save};
use crate::helpers::Db;
use crate::store::fresh_store;

on_both_databases!(entries_read_back_newest_first_for_their_tenant_only);

/// Like `on_both_databases!`, for contracts that also need a connection of their own to
/// the database (`async fn name(store: &Store, url: &str)`).
macro_rules! on_both_databases_with_url {
    ($($contract:ident),+ $(,)?) => {$(
        mod $contract {
            use super::{Db, fresh_store};

            #[tokio::test]
            async fn sqlite() {
                let (store, db) = fresh_store(Db::Sqlite).await.expect("SQLite is always available");
                super::$contract(&store, &db.url).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((store, db)) = fresh_store(Db::Postgres).await else { return };
                super::$contract(&store, &db.url).await;
            }
        }
    )+};
}

on_both_databases_with_url!(
    the_database_refuses_to_change_or_remove_an_entry,
    pages_follow_each_other_with_every_entry_once,
    filters_narrow_the_log,
);

async fn entries_read_back_newest_first_for_their_tenant_only(s: &Store) {
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

async fn connect(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.expect("a connection of the test's own")
}

async fn the_database_refuses_to_change_or_remove_an_entry(s: &Store, url: &str) {
    let entry =
        AuditEntry { tenant_id: "t1".into(), action: "sign_in".into(), outcome: "ok".into(), ..Default::default() };
    s.audit(&entry).await.unwrap();
    let db = connect(url).await;
    for statement in [
        "UPDATE audit_log SET outcome = 'changed'",
        "UPDATE audit_log SET at = '2000-01-01T00:00:00.000000Z' WHERE tenant_id = 't1'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE tenant_id = 't1'",
    ] {
        let refused = sqlx::query(statement).execute(&db).await.expect_err(statement).to_string();
        assert!(refused.contains("append-only"), "{statement}: {refused}");
    }
    if s.backend() == mca_portal::store::Backend::Postgres {
        let refused = sqlx::query("TRUNCATE audit_log").execute(&db).await.expect_err("TRUNCATE").to_string();
        assert!(refused.contains("append-only"), "TRUNCATE: {refused}");
    }
    let log = s.audit_recent("t1", 10).await.unwrap();
    assert_eq!(log.len(), 1, "the entry is still there");
    assert_eq!(log[0].entry.outcome, "ok", "unchanged");
    s.audit(&entry).await.expect("appending still works");
}

/// Writes an entry with a chosen time and id, as only a test can (the store stamps the
/// time itself).
async fn insert(db: &sqlx::AnyPool, id: &str, at: &str, actor: &str, action: &str, customer: Option<&str>) {
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, at, actor_oid, actor_name, action, customer_id, detail, outcome) \
         VALUES ($1, 't1', $2, $3, $4, $5, $6, 'detail', 'ok')",
    )
    .bind(id)
    .bind(at)
    .bind(actor)
    .bind(format!("Agent {actor}"))
    .bind(action)
    .bind(customer)
    .execute(db)
    .await
    .expect("insert");
}

async fn pages_follow_each_other_with_every_entry_once(s: &Store, url: &str) {
    let db = connect(url).await;
    // 130 entries at three instants: pages of 50 end inside runs of equal times.
    let times = ["2026-01-05T09:00:00.000000Z", "2026-01-05T10:00:00.000000Z", "2026-01-06T08:30:00.000000Z"];
    let mut expected = Vec::new();
    for i in 0..130 {
        let at = times.get(i % 4).copied().unwrap_or("2026-01-06T08:30:00.000000Z");
        let id = format!("{:08x}-e", (i * 7919) % 1000);
        insert(&db, &id, at, "u1", "sign_in", None).await;
        expected.push((at.to_string(), id));
    }
    expected.sort();
    expected.reverse();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s.audit_page("t1", &AuditFilter::default(), after.as_ref(), 50).await.unwrap();
        seen.extend(page.iter().map(|r| (mca_portal::store::timestamp(r.at), r.id.clone())));
        if page.len() < 50 {
            break;
        }
        after = page.last().map(AuditCursor::after);
    }
    assert_eq!(seen, expected, "newest first, each entry once, ties by id");
}

async fn filters_narrow_the_log(s: &Store, url: &str) {
    let db = connect(url).await;
    save(s, "t1", &customer("c-north", "Northwind Traders", "northwind.example"), true, &[]).await;
    save(s, "t1", &customer("c-south", "Southwind Health", "southwind.example"), false, &[]).await;
    insert(&db, "a1", "2026-01-04T23:59:59.999999Z", "u1", "sign_in", None).await;
    insert(&db, "a2", "2026-01-05T00:00:00.000000Z", "u1", "attest_submitted", Some("c-north")).await;
    insert(&db, "a3", "2026-01-05T12:00:00.000000Z", "u2", "attest_attempt", Some("c-north")).await;
    insert(&db, "a4", "2026-01-06T23:59:59.999999Z", "u2", "invitation_created", Some("c-south")).await;
    insert(&db, "a5", "2026-01-07T00:00:00.000000Z", "u1", "sign_out", Some("c-gone")).await;
    sqlx::query("INSERT INTO audit_log (id, tenant_id, at, action, outcome) VALUES ('z', 't2', '2026-01-05T01:00:00.000000Z', 'sign_in', 'ok')")
        .execute(&db)
        .await
        .unwrap();
    let ids = |f: AuditFilter| async move {
        s.audit_page("t1", &f, None, 50).await.unwrap().iter().map(|r| r.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(AuditFilter::default()).await, ["a5", "a4", "a3", "a2", "a1"], "the tenant's own, newest first");
    assert_eq!(ids(AuditFilter { actor_oid: Some("u2".into()), ..Default::default() }).await, ["a4", "a3"]);
    assert_eq!(ids(AuditFilter { action: Some("attest_attempt".into()), ..Default::default() }).await, ["a3"]);
    let north = AuditFilter { customer_ids: Some(vec!["c-north".into()]), ..Default::default() };
    assert_eq!(ids(north).await, ["a3", "a2"]);
    let either = AuditFilter { customer_ids: Some(vec!["c-south".into(), "c-gone".into()]), ..Default::default() };
    assert_eq!(ids(either).await, ["a5", "a4"]);
    assert!(ids(AuditFilter { customer_ids: Some(vec![]), ..Default::default() }).await.is_empty(), "no customer");
    let day = |d| NaiveDate::from_ymd_opt(2026, 1, d);
    let days = AuditFilter { from: day(5), to: day(6), ..Default::default() };
    assert_eq!(ids(days).await, ["a4", "a3", "a2"], "both days whole, in UTC");
    let both = AuditFilter { from: day(5), actor_oid: Some("u1".into()), ..Default::default() };
    assert_eq!(ids(both).await, ["a5", "a2"], "filters combine");
    let page = s.audit_page("t1", &AuditFilter::default(), None, 50).await.unwrap();
    let names: Vec<_> = page.iter().map(|r| r.customer_name.as_deref()).collect();
    assert_eq!(names, [None, Some("Southwind Health"), Some("Northwind Traders"), Some("Northwind Traders"), None]);
}

on_both_databases!(customers_are_found_by_words_and_named_by_id);

async fn customers_are_found_by_words_and_named_by_id(s: &Store) {
    for (id, name) in [("c1", "Northwind Traders"), ("c2", "Northwind Health"), ("c3", "Tailspin Toys")] {
        save(s, "t1", &customer(id, name, &format!("{id}.example")), true, &[]).await;
    }
    save(s, "t2", &customer("c9", "Northwind Elsewhere", "c9.example"), true, &[]).await;
    assert_eq!(s.customer_ids_matching("t1", "northwind", 10).await.unwrap(), ["c2", "c1"]);
    assert_eq!(s.customer_ids_matching("t1", " TRADERS  north ", 10).await.unwrap(), ["c1"], "every word");
    assert_eq!(s.customer_ids_matching("t1", "northwind", 1).await.unwrap(), ["c2"], "at most the limit");
    assert!(s.customer_ids_matching("t1", "100%", 10).await.unwrap().is_empty(), "% is a character");
    assert!(s.customer_ids_matching("t1", "  ", 10).await.unwrap().is_empty());
    let names = s.customer_names("t1", &["c1".into(), "c3".into(), "c9".into(), "nope".into()]).await.unwrap();
    assert_eq!(names.len(), 2, "only the tenant's own: {names:?}");
    assert_eq!(names["c3"], "Tailspin Toys");
}
