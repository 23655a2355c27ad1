//! Status refresh: re-reads customers and their MCA facts from Partner Center, derives
//! each effective status and stores the result. One customer is read on the spot; the
//! whole portfolio is read by a run kept in the database (`run`), at a pace per partner
//! (`pace`), on demand or on a schedule, continued by any instance after a restart.
//! docs/refresh.md describes it.

mod pace;
mod progress;
mod run;

pub use progress::RefreshProgress;
pub use run::ERRORS_KEPT;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::{WorkflowError, WorkflowResult, Workflows};
use crate::domain::{Customer, PartnerUser, ReattestationPolicy, StatusInputs, UserTokens};
use crate::partner_center::{PartnerCenter, PcError};
use crate::store::{NewRun, RefreshRun, RunState, Store, StoreError, TenantRecord, TokenHolder};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Upstream(#[from] PcError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sign-in the run reads with is gone or can't be renewed.
    #[error("{0}")]
    SignIn(String),
    /// Another instance holds the run now.
    #[error("another instance holds this refresh")]
    Lost,
    /// This instance is stopping; another continues the run.
    #[error("the portal is stopping")]
    Halted,
}

impl RefreshError {
    /// The portal's sentence a run that stops for this error keeps; None when the run does
    /// not stop (another instance holds it or will continue it).
    fn stop_reason(&self) -> Option<String> {
        match self {
            RefreshError::Upstream(pc) => Some(pc.user_message()),
            RefreshError::Store(_) => Some("The portal's database could not be written; try again.".into()),
            RefreshError::SignIn(why) => Some(why.clone()),
            RefreshError::Lost | RefreshError::Halted => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct RefreshOutcome {
    pub customers: i64,
    /// Customers that could not be read; the others were stored.
    pub failed: i64,
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

impl From<RefreshError> for WorkflowError {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Upstream(e) => WorkflowError::Upstream(e),
            RefreshError::Store(e) => WorkflowError::Store(e),
            other => WorkflowError::SignInRequired(other.to_string()),
        }
    }
}

/// A refresh of all customers: done within the wait, or going on in the background.
pub enum Started {
    Done(WorkflowResult<RefreshOutcome>),
    /// It goes on (or another was running already): the list shows its progress.
    Running,
}

/// This instance's part in refreshes: the name it holds runs' leases under, whether it
/// is stopping (its runs then stop where they are, for another instance to continue),
/// and the runs its runners are reading now.
pub struct Instance {
    pub(super) owner: String,
    halted: AtomicBool,
    /// A run whose lease ran out while its runner here was late to renew it (a busy
    /// machine) is not taken over by this instance a second time: it is still alive.
    live: Mutex<HashSet<String>>,
}

impl Default for Instance {
    fn default() -> Self {
        Instance {
            owner: format!("portal-{}", Uuid::new_v4()),
            halted: AtomicBool::new(false),
            live: Mutex::new(HashSet::new()),
        }
    }
}

impl Instance {
    fn halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_live(&self, run_id: &str) -> bool {
        self.live().contains(run_id)
    }
}

/// A run this instance's runner reads, from its start until the runner ends (or panics).
struct LiveRun {
    wf: Arc<Workflows>,
    run_id: String,
}

impl LiveRun {
    fn new(wf: Arc<Workflows>, run_id: &str) -> Self {
        wf.refreshes.live().insert(run_id.to_string());
        LiveRun { wf, run_id: run_id.to_string() }
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        self.wf.refreshes.live().remove(&self.run_id);
    }
}

/// Why a scheduled refresh does not start without a sign-in to read with.
const NO_SIGN_IN: &str = "No agent's sign-in is available to read with: a scheduled refresh reads with the sign-in of the agent who last started a refresh, for as long as that sign-in lasts. Choose Refresh list to read now.";

impl Workflows {
    /// Stops this instance's refreshes where they are (they stay unfinished in the
    /// database, for another instance to continue once their lease runs out).
    pub fn halt_refreshes(&self) {
        self.refreshes.halted.store(true, Ordering::SeqCst);
    }

    fn refresh_lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.settings.refresh.refresh_lease_seconds).unwrap_or(60))
    }

    /// Whether the partner's customers have never been read (and no read is under way),
    /// with the partner's record as read for the answer (pages show its last read). A
    /// read that could not read every customer stored the others: it counts as a read.
    /// A partner read before is known from its record alone (one statement a page).
    #[tracing::instrument(skip_all, fields(%tenant_id), err(level = "warn"))]
    pub async fn never_read(&self, tenant_id: &str) -> WorkflowResult<(bool, Option<TenantRecord>)> {
        let tenant = self.store.tenant_get(tenant_id).await?;
        if tenant.as_ref().is_some_and(|t| t.customers_synced_at.is_some()) {
            return Ok((false, tenant));
        }
        if self.store.refresh_run_latest(tenant_id).await?.is_some_and(|r| r.state == RunState::Running) {
            return Ok((false, tenant));
        }
        Ok((!self.store.customers_any(tenant_id).await?, tenant))
    }

    /// Starts reading every customer of the user's partner in the background, with the
    /// user's sign-in (kept for the run, and for scheduled runs, until the user's session
    /// ends), and waits up to `wait` for it. A run left unfinished by an instance that
    /// stopped is continued instead; one running elsewhere is left to run.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id))]
    pub async fn start_refresh(self: &Arc<Self>, user: &PartnerUser, tokens: UserTokens, wait: Duration) -> Started {
        self.start_refresh_noted(user, tokens, wait, false).await
    }

    /// `start_refresh` when the user chose Refresh list: the audit log notes it.
    pub async fn refresh_list(self: &Arc<Self>, user: &PartnerUser, tokens: UserTokens, wait: Duration) -> Started {
        self.start_refresh_noted(user, tokens, wait, true).await
    }

    async fn start_refresh_noted(
        self: &Arc<Self>,
        user: &PartnerUser,
        tokens: UserTokens,
        wait: Duration,
        audited: bool,
    ) -> Started {
        let begun = self.begin_refresh(user, tokens).await;
        let outcome = match &begun {
            Ok(Some(_)) => "started",
            Ok(None) => "already_running",
            Err(_) => "failed",
        };
        if audited && let Err(e) = self.store.audit(&super::audit_of(user, "refresh_started", outcome)).await {
            return Started::Done(Err(e.into()));
        }
        match begun {
            Ok(Some(runner)) => self.spawn_run(runner, Some(wait)).await,
            Ok(None) => Started::Running,
            Err(e) => Started::Done(Err(e)),
        }
    }

    /// Starts a run (or takes over an abandoned one) and keeps the user's tokens for the
    /// partner's runs; None when one runs on another instance. Joining a run keeps the
    /// user's sign-in only when none is kept: the run goes on reading with the sign-in of
    /// whoever started it, which that agent's sign-out alone takes away.
    async fn begin_refresh(
        self: &Arc<Self>,
        user: &PartnerUser,
        tokens: UserTokens,
    ) -> WorkflowResult<Option<run::Runner>> {
        let tenant_id = user.tenant_id.as_str();
        let new = NewRun {
            tenant_id,
            started_by_name: Some(&user.name),
            scheduled: false,
            owner: &self.refreshes.owner,
            lease: self.refresh_lease(),
        };
        let run = match self.store.refresh_run_start(&new).await? {
            Some(run) => Some(run),
            None => self.take_over(tenant_id).await?,
        };
        if run.is_some() || self.store.refresh_sign_in(tenant_id).await?.is_none() {
            let holder =
                TokenHolder { oid: user.oid.clone(), name: user.name.clone(), kept_until: self.session_end(user) };
            self.store.refresh_sign_in_keep(tenant_id, &holder, &tokens).await?;
        }
        Ok(run.map(|run| run::Runner::new(self.clone(), run, tokens)))
    }

    /// The tenant's running run, when nobody holds it any more, now held by this instance.
    async fn take_over(&self, tenant_id: &str) -> WorkflowResult<Option<RefreshRun>> {
        let latest = self.store.refresh_run_latest(tenant_id).await?;
        let Some(run) = latest.filter(|r| r.state == RunState::Running && !self.refreshes.is_live(&r.run_id)) else {
            return Ok(None);
        };
        Ok(self.store.refresh_run_claim(&run.run_id, &self.refreshes.owner, self.refresh_lease()).await?)
    }

    /// Runs `runner` in the background; with `wait`, waits that long for its outcome.
    async fn spawn_run(&self, runner: run::Runner, wait: Option<Duration>) -> Started {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let live = LiveRun::new(runner.wf.clone(), &runner.run.run_id);
        tokio::spawn(async move {
            let result = Arc::new(runner).drive().await;
            drop(live);
            let _ = tx.send(result);
        });
        let Some(wait) = wait else { return Started::Running };
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(Err(RefreshError::Lost | RefreshError::Halted))) => Started::Running,
            Ok(Ok(result)) => Started::Done(result.map_err(WorkflowError::from)),
            _ => Started::Running,
        }
    }

    /// Continues every run whose holder stopped (this instance or another), with the
    /// sign-in kept for its partner; a run without one stops, saying why. The refresh
    /// job calls it.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn continue_abandoned_refreshes(self: &Arc<Self>) -> WorkflowResult<()> {
        for run in self.store.refresh_runs_abandoned().await? {
            if self.refreshes.is_live(&run.run_id) {
                continue;
            }
            let owner = &self.refreshes.owner;
            let Some(run) = self.store.refresh_run_claim(&run.run_id, owner, self.refresh_lease()).await? else {
                continue;
            };
            match self.store.refresh_sign_in(&run.tenant_id).await? {
                Some(kept) => {
                    tracing::info!(run_id = %run.run_id, done = run.done, total = run.total, "continuing a refresh");
                    self.spawn_run(run::Runner::new(self.clone(), run, kept.tokens), None).await;
                }
                None => {
                    self.store.refresh_run_end(&run.run_id, owner, RunState::Stopped, Some(run::SIGN_IN_ENDED)).await?;
                }
            }
        }
        Ok(())
    }

    /// Starts the scheduled refresh of every partner that is due (`refresh_every_minutes`
    /// after its last run began), with the sign-in kept for it; without one the refresh
    /// does not start and the reason is kept for the progress page.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn start_scheduled_refreshes(self: &Arc<Self>) -> WorkflowResult<()> {
        let every = self.settings.refresh.refresh_every_minutes;
        if every == 0 {
            return Ok(());
        }
        let every = chrono::Duration::minutes(i64::try_from(every).unwrap_or(i64::MAX / 120_000));
        for tenant_id in self.store.refresh_tenants_due(every).await? {
            let Some(kept) = self.store.refresh_sign_in(&tenant_id).await? else {
                self.store.refresh_schedule_skipped(&tenant_id, Some(NO_SIGN_IN)).await?;
                continue;
            };
            let new = NewRun {
                tenant_id: &tenant_id,
                started_by_name: None,
                scheduled: true,
                owner: &self.refreshes.owner,
                lease: self.refresh_lease(),
            };
            if let Some(run) = self.store.refresh_run_start(&new).await? {
                self.store.refresh_schedule_skipped(&tenant_id, None).await?;
                self.spawn_run(run::Runner::new(self.clone(), run, kept.tokens), None).await;
            }
        }
        Ok(())
    }

    /// Reads one customer again, and looks at once at anything of ours still on its way
    /// (or waiting for the customer's acceptance).
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %customer_id), err(level = "warn"))]
    pub async fn refresh_one(&self, user: &PartnerUser, token: &str, customer_id: &str) -> WorkflowResult<()> {
        let read = self.read_customer(user, token, customer_id).await;
        let mut entry = super::audit_of(user, "customer_refreshed", if read.is_ok() { "ok" } else { "failed" });
        entry.customer_id = Some(customer_id.to_string());
        self.store.audit(&entry).await?;
        read?;
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
