//! Status refresh: re-reads customers and their MCA facts from Partner Center, derives
//! each effective status and stores the result. A read of every customer runs in the
//! background with its progress kept for the list's progress bar.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::{StreamExt, stream};
use uuid::Uuid;

use super::{WorkflowError, WorkflowResult, Workflows};
use crate::domain::{Customer, PartnerUser, ReattestationPolicy, StatusInputs, StatusVerdict};
use crate::partner_center::{PartnerCenter, PcError};
use crate::store::{Store, StoreError};

/// How many customers are read at once during a full refresh. Partner Center publishes
/// no figure for its limits (docs/partner-center.md, "Throttling"); the client waits out
/// every 429 in any case.
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
        needs_sign_in: s.needs_sign_in,
        failed_reason: s.failed_reason,
    };
    let verdict = inputs.verdict(policy);
    store.customer_save(caller.tenant_id, &customer, Some(direct), &attestations, &verdict, Utc::now()).await?;
    if direct {
        store.invitations_note_mca_acceptance(caller.tenant_id, &customer.id, direct, Utc::now()).await?;
    }
    Ok(())
}

/// Re-reads one customer (with its billing profile) from Partner Center.
#[tracing::instrument(skip_all, fields(%customer_id), err(level = "warn"))]
async fn refresh_customer(
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
    // Only a complete read moves the time the list says it was read: a customer not read
    // keeps what was read before, and one added here since stays marked as added here.
    // New customers that came from a relationship invitation: matched by company name.
    store.invitations_match_relationships(caller.tenant_id, Utc::now()).await?;
    if outcome.failed.is_empty() {
        store.customers_forget_unseen(caller.tenant_id, started).await?;
        store.tenant_mark_synced(caller.tenant_id, started).await?;
    }
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
#[tracing::instrument(skip_all, fields(tenant_id = caller.tenant_id), err(level = "warn"))]
async fn refresh_all(
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

impl From<RefreshError> for WorkflowError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Upstream(e) => WorkflowError::Upstream(e),
            RefreshError::Store(e) => WorkflowError::Store(e),
        }
    }
}

/// A refresh of all customers: done within the wait, or going on in the background.
pub enum Started {
    Done(WorkflowResult<RefreshOutcome>),
    /// It goes on (or another was running already): the list shows its progress.
    Running,
}

impl Workflows {
    /// Whether the partner's customers have never been read (and no read is under way).
    /// A read that could not read every customer stored the others: it counts as a read.
    #[tracing::instrument(skip_all, fields(%tenant_id), err(level = "warn"))]
    pub async fn never_read(&self, tenant_id: &str) -> WorkflowResult<bool> {
        let tenant = self.store.tenant_get(tenant_id).await?;
        let synced = tenant.as_ref().is_some_and(|t| t.customers_synced_at.is_some());
        if synced || self.refreshes.get(tenant_id).running {
            return Ok(false);
        }
        Ok(!self.store.customers_any(tenant_id).await?)
    }

    /// Starts reading every customer in the background and waits up to `wait` for it.
    #[tracing::instrument(skip_all, fields(%tenant_id))]
    pub async fn start_refresh(self: &Arc<Self>, tenant_id: &str, token: String, wait: Duration) -> Started {
        if !self.refreshes.start(tenant_id) {
            return Started::Running;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (this, tenant) = (self.clone(), tenant_id.to_string());
        tokio::spawn(async move {
            let caller = Caller { tenant_id: &tenant, token: &token };
            let page_size = this.settings.customers_page_size.max(100);
            let policy = this.settings.policy();
            let result = refresh_all(&this.store, &this.pc, &policy, &caller, page_size, &this.refreshes).await;
            let error = result.as_ref().err().map(|e| match e {
                RefreshError::Upstream(pc) => pc.user_message(),
                RefreshError::Store(_) => "the portal's database could not be written; try again".into(),
            });
            this.refreshes.finish(&tenant, error);
            let _ = tx.send(result);
        });
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(result)) => Started::Done(result.map_err(WorkflowError::from)),
            _ => Started::Running,
        }
    }

    /// Reads one customer again, and looks at once at anything of ours still on its way
    /// (or waiting for the customer's acceptance).
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %customer_id), err(level = "warn"))]
    pub async fn refresh_one(&self, user: &PartnerUser, token: &str, customer_id: &str) -> WorkflowResult<()> {
        self.read_customer(user, token, customer_id).await?;
        let wait = Duration::from_secs(self.settings.deliver_wait_seconds);
        for submission in self.store.submissions_make_due(&user.tenant_id, customer_id).await? {
            self.delivery.deliver_now(&user.tenant_id, &submission, wait).await?;
        }
        Ok(())
    }

    /// Reads one customer (with its billing profile) from Partner Center and stores it.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %customer_id), err(level = "warn"))]
    pub async fn read_customer(&self, user: &PartnerUser, token: &str, customer_id: &str) -> WorkflowResult<()> {
        let caller = Caller { tenant_id: &user.tenant_id, token };
        Ok(refresh_customer(&self.store, &self.pc, &self.settings.policy(), &caller, customer_id).await?)
    }
}
