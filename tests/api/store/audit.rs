//! The audit log: appended, and read back newest first, per tenant.

use chrono::{Duration, Utc};
use mca_portal::store::{AuditEntry, Store};

on_both_databases!(entries_read_back_newest_first_for_their_tenant_only);

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
