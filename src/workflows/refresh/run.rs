//! One refresh run of a partner's whole portfolio, held by this instance: the customer
//! list page by page, then the agreement-records listing page by page, then per customer
//! only what the listing does not tell; every step written to the database with the
//! run's lease, so that another instance continues from the last step written.
//! docs/refresh.md describes the phases and the calls each customer costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use futures_util::{StreamExt, stream};
use uuid::Uuid;

use super::pace::Pace;
use super::{RefreshError, RefreshOutcome};
use crate::domain::{Attestation, StatusInputs, StatusVerdict, UserTokens};
use crate::partner_center::{CustomersCursor, PcError};
use crate::store::{ReadAttestations, ReadCustomer, RefreshItem, RefreshRun, RunPhase, RunState, RunStep};
use crate::workflows::Workflows;

/// Customers read from the database at a time in the per-customer phase.
const BATCH: i64 = 200;
/// The errors a run keeps to show; later ones are only counted.
pub const ERRORS_KEPT: usize = 20;
/// A run renews its access token when it has less than this left (a session renews two
/// minutes ahead: the session renews first, and the run takes its tokens).
const TOKEN_MARGIN_SECONDS: i64 = 30;
/// A 429 that outlasts the client's own waiting is waited out this many times per call.
const THROTTLE_WAITS: u32 = 10;

/// The calls one customer needs beyond the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    /// Nothing: the listing shows a current attestation and direct acceptance was read,
    /// or the customer's direct acceptance was read as Provided (Microsoft keeps an
    /// acceptance once given; the account page's Refresh reads it again).
    Nothing,
    /// Direct acceptance only: the listing tells the attestation, not whether the
    /// customer accepted directly, which decides its status.
    Direct,
    /// Both per-customer calls: the listing is not offered, does not mention the
    /// customer, says it is attested without a date, or the customer is new to the
    /// portal and attested: its first read tells which partner user attested, which the
    /// listing does not (the customer list shows it). Later attestations the listing
    /// brings show their date, and who made them once the account page reads them.
    Both,
}

impl Plan {
    pub(super) fn of(item: &RefreshItem, listing: bool, cutoff: NaiveDate) -> Plan {
        if !listing || !item.in_listing || (item.attested && item.latest.is_none()) {
            return Plan::Both;
        }
        let new_to_the_portal = item.stored_direct.is_none() && item.stored_latest_date.is_none();
        if new_to_the_portal && item.latest.is_some() {
            return Plan::Both;
        }
        if item.stored_direct == Some(true) {
            return Plan::Nothing;
        }
        let latest = item.latest.as_ref().map(|a| a.date_agreed).max(item.stored_latest_date);
        let current = latest.is_some_and(|d| d >= cutoff);
        if current && item.stored_direct.is_some() { Plan::Nothing } else { Plan::Direct }
    }

    fn calls(self) -> i64 {
        match self {
            Plan::Nothing => 0,
            Plan::Direct => 1,
            Plan::Both => 2,
        }
    }
}

/// What was read of one customer beyond the listing.
struct Facts {
    direct: Option<bool>,
    all: Option<Vec<Attestation>>,
}

pub(super) struct Runner {
    pub(super) wf: Arc<Workflows>,
    pub(super) run: RefreshRun,
    pace: Pace,
    tokens: tokio::sync::Mutex<UserTokens>,
    lost: AtomicBool,
    errors: std::sync::Mutex<Vec<String>>,
    correlation: Uuid,
}

impl Runner {
    pub(super) fn new(wf: Arc<Workflows>, run: RefreshRun, tokens: UserTokens) -> Self {
        let r = &wf.settings.refresh;
        let pace = Pace::new(r.refresh_rate_limit_per_minute, r.refresh_concurrency);
        let errors = std::sync::Mutex::new(run.errors.clone());
        Runner {
            wf,
            run,
            pace,
            tokens: tokio::sync::Mutex::new(tokens),
            lost: AtomicBool::new(false),
            errors,
            correlation: Uuid::new_v4(),
        }
    }

    fn ids(&self) -> (&str, &str, &str) {
        (&self.run.tenant_id, &self.run.run_id, &self.wf.refreshes.owner)
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::try_from(self.wf.settings.refresh.refresh_lease_seconds).unwrap_or(60))
    }

    /// Runs to the end (or until it stops), renewing the lease meanwhile.
    #[tracing::instrument(skip_all, fields(tenant_id = %self.run.tenant_id, run_id = %self.run.run_id), err(level = "warn"))]
    pub(super) async fn drive(self: Arc<Self>) -> Result<RefreshOutcome, RefreshError> {
        let renewer = tokio::spawn(self.clone().keep_lease());
        let result = self.phases().await;
        renewer.abort();
        if let Err(e) = &result
            && let Some(why) = e.stop_reason()
        {
            self.wf
                .store
                .refresh_run_end(&self.run.run_id, &self.wf.refreshes.owner, RunState::Stopped, Some(&why))
                .await?;
        }
        result
    }

    /// Renews the lease a third of its length before it runs out; notes when it is lost.
    async fn keep_lease(self: Arc<Self>) {
        let every = Duration::from_secs(self.wf.settings.refresh.refresh_lease_seconds).div_f32(3.0);
        loop {
            tokio::time::sleep(every).await;
            if self.wf.refreshes.halted() {
                return;
            }
            let (_, run_id, owner) = self.ids();
            match self.wf.store.refresh_run_renew(run_id, owner, self.lease()).await {
                Ok(true) => {}
                Ok(false) => {
                    self.lost.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not renew the refresh's lease"),
            }
        }
    }

    /// Whether to go on: not when this instance is stopping or another holds the run.
    fn check(&self) -> Result<(), RefreshError> {
        if self.wf.refreshes.halted() {
            return Err(RefreshError::Halted);
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(RefreshError::Lost);
        }
        Ok(())
    }

    async fn phases(&self) -> Result<RefreshOutcome, RefreshError> {
        let mut listing = self.run.listing;
        if self.run.phase == RunPhase::Customers {
            self.read_customer_list().await?;
        }
        if matches!(self.run.phase, RunPhase::Customers | RunPhase::Records) {
            let cursor = if self.run.phase == RunPhase::Records { self.run.cursor.clone() } else { None };
            listing = self.read_listing(cursor).await?;
        }
        self.read_details(listing).await?;
        self.settle().await
    }

    /// A delegated access token good for a call. Near its expiry it is read again from
    /// the database (a sign-out removes it, and the run stops; the session it came from
    /// may have renewed it), and renewed only if still near its expiry: the run shares
    /// the refresh token with that session, and a provider may take one once only.
    async fn token(&self) -> Result<String, RefreshError> {
        let mut t = self.tokens.lock().await;
        let now = Utc::now().timestamp();
        if t.good_for(TOKEN_MARGIN_SECONDS, now) {
            return Ok(t.access_token.clone());
        }
        let gone = || RefreshError::SignIn(SIGN_IN_ENDED.to_string());
        let kept = self.wf.store.refresh_sign_in(&self.run.tenant_id).await?.ok_or_else(gone)?;
        *t = kept.tokens;
        if !t.good_for(TOKEN_MARGIN_SECONDS, now) {
            let renewed = self.wf.oidc.fresh(&t, true).await.map_err(|e| {
                tracing::warn!(error = %e, "the refresh's sign-in could not be renewed");
                gone()
            })?;
            if let Some(renewed) = renewed {
                self.wf.store.refresh_sign_in_renewed(&self.run.tenant_id, &renewed).await?;
                *t = renewed;
            }
        }
        Ok(t.access_token.clone())
    }

    /// A call at the run's pace, with a fresh token; a 429 the client gave up waiting for
    /// is waited out here, as long as Partner Center asks.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, RefreshError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, PcError>>,
    {
        let mut waits = 0;
        loop {
            self.check()?;
            self.pace.permit().await;
            let token = self.token().await?;
            match f(token).await {
                Err(PcError::Throttled { retry_after, .. }) if waits < THROTTLE_WAITS => {
                    waits += 1;
                    let wait = Duration::from_secs(retry_after.unwrap_or(60).clamp(1, 600));
                    tracing::warn!(wait_s = wait.as_secs(), "Partner Center still throttles the refresh; waiting");
                    tokio::time::sleep(wait).await;
                }
                other => return Ok(other?),
            }
        }
    }

    /// The customer list, from the page the run stands at to the last.
    async fn read_customer_list(&self) -> Result<(), RefreshError> {
        let page_size = self.wf.settings.customers_page_size.max(100);
        let mut cursor = match &self.run.cursor {
            Some(text) => serde_json::from_str(text).unwrap_or_else(|_| CustomersCursor::first(page_size)),
            None => CustomersCursor::first(page_size),
        };
        // A bound on pages, so that a service sending the same link again cannot loop us.
        for _ in 0..100_000 {
            let (pc, at, correlation) = (&self.wf.pc, &cursor, self.correlation);
            let (customers, next) =
                self.call(|t| async move { pc.list_customers_page(&t, at, correlation).await }).await?;
            let next_text = next.as_ref().and_then(|c| serde_json::to_string(c).ok());
            let step = RunStep {
                phase: next.is_none().then_some(RunPhase::Records),
                cursor: Some(next_text.as_deref()),
                calls: 1,
                ..Default::default()
            };
            if !self.wf.store.refresh_items_listed(self.ids(), &customers, &step).await? {
                return Err(RefreshError::Lost);
            }
            match next {
                Some(n) if n != cursor => cursor = n,
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// The agreement-records listing from `cursor` on; false when it is not offered.
    async fn read_listing(&self, mut cursor: Option<String>) -> Result<bool, RefreshError> {
        for _ in 0..100_000 {
            let (pc, at, correlation) = (&self.wf.pc, cursor.as_deref(), self.correlation);
            let page = self.call(|t| async move { pc.agreement_records_page(&t, at, correlation).await }).await?;
            let Some(page) = page else {
                let step = RunStep {
                    phase: Some(RunPhase::Details),
                    cursor: Some(None),
                    listing: Some(false),
                    calls: 1,
                    ..Default::default()
                };
                tracing::info!("the agreement-records listing is not offered: reading customer by customer");
                return if self.wf.store.refresh_run_step(self.ids().1, self.ids().2, &step).await? {
                    Ok(false)
                } else {
                    Err(RefreshError::Lost)
                };
            };
            let records: Vec<_> = page.records.into_iter().map(|r| (r.customer_id, r.attested, r.latest)).collect();
            let next = page.continuation_token.filter(|t| Some(t) != cursor.as_ref());
            let step = RunStep {
                phase: next.is_none().then_some(RunPhase::Details),
                cursor: Some(next.as_deref()),
                calls: 1,
                ..Default::default()
            };
            if !self.wf.store.refresh_items_recorded(self.ids(), &records, &step).await? {
                return Err(RefreshError::Lost);
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        Ok(true)
    }

    /// Every customer still to read, a batch at a time, `refresh_concurrency` at once.
    async fn read_details(&self, listing: bool) -> Result<(), RefreshError> {
        let mut after = String::new();
        loop {
            self.check()?;
            let (tenant_id, run_id, _) = self.ids();
            let items = self.wf.store.refresh_items_waiting(tenant_id, run_id, &after, BATCH).await?;
            let Some(last) = items.last() else { return Ok(()) };
            after = last.customer.id.clone();
            // The first error that ends the run (a sign-in refused, the lease lost) stops
            // the batch at once: the calls still under way are dropped, not retried.
            let mut reads = stream::iter(items)
                .map(|item| self.read_item(item, listing))
                .buffer_unordered(self.wf.settings.refresh.refresh_concurrency);
            let mut ended = None;
            while let Some(result) = reads.next().await {
                if let Err(e) = result {
                    ended = Some(e);
                    break;
                }
            }
            drop(reads);
            let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let step = RunStep { errors: Some(&errors), ..Default::default() };
            if !self.wf.store.refresh_run_step(run_id, self.ids().2, &step).await? {
                return Err(RefreshError::Lost);
            }
            if let Some(e) = ended {
                return Err(e);
            }
        }
    }

    /// One customer: what the listing does not tell is read, then its status is stored.
    async fn read_item(&self, item: RefreshItem, listing: bool) -> Result<(), RefreshError> {
        let plan = Plan::of(&item, listing, self.wf.settings.reattestation_cutoff);
        match self.read_facts(&item, plan).await {
            Ok(facts) => self.store_read(&item, facts, plan.calls()).await,
            Err(RefreshError::Upstream(e)) if !matches!(e, PcError::Unauthorized { .. }) => {
                self.store_failed(&item, &e, plan.calls()).await
            }
            Err(e) => Err(e),
        }
    }

    async fn read_facts(&self, item: &RefreshItem, plan: Plan) -> Result<Facts, RefreshError> {
        let (pc, id, correlation) = (&self.wf.pc, item.customer.id.as_str(), self.correlation);
        let direct = || self.call(move |t| async move { pc.direct_acceptance(&t, id, correlation).await });
        match plan {
            Plan::Nothing => Ok(Facts { direct: None, all: None }),
            Plan::Direct => Ok(Facts { direct: Some(direct().await?), all: None }),
            Plan::Both => {
                let all = self.call(move |t| async move { pc.mca_attestations(&t, id, correlation).await });
                let (all, direct) = futures_util::try_join!(all, direct())?;
                Ok(Facts { direct: Some(direct), all: Some(all) })
            }
        }
    }

    async fn store_read(&self, item: &RefreshItem, facts: Facts, calls: i64) -> Result<(), RefreshError> {
        let (tenant_id, _, _) = self.ids();
        let dates: Vec<NaiveDate> = match &facts.all {
            Some(all) => all.iter().map(|a| a.date_agreed).collect(),
            None => item.latest.iter().map(|a| a.date_agreed).chain(item.stored_latest_date).collect(),
        };
        let s = self.wf.store.submission_status(tenant_id, &item.customer.id).await?;
        let verdict = StatusInputs {
            accepted_directly: facts.direct.or(item.stored_direct),
            attestation_dates: dates,
            pending: s.pending,
            waiting_for_customer: s.waiting_for_customer,
            needs_sign_in: s.needs_sign_in,
            failed_reason: s.failed_reason,
        }
        .verdict(&self.wf.settings.policy());
        let attestations = match &facts.all {
            Some(all) => ReadAttestations::All(all),
            None => ReadAttestations::Latest(item.latest.as_ref()),
        };
        let read = ReadCustomer {
            customer: &item.customer,
            accepted_directly: facts.direct,
            attestations,
            verdict: &verdict,
            read_at: Utc::now(),
        };
        if !self.wf.store.refresh_item_read(self.ids(), &read, calls).await? {
            return Err(RefreshError::Lost);
        }
        if facts.direct == Some(true) {
            self.wf.store.invitations_note_mca_acceptance(tenant_id, &item.customer.id, true, Utc::now()).await?;
        }
        Ok(())
    }

    /// Listed but not read: kept with what was read before (or as not read yet), and the
    /// portal's sentence for why kept with the run's errors.
    async fn store_failed(&self, item: &RefreshItem, e: &PcError, calls: i64) -> Result<(), RefreshError> {
        let why = e.user_message();
        {
            let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
            if errors.len() < ERRORS_KEPT {
                errors.push(format!("{}: {why}", item.customer.company_name));
            }
        }
        let verdict = StatusVerdict::not_read(&why);
        if !self.wf.store.refresh_item_failed(self.ids(), &item.customer, &verdict, calls).await? {
            return Err(RefreshError::Lost);
        }
        Ok(())
    }

    /// Read to the end: a run that read every customer forgets those no longer listed and
    /// moves the time of the last complete read; new customers are matched to invitations.
    async fn settle(&self) -> Result<RefreshOutcome, RefreshError> {
        let (tenant_id, run_id, owner) = self.ids();
        let store = &self.wf.store;
        let run =
            store.refresh_run_latest(tenant_id).await?.filter(|r| r.run_id == run_id).ok_or(RefreshError::Lost)?;
        store.invitations_match_relationships(tenant_id, Utc::now()).await?;
        if run.failed == 0 {
            store.customers_forget_unseen(tenant_id, run.started_at).await?;
            store.tenant_mark_synced(tenant_id, run.started_at).await?;
        }
        if !store.refresh_run_end(run_id, owner, RunState::Finished, None).await? {
            return Err(RefreshError::Lost);
        }
        // The run's writes leave the search index in pieces; searches read every piece.
        if let Err(e) = store.compact_search_index().await {
            tracing::warn!(error = %e, "the search index could not be compacted; searches stay slower until the next refresh");
        }
        tracing::info!(customers = run.total, failed = run.failed, calls = run.calls, "customer refresh done");
        Ok(RefreshOutcome { customers: run.total, failed: run.failed })
    }
}

/// Why a run stops when the sign-in it reads with is gone.
pub(super) const SIGN_IN_ENDED: &str = "The sign-in this refresh read with has ended (its agent signed out, or the session reached its time limit). Choose Refresh list to read again with yours.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Attestation, Customer};

    fn item(in_listing: bool, latest: Option<NaiveDate>, stored_direct: Option<bool>) -> RefreshItem {
        let attestation = |d: NaiveDate| Attestation {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ada@example.com".into(),
            phone: None,
            date_agreed: d,
            user_id: None,
            template_id: None,
        };
        RefreshItem {
            customer: Customer {
                id: "c1".into(),
                company_name: "Alpha".into(),
                domain: "alpha.onmicrosoft.com".into(),
                relationship: None,
                commerce_id: None,
                billing: None,
                associated_partner_id: None,
            },
            in_listing,
            attested: latest.is_some(),
            latest: latest.map(attestation),
            stored_direct,
            stored_latest_date: latest.filter(|_| stored_direct.is_some()),
        }
    }

    #[test]
    fn a_customer_is_asked_only_what_the_listing_and_earlier_reads_do_not_tell() {
        let cutoff = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let (recent, old) = (NaiveDate::from_ymd_opt(2026, 2, 1), NaiveDate::from_ymd_opt(2025, 2, 1));
        assert_eq!(Plan::of(&item(true, recent, Some(false)), true, cutoff), Plan::Nothing, "attested, read before");
        assert_eq!(Plan::of(&item(true, old, Some(false)), true, cutoff), Plan::Direct, "must re-attest");
        assert_eq!(Plan::of(&item(true, None, Some(false)), true, cutoff), Plan::Direct, "never attested");
        assert_eq!(Plan::of(&item(true, None, Some(true)), true, cutoff), Plan::Nothing, "accepted directly");
        assert_eq!(Plan::of(&item(true, None, None), true, cutoff), Plan::Direct, "new, not attested");
        assert_eq!(Plan::of(&item(true, recent, None), true, cutoff), Plan::Both, "new and attested: who attested");
        assert_eq!(Plan::of(&item(false, None, Some(true)), true, cutoff), Plan::Both, "not in the listing");
        assert_eq!(Plan::of(&item(true, recent, Some(true)), false, cutoff), Plan::Both, "no listing");
    }
}
