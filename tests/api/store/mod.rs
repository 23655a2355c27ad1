//! The store's contract, table by table. Every test runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (CI sets it, and fails without it), so that a failure is named
//! `store::<table>::<what should hold>::<database>`.

use chrono::{NaiveDate, Utc};
use mca_portal::domain::{Attestation, Customer, StatusInputs};
use mca_portal::store::Store;

use crate::helpers::{Db, TestDb, fresh_db};

/// Makes each contract `async fn name(store: &Store)` of the calling file a module `name`
/// with one test per database, `name::sqlite` and `name::postgres`, each on a fresh store.
macro_rules! on_both_databases {
    ($($contract:ident),+ $(,)?) => {$(
        mod $contract {
            use crate::helpers::Db;
            use crate::store::fresh_store;

            #[tokio::test]
            async fn sqlite() {
                let (store, _db) = fresh_store(Db::Sqlite).await.expect("SQLite is always available");
                super::$contract(&store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((store, _db)) = fresh_store(Db::Postgres).await else { return };
                super::$contract(&store).await;
            }
        }
    )+};
}

mod api_keys;
mod audit;
mod customer_export;
mod customer_facts;
mod customer_list;
mod customers;
mod invitation_templates;
mod invitations;
mod new_customers_not_created;
mod refresh_runs;
mod reseller_lists;
mod schema;
mod seeding;
mod sessions;
mod submission_tokens;
mod submissions;
mod tenants;

/// A migrated store on a fresh database, and the database, kept as long as the store is
/// used; None for PostgreSQL when no server is configured (outside CI).
pub async fn fresh_store(db: Db) -> Option<(Store, TestDb)> {
    let d = fresh_db(db).await?;
    let s = Store::connect(&d.url).await.expect("connect and migrate");
    Some((s, d))
}

/// A customer as Partner Center lists it, without billing details.
pub fn customer(id: &str, name: &str, domain: &str) -> Customer {
    Customer {
        id: id.into(),
        company_name: name.into(),
        domain: domain.into(),
        relationship: Some("reseller".into()),
        commerce_id: None,
        billing: None,
        associated_partner_id: None,
    }
}

/// An attestation of `first` Carr, dated (year, month, day), with no partner user.
pub fn attestation(first: &str, date: (i32, u32, u32)) -> Attestation {
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

/// Saves what a read of Partner Center said of a customer, with the status it implies.
pub async fn save(s: &Store, tenant: &str, c: &Customer, direct: bool, atts: &[Attestation]) {
    let verdict = StatusInputs {
        accepted_directly: Some(direct),
        attestation_dates: atts.iter().map(|a| a.date_agreed).collect(),
        ..Default::default()
    }
    .verdict(&Default::default());
    s.customer_save(tenant, c, Some(direct), atts, &verdict, Utc::now()).await.unwrap();
}
