//! Status refresh: re-reads customers and their MCA facts from Partner Center, derives
//! each effective status and stores the result.

use chrono::Utc;
use futures_util::{StreamExt, stream};
use uuid::Uuid;

use crate::domain::{Customer, ReattestationPolicy, StatusInputs, StatusVerdict};
use crate::partner_center::{PartnerCenter, PcError};
use crate::store::{Store, StoreError};

/// How many customers are read at once during a full refresh. Partner Center's published
/// limit is 500 requests a minute per tenant; the client backs off on 429 in any case.
const CONCURRENCY: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Upstream(#[from] PcError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Default)]
pub struct RefreshOutcome {
    pub customers: usize,
    /// Customers that could not be read, with the reason; the rest were stored.
    pub failed: Vec<(String, String)>,
}

/// Who asks, and with which delegated token.
pub struct Caller<'a> {
    pub tenant_id: &'a str,
    pub token: &'a str,
}

async fn read_and_store(
    store: &Store,
    pc: &PartnerCenter,
    policy: &ReattestationPolicy,
    caller: &Caller<'_>,
    customer: Customer,
    correlation: Uuid,
) -> Result<(), RefreshError> {
    let (attestations, direct) = futures_util::try_join!(
        pc.mca_attestations(caller.token, &customer.id, correlation),
        pc.direct_acceptance(caller.token, &customer.id, correlation),
    )?;
    let s = store.submission_status(caller.tenant_id, &customer.id).await?;
    let inputs = StatusInputs {
        accepted_directly: Some(direct),
        attestation_dates: attestations.iter().map(|a| a.date_agreed).collect(),
        pending: s.pending,
        waiting_for_customer: s.waiting_for_customer,
        failed_reason: s.failed_reason,
    };
    let verdict = inputs.verdict(policy);
    store.customer_save(caller.tenant_id, &customer, Some(direct), &attestations, &verdict, Utc::now()).await?;
    Ok(())
}

/// Re-reads one customer (with its billing profile) from Partner Center.
#[tracing::instrument(skip_all, fields(customer_id), err)]
pub async fn refresh_customer(
    store: &Store,
    pc: &PartnerCenter,
    policy: &ReattestationPolicy,
    caller: &Caller<'_>,
    customer_id: &str,
) -> Result<(), RefreshError> {
    let correlation = Uuid::new_v4();
    let customer = pc.customer(caller.token, customer_id, correlation).await?;
    read_and_store(store, pc, policy, caller, customer, correlation).await
}

/// Records what a full refresh could not read, and forgets customers no longer listed.
async fn settle(
    store: &Store,
    caller: &Caller<'_>,
    started: chrono::DateTime<Utc>,
    total: usize,
    results: Vec<(Customer, Result<(), RefreshError>)>,
) -> Result<RefreshOutcome, RefreshError> {
    let mut outcome = RefreshOutcome { customers: total, failed: Vec::new() };
    for (customer, r) in results {
        match r {
            Ok(()) => {}
            // A token Partner Center no longer takes ends the whole refresh.
            Err(RefreshError::Upstream(e @ PcError::Unauthorized { .. })) => return Err(e.into()),
            Err(RefreshError::Store(e)) => return Err(e.into()),
            Err(e) => {
                // Listed but not read: kept with what was read before, or shown as not
                // read yet, never left out of the list.
                if store.customer_get(caller.tenant_id, &customer.id).await?.is_none() {
                    let why = match &e {
                        RefreshError::Upstream(pc) => pc.user_message(),
                        other => other.to_string(),
                    };
                    store
                        .customer_save(
                            caller.tenant_id,
                            &customer,
                            None,
                            &[],
                            &StatusVerdict::not_read(&why),
                            Utc::now(),
                        )
                        .await?;
                }
                outcome.failed.push((customer.id.clone(), e.to_string()));
            }
        }
    }
    if outcome.failed.is_empty() {
        store.customers_forget_unseen(caller.tenant_id, started).await?;
    }
    store.tenant_mark_synced(caller.tenant_id, Utc::now()).await?;
    tracing::info!(customers = total, failed = outcome.failed.len(), "customer refresh done");
    Ok(outcome)
}

/// How far a partner's refresh has come, for the progress bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshProgress {
    pub running: bool,
    /// Customers listed by Partner Center (known once the list has been read).
    pub total: usize,
    /// Customers read so far, including those that could not be read.
    pub done: usize,
    pub failed: usize,
    /// Why the last refresh stopped, when it did not finish.
    pub error: Option<String>,
}

/// One refresh at a time per partner tenant, and its progress. Held in memory: with
/// several instances each shows the refreshes it runs itself.
#[derive(Default)]
pub struct RefreshTracker {
    by_tenant: std::sync::Mutex<std::collections::HashMap<String, RefreshProgress>>,
}

impl RefreshTracker {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, RefreshProgress>> {
        self.by_tenant.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a refresh as started; false when one is already running for the tenant.
    pub fn start(&self, tenant_id: &str) -> bool {
        let mut m = self.map();
        if m.get(tenant_id).is_some_and(|p| p.running) {
            return false;
        }
        m.insert(tenant_id.to_string(), RefreshProgress { running: true, ..Default::default() });
        true
    }

    pub fn get(&self, tenant_id: &str) -> RefreshProgress {
        self.map().get(tenant_id).cloned().unwrap_or_default()
    }

    fn update(&self, tenant_id: &str, f: impl FnOnce(&mut RefreshProgress)) {
        if let Some(p) = self.map().get_mut(tenant_id) {
            f(p);
        }
    }

    pub fn finish(&self, tenant_id: &str, error: Option<String>) {
        self.update(tenant_id, |p| {
            p.running = false;
            p.error = error;
        });
    }
}

/// Re-reads every customer of the caller's tenant, reporting its progress to the tracker
/// as it goes; forgets customers no longer listed.
#[tracing::instrument(skip_all, fields(tenant_id = caller.tenant_id), err)]
pub async fn refresh_all(
    store: &Store,
    pc: &PartnerCenter,
    policy: &ReattestationPolicy,
    caller: &Caller<'_>,
    page_size: u32,
    tracker: &RefreshTracker,
) -> Result<RefreshOutcome, RefreshError> {
    let started = Utc::now();
    let correlation = Uuid::new_v4();
    let customers = pc.list_customers(caller.token, page_size, correlation).await?;
    let total = customers.len();
    tracker.update(caller.tenant_id, |p| p.total = total);
    let results: Vec<(Customer, Result<(), RefreshError>)> = stream::iter(customers)
        .map(|c| async move {
            let kept = c.clone();
            let r = read_and_store(store, pc, policy, caller, c, correlation).await;
            tracker.update(caller.tenant_id, |p| {
                p.done += 1;
                if r.is_err() {
                    p.failed += 1;
                }
            });
            (kept, r)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    settle(store, caller, started, total, results).await
}
