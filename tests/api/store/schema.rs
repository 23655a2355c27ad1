//! The schema: migrations applied once, and a database from a newer portal refused.

use mca_portal::store::Store;

use crate::helpers::Db;
use crate::store::fresh_store;

on_both_databases!(migrating_again_changes_nothing);

async fn migrating_again_changes_nothing(s: &Store) {
    s.migrate().await.expect("migrating a migrated database again");
    s.ping().await.expect("the database answers");
}

#[tokio::test]
async fn a_newer_database_is_refused_with_advice() {
    let (s, d) = fresh_store(Db::Sqlite).await.unwrap();
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')")
        .execute(&sqlx::AnyPool::connect(&d.url).await.unwrap())
        .await
        .unwrap();
    let e = s.migrate().await.unwrap_err().to_string();
    assert!(e.contains("newer mca-portal"), "{e}");
}
