//! `mca-portal seed --customers N`: the portal's database filled with the customers the
//! built-in sandbox serves (its demo customers and `N` generated ones), as a read from
//! Partner Center would store them, so that a large portfolio can be shown or measured
//! at once. See docs/seed.md.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::domain::{Attestation, Customer, PartnerType, ReattestationPolicy, StatusInputs, StatusVerdict};
use crate::sandbox::seed::{self, SeedCustomer};
use crate::store::{CustomerWrite, Store, StoreResult};

/// The most generated customers the command writes.
pub const MAX_CUSTOMERS: usize = 1_000_000;

/// Customers written per write transaction.
pub const BATCH: usize = 1_000;

/// What the command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSummary {
    /// Customers written, the sandbox's demo customers included.
    pub written: usize,
    /// Of them, the generated ones (`--customers`).
    pub generated: usize,
    pub elapsed: Duration,
}

/// The sentence refusing a count above `MAX_CUSTOMERS`, or None when it is allowed.
pub fn refusal(n: usize) -> Option<String> {
    (n > MAX_CUSTOMERS)
        .then(|| format!("--customers {n} is more than the seed writes: choose at most {MAX_CUSTOMERS} customers."))
}

/// One customer as the sandbox serves it, in the portal's terms: what the customer list
/// and the agreements call say of it.
struct Portrait {
    tenant_id: &'static str,
    customer: Customer,
    accepted_directly: Option<bool>,
    attestations: Vec<Attestation>,
    verdict: StatusVerdict,
}

fn portrait(c: &SeedCustomer, policy: &ReattestationPolicy) -> Portrait {
    let customer = Customer {
        id: c.id.clone(),
        company_name: c.company_name.clone(),
        domain: c.domain.clone(),
        relationship: Some("reseller".to_string()),
        commerce_id: Some(format!("cm-{}", &c.id[..8])),
        billing: None,
        associated_partner_id: c.associated_partner_id.clone(),
    };
    let attestations: Vec<Attestation> = c
        .agreements
        .iter()
        .map(|a| Attestation {
            first_name: a.contact.first_name.clone(),
            last_name: a.contact.last_name.clone(),
            email: a.contact.email.clone(),
            phone: a.contact.phone.clone().filter(|p| !p.trim().is_empty()),
            date_agreed: a.date_agreed,
            user_id: a.user_id.clone(),
            template_id: Some(seed::MCA_TEMPLATE_ID.to_string()),
        })
        .collect();
    let verdict = StatusInputs {
        accepted_directly: Some(c.accepted_directly),
        attestation_dates: attestations.iter().map(|a| a.date_agreed).collect(),
        pending: false,
        waiting_for_customer: false,
        needs_sign_in: false,
        failed_reason: None,
    }
    .verdict(policy);
    Portrait { tenant_id: c.tenant_id, customer, accepted_directly: Some(c.accepted_directly), attestations, verdict }
}

/// Writes one tenant's customers, `BATCH` to a transaction.
async fn write_tenant(store: &Store, tenant_id: &str, all: &[Portrait]) -> StoreResult<usize> {
    let mine: Vec<&Portrait> = all.iter().filter(|p| p.tenant_id == tenant_id).collect();
    let at = Utc::now();
    for chunk in mine.chunks(BATCH) {
        let batch: Vec<CustomerWrite<'_>> = chunk
            .iter()
            .map(|p| CustomerWrite {
                customer: &p.customer,
                accepted_directly: p.accepted_directly,
                attestations: &p.attestations,
                verdict: &p.verdict,
            })
            .collect();
        store.customers_save_batch(tenant_id, &batch, at).await?;
    }
    Ok(mine.len())
}

/// The partner type the sandbox's relationships call gives each of its tenants.
fn partner_type(tenant_id: &str) -> PartnerType {
    if tenant_id == seed::CONTOSO_TENANT { PartnerType::IndirectProvider } else { PartnerType::IndirectReseller }
}

/// Fills the database with the sandbox's demo customers and `generated` more (those
/// `sandbox_extra_customers = generated` serves), with their statuses under `policy`,
/// and marks each sandbox tenant's customers as read. Running it again writes the
/// same rows over them.
pub async fn seed_portfolio(store: &Store, generated: usize, policy: &ReattestationPolicy) -> StoreResult<SeedSummary> {
    let started = Instant::now();
    let mut customers = seed::customers();
    customers.extend(seed::extra_customers(generated));
    let all: Vec<Portrait> = customers.iter().map(|c| portrait(c, policy)).collect();
    drop(customers);
    let mut written = 0;
    for t in &seed::TENANTS {
        written += write_tenant(store, t.id, &all).await?;
        store.tenant_mark_seeded(t.id, t.name, partner_type(t.id), Utc::now()).await?;
    }
    store.tidy_after_bulk_load().await?;
    Ok(SeedSummary { written, generated, elapsed: started.elapsed() })
}
