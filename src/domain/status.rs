//! The effective MCA status of a customer: derived from what Partner Center says and
//! what the portal has in flight, never typed in (docs/architecture.md, "Effective MCA status").

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EffectiveStatus {
    AcceptedDirectly,
    Attested,
    Pending,
    Failed,
    ReattestationRequired,
    NotConfirmed,
    /// Partner Center did not answer when the customer was read: nothing is known yet.
    NotRead,
}

impl EffectiveStatus {
    pub const ALL: [EffectiveStatus; 7] = [
        EffectiveStatus::AcceptedDirectly,
        EffectiveStatus::Attested,
        EffectiveStatus::ReattestationRequired,
        EffectiveStatus::Pending,
        EffectiveStatus::Failed,
        EffectiveStatus::NotConfirmed,
        EffectiveStatus::NotRead,
    ];

    /// Stable key used in the database and in URLs (`?status=attested`).
    pub fn key(self) -> &'static str {
        match self {
            EffectiveStatus::AcceptedDirectly => "accepted_directly",
            EffectiveStatus::Attested => "attested",
            EffectiveStatus::Pending => "pending",
            EffectiveStatus::Failed => "failed",
            EffectiveStatus::ReattestationRequired => "reattestation_required",
            EffectiveStatus::NotConfirmed => "not_confirmed",
            EffectiveStatus::NotRead => "not_read",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// What a person reads. Statuses are always shown as words, never by colour alone.
    pub fn label(self) -> &'static str {
        match self {
            // Partner Center's own words for it beside ours (docs/architecture.md).
            EffectiveStatus::AcceptedDirectly => "Accepted directly (Provided)",
            EffectiveStatus::Attested => "Attested",
            EffectiveStatus::Pending => "Pending",
            EffectiveStatus::Failed => "Failed",
            EffectiveStatus::ReattestationRequired => "Re-attestation required",
            EffectiveStatus::NotConfirmed => "Not confirmed",
            EffectiveStatus::NotRead => "Not read yet",
        }
    }

    /// Whether the customer can buy with this status, for a short hint in lists.
    pub fn can_purchase(self) -> bool {
        matches!(self, EffectiveStatus::AcceptedDirectly | EffectiveStatus::Attested)
    }
}

/// The two dates of the re-attestation rule; settings with these defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReattestationPolicy {
    /// Attestations dated before this day no longer count (2023-04-01).
    pub cutoff: NaiveDate,
    /// From this day customers with only older attestations are blocked (2025-10-07).
    pub enforced_from: NaiveDate,
}

impl Default for ReattestationPolicy {
    fn default() -> Self {
        ReattestationPolicy {
            cutoff: NaiveDate::from_ymd_opt(2023, 4, 1).expect("valid date"),
            enforced_from: NaiveDate::from_ymd_opt(2025, 10, 7).expect("valid date"),
        }
    }
}

/// The actions a customer who must re-attest is blocked from (docs/architecture.md).
pub const BLOCKED_ACTIONS: [&str; 4] =
    ["new purchases", "quantity increases or decreases", "term or billing plan changes", "upgrades"];

impl StatusVerdict {
    /// For a customer Partner Center listed but whose agreements it did not give.
    pub fn not_read(why: &str) -> Self {
        StatusVerdict {
            status: EffectiveStatus::NotRead,
            reason: format!(
                "Partner Center did not answer when this customer's agreements were read ({why}). Choose Refresh to read them again."
            ),
            blocked_actions: Vec::new(),
        }
    }
}

/// What the status is derived from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusInputs {
    /// `directSignedMicrosoftCustomerAgreementStatus.isSigned`; `None` when never read.
    pub accepted_directly: Option<bool>,
    /// Acceptance dates of the partner attestations Partner Center lists.
    pub attestation_dates: Vec<NaiveDate>,
    /// A submission of the portal's is saved and on its way.
    pub pending: bool,
    /// An enhanced attestation waits for the customer to accept at its link.
    pub waiting_for_customer: bool,
    /// A submission of the portal's waits for an attester to sign in and send it: the
    /// sign-in it was saved with has ended.
    pub needs_sign_in: bool,
    /// The last submission of the portal's was refused upstream, with this reason.
    pub failed_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusVerdict {
    pub status: EffectiveStatus,
    pub reason: String,
    /// Non-empty only for `ReattestationRequired`.
    pub blocked_actions: Vec<&'static str>,
}

impl StatusInputs {
    pub fn verdict(&self, policy: &ReattestationPolicy) -> StatusVerdict {
        let latest = self.attestation_dates.iter().max().copied();
        let verdict = |status, reason: String| StatusVerdict { status, reason, blocked_actions: Vec::new() };
        if self.accepted_directly == Some(true) {
            return verdict(
                EffectiveStatus::AcceptedDirectly,
                "The customer accepted the Microsoft Customer Agreement in the Microsoft 365 admin center (customer acceptance through Microsoft: Provided).".into(),
            );
        }
        if let Some(latest) = latest.filter(|d| *d >= policy.cutoff) {
            return verdict(
                EffectiveStatus::Attested,
                format!("The latest partner attestation is dated {latest}, on or after {}.", policy.cutoff),
            );
        }
        if self.needs_sign_in {
            return verdict(
                EffectiveStatus::Pending,
                "An attestation is saved but needs a sign-in: the sign-in it was saved with has ended. An Admin or Sales agent can send it with Send now on the customer's page.".into(),
            );
        }
        if self.waiting_for_customer {
            return verdict(
                EffectiveStatus::Pending,
                "Waiting for the customer to accept the Microsoft Customer Agreement at the link sent to them.".into(),
            );
        }
        if self.pending {
            return verdict(
                EffectiveStatus::Pending,
                "An attestation is saved and on its way to Partner Center.".into(),
            );
        }
        if let Some(reason) = &self.failed_reason {
            return verdict(EffectiveStatus::Failed, format!("Partner Center refused the last attempt: {reason}"));
        }
        if let Some(latest) = latest {
            return StatusVerdict {
                status: EffectiveStatus::ReattestationRequired,
                reason: format!(
                    "The latest partner attestation is dated {latest}, before {}, and the customer has not accepted directly. Since {} Partner Center blocks this customer's purchases and subscription changes until it is attested again.",
                    policy.cutoff, policy.enforced_from,
                ),
                blocked_actions: BLOCKED_ACTIONS.to_vec(),
            };
        }
        verdict(
            EffectiveStatus::NotConfirmed,
            "No acceptance is on record: the customer has not accepted in the Microsoft 365 admin center and no partner has attested. The customer can't purchase.".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn direct_acceptance_wins_over_everything() {
        let s = StatusInputs {
            accepted_directly: Some(true),
            attestation_dates: vec![d(2020, 1, 1)],
            pending: true,
            waiting_for_customer: true,
            needs_sign_in: true,
            failed_reason: Some("x".into()),
        };
        assert_eq!(s.verdict(&Default::default()).status, EffectiveStatus::AcceptedDirectly);
    }

    #[test]
    fn waiting_for_the_customer_is_pending_with_its_own_reason() {
        let s = StatusInputs { waiting_for_customer: true, pending: true, ..Default::default() };
        let v = s.verdict(&Default::default());
        assert_eq!(v.status, EffectiveStatus::Pending);
        assert!(v.reason.contains("Waiting for the customer to accept"));
    }

    #[test]
    fn a_submission_that_needs_a_sign_in_is_pending_and_says_what_to_do() {
        let s = StatusInputs { needs_sign_in: true, waiting_for_customer: true, pending: true, ..Default::default() };
        let v = s.verdict(&Default::default());
        assert_eq!(v.status, EffectiveStatus::Pending);
        assert!(v.reason.contains("Send now"), "{}", v.reason);
    }

    #[test]
    fn cutoff_day_itself_counts_as_attested() {
        let p = ReattestationPolicy::default();
        let on = StatusInputs { attestation_dates: vec![d(2023, 4, 1)], ..Default::default() };
        let before = StatusInputs { attestation_dates: vec![d(2023, 3, 31)], ..Default::default() };
        assert_eq!(on.verdict(&p).status, EffectiveStatus::Attested);
        let v = before.verdict(&p);
        assert_eq!(v.status, EffectiveStatus::ReattestationRequired);
        assert_eq!(v.blocked_actions.len(), 4);
        assert!(v.reason.contains("2023-03-31"));
        // The blocked actions are listed once, by the page, from `blocked_actions`.
        assert!(!v.reason.contains("term or billing plan changes"), "{}", v.reason);
    }

    #[test]
    fn latest_of_several_attestations_decides() {
        let s =
            StatusInputs { attestation_dates: vec![d(2021, 5, 1), d(2024, 2, 2), d(2022, 1, 1)], ..Default::default() };
        let v = s.verdict(&Default::default());
        assert_eq!(v.status, EffectiveStatus::Attested);
        assert!(v.reason.contains("2024-02-02"));
    }

    #[test]
    fn pending_and_failed_show_over_old_or_missing_attestations() {
        let p = ReattestationPolicy::default();
        let pending = StatusInputs { attestation_dates: vec![d(2021, 1, 1)], pending: true, ..Default::default() };
        assert_eq!(pending.verdict(&p).status, EffectiveStatus::Pending);
        let failed = StatusInputs { failed_reason: Some("600061".into()), ..Default::default() };
        let v = failed.verdict(&p);
        assert_eq!(v.status, EffectiveStatus::Failed);
        assert!(v.reason.contains("600061"));
    }

    #[test]
    fn nothing_on_record_is_not_confirmed() {
        let s = StatusInputs { accepted_directly: Some(false), ..Default::default() };
        assert_eq!(s.verdict(&Default::default()).status, EffectiveStatus::NotConfirmed);
    }

    #[test]
    fn keys_round_trip() {
        for s in EffectiveStatus::ALL {
            assert_eq!(EffectiveStatus::parse(s.key()), Some(s));
        }
        assert_eq!(EffectiveStatus::parse("Attested"), None);
    }

    proptest! {
        #[test]
        fn attested_exactly_when_some_date_reaches_the_cutoff(days in proptest::collection::vec(-2000i64..2000, 0..6)) {
            let p = ReattestationPolicy::default();
            let dates: Vec<NaiveDate> = days.iter().map(|n| p.cutoff + chrono::Duration::days(*n)).collect();
            let v = StatusInputs { accepted_directly: Some(false), attestation_dates: dates.clone(), ..Default::default() }.verdict(&p);
            let expect = if dates.iter().any(|d| *d >= p.cutoff) {
                EffectiveStatus::Attested
            } else if dates.is_empty() {
                EffectiveStatus::NotConfirmed
            } else {
                EffectiveStatus::ReattestationRequired
            };
            prop_assert_eq!(v.status, expect);
        }
    }
}
