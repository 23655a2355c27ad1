//! Transact readiness: whether Microsoft lets a customer transact today — "Can transact"
//! or "Blocked" — with the reasons and the actions blocked. Derived from the customer's
//! direct acceptance, its latest partner attestation, the re-attestation rule's two dates
//! and today's date in UTC; the effective status adds what the portal has on its way
//! (docs/readiness.md has every case and why).

use chrono::NaiveDate;

use super::status::{BLOCKED_ACTIONS, EffectiveStatus, ReattestationPolicy};

/// The answer an order system acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Readiness {
    CanTransact,
    Blocked,
}

impl Readiness {
    /// Stable key for JSON and addresses.
    pub fn key(self) -> &'static str {
        match self {
            Readiness::CanTransact => "can_transact",
            Readiness::Blocked => "blocked",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Readiness::CanTransact => "Can transact",
            Readiness::Blocked => "Blocked",
        }
    }
}

/// Why, as a stable code (for order systems) and a sentence (for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessReason {
    pub code: &'static str,
    pub text: String,
}

/// The facts readiness is derived from; all a list row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessInputs {
    /// The effective status (for Pending, Failed and Not read yet).
    pub status: EffectiveStatus,
    /// "Customer acceptance through Microsoft": `None` when never read.
    pub accepted_directly: Option<bool>,
    /// The acceptance date of the latest partner attestation Partner Center lists.
    pub latest_attestation: Option<NaiveDate>,
}

/// Readiness with its reasons; `blocked_actions` is non-empty exactly when blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessVerdict {
    pub readiness: Readiness,
    pub reasons: Vec<ReadinessReason>,
    pub blocked_actions: Vec<&'static str>,
    /// Can transact today, and will be blocked from this day unless attested again.
    pub blocked_from: Option<NaiveDate>,
}

fn reason(code: &'static str, text: String) -> ReadinessReason {
    ReadinessReason { code, text }
}

impl ReadinessInputs {
    /// The inputs of a list row: its status and direct acceptance, with the date of its
    /// latest attestation.
    pub fn of_summary(c: &super::CustomerSummary, latest_attestation: Option<NaiveDate>) -> Self {
        ReadinessInputs { status: c.status, accepted_directly: c.accepted_directly, latest_attestation }
    }

    /// Readiness on `today` (UTC) under `policy`, with its reasons: see `case` for which
    /// case applies. A submission on its way, or refused, adds a reason and unblocks
    /// nothing.
    pub fn readiness(&self, policy: &ReattestationPolicy, today: NaiveDate) -> ReadinessVerdict {
        let mut verdict = match self.case(policy, today) {
            Case::AcceptedDirectly => return can_transact(reason(
                "accepted_directly",
                "The customer accepted the Microsoft Customer Agreement in the Microsoft 365 admin center (customer acceptance through Microsoft: Provided).".into(),
            )),
            Case::Attested(latest) => return can_transact(reason(
                "attested",
                format!(
                    "The latest partner attestation is dated {latest}, on or after the re-attestation cutoff {}.",
                    policy.cutoff
                ),
            )),
            Case::OnlyOlder { latest, enforced } => only_older(latest, policy, enforced),
            Case::NotRead => blocked(reason(
                "not_read",
                "Not known: Partner Center did not give this customer's agreements when they were read. The portal does not vouch for a customer it could not read; refresh the customer to read them again.".into(),
            )),
            Case::NoAcceptance => blocked(reason(
                "no_acceptance",
                "No acceptance is on record: the customer has not accepted the Microsoft Customer Agreement in the Microsoft 365 admin center and no partner has attested. Microsoft refuses transactions for a customer without an accepted agreement.".into(),
            )),
        };
        if let Some(extra) = in_flight(self.status, verdict.readiness) {
            verdict.reasons.push(extra);
        }
        verdict
    }

    /// Only the answer, "Can transact" or "Blocked", as `readiness` gives it, without
    /// writing its reasons (a list shows the answer of every row).
    pub fn answer(&self, policy: &ReattestationPolicy, today: NaiveDate) -> Readiness {
        match self.case(policy, today) {
            Case::AcceptedDirectly | Case::Attested(_) => Readiness::CanTransact,
            Case::OnlyOlder { enforced: false, .. } => Readiness::CanTransact,
            Case::OnlyOlder { enforced: true, .. } | Case::NotRead | Case::NoAcceptance => Readiness::Blocked,
        }
    }

    /// The first case that applies: accepted directly; attested on or after the cutoff;
    /// only older attestations (blocked from the enforcement day on); not read yet; no
    /// acceptance at all.
    fn case(&self, policy: &ReattestationPolicy, today: NaiveDate) -> Case {
        if self.accepted_directly == Some(true) {
            return Case::AcceptedDirectly;
        }
        match self.latest_attestation {
            Some(latest) if latest >= policy.cutoff => Case::Attested(latest),
            Some(latest) => Case::OnlyOlder { latest, enforced: today >= policy.enforced_from },
            None if self.status == EffectiveStatus::NotRead => Case::NotRead,
            None => Case::NoAcceptance,
        }
    }
}

/// Which of readiness's cases applies to a customer.
enum Case {
    AcceptedDirectly,
    Attested(NaiveDate),
    /// Attested only before the cutoff; `enforced`: Microsoft blocks such customers today.
    OnlyOlder {
        latest: NaiveDate,
        enforced: bool,
    },
    NotRead,
    NoAcceptance,
}

fn can_transact(why: ReadinessReason) -> ReadinessVerdict {
    ReadinessVerdict {
        readiness: Readiness::CanTransact,
        reasons: vec![why],
        blocked_actions: Vec::new(),
        blocked_from: None,
    }
}

fn blocked(why: ReadinessReason) -> ReadinessVerdict {
    ReadinessVerdict {
        readiness: Readiness::Blocked,
        reasons: vec![why],
        blocked_actions: BLOCKED_ACTIONS.to_vec(),
        blocked_from: None,
    }
}

/// Only attestations dated before the cutoff, and no direct acceptance; `enforced` from
/// the enforcement day on.
fn only_older(latest: NaiveDate, policy: &ReattestationPolicy, enforced: bool) -> ReadinessVerdict {
    let older = format!(
        "The latest partner attestation is dated {latest}, before the re-attestation cutoff {}, and the customer has not accepted directly.",
        policy.cutoff
    );
    if enforced {
        let mut v = blocked(reason("reattestation_required", older));
        v.reasons.push(reason(
            "reattestation_enforced",
            format!(
                "Since {} Microsoft blocks such customers until a partner attests again with an agreement acceptance date on or after {}, or the customer accepts in the Microsoft 365 admin center.",
                policy.enforced_from, policy.cutoff
            ),
        ));
        return v;
    }
    let mut v = can_transact(reason("reattestation_required", older));
    v.reasons.push(reason(
        "reattestation_not_enforced_yet",
        format!(
            "Microsoft enforces re-attestation from {0}: the customer can transact until {1}, and is blocked from {0} unless a partner attests again with a date on or after {2}.",
            policy.enforced_from,
            policy.enforced_from.pred_opt().unwrap_or(policy.enforced_from),
            policy.cutoff
        ),
    ));
    v.blocked_from = Some(policy.enforced_from);
    v
}

/// What the portal has on its way or saw refused, said beside a verdict it does not
/// change: Partner Center counts an attestation only once it has recorded it.
fn in_flight(status: EffectiveStatus, readiness: Readiness) -> Option<ReadinessReason> {
    let still = match readiness {
        Readiness::Blocked => "The customer stays blocked until Partner Center has recorded it.",
        Readiness::CanTransact => "Until Partner Center has recorded it, the answer above stands.",
    };
    match status {
        EffectiveStatus::Pending => Some(reason(
            "attestation_pending",
            format!("A new attestation is on its way or waits for the customer's acceptance. {still}"),
        )),
        EffectiveStatus::Failed => Some(reason(
            "attestation_failed",
            "Partner Center refused the last attestation sent from this portal; the customer's page says why.".into(),
        )),
        _ => None,
    }
}

/// The latest of a customer's attestation dates, as the inputs take it.
pub fn latest_of(dates: impl IntoIterator<Item = NaiveDate>) -> Option<NaiveDate> {
    dates.into_iter().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn policy() -> ReattestationPolicy {
        ReattestationPolicy::default()
    }

    fn inputs(status: EffectiveStatus, direct: Option<bool>, latest: Option<NaiveDate>) -> ReadinessInputs {
        ReadinessInputs { status, accepted_directly: direct, latest_attestation: latest }
    }

    fn codes(v: &ReadinessVerdict) -> Vec<&'static str> {
        v.reasons.iter().map(|r| r.code).collect()
    }

    const TODAY: (i32, u32, u32) = (2026, 3, 2);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn accepted_directly_can_transact_whatever_the_attestations_say() {
        let v =
            inputs(EffectiveStatus::AcceptedDirectly, Some(true), Some(d(2020, 1, 1))).readiness(&policy(), today());
        assert_eq!(v.readiness, Readiness::CanTransact);
        assert_eq!(codes(&v), ["accepted_directly"]);
        assert!(v.blocked_actions.is_empty());
        assert!(v.reasons[0].text.contains("Provided"));
    }

    #[test]
    fn an_attestation_on_or_after_the_cutoff_can_transact() {
        for date in [d(2023, 4, 1), d(2025, 12, 1)] {
            let v = inputs(EffectiveStatus::Attested, Some(false), Some(date)).readiness(&policy(), today());
            assert_eq!(v.readiness, Readiness::CanTransact, "{date}");
            assert_eq!(codes(&v), ["attested"]);
            assert!(v.reasons[0].text.contains(&date.to_string()));
        }
    }

    #[test]
    fn only_older_attestations_are_blocked_on_and_after_the_enforcement_day() {
        let p = policy();
        for day in [p.enforced_from, today()] {
            let v =
                inputs(EffectiveStatus::ReattestationRequired, Some(false), Some(d(2023, 3, 31))).readiness(&p, day);
            assert_eq!(v.readiness, Readiness::Blocked, "{day}");
            assert_eq!(codes(&v), ["reattestation_required", "reattestation_enforced"]);
            assert_eq!(v.blocked_actions, BLOCKED_ACTIONS.to_vec());
            assert!(v.reasons[0].text.contains("2023-03-31"));
            // The actions are listed once, from `blocked_actions`, never in a reason.
            assert!(v.reasons.iter().all(|r| !r.text.contains("term or billing plan changes")));
        }
    }

    #[test]
    fn only_older_attestations_can_transact_until_the_day_before_enforcement() {
        let p = policy();
        let day_before = p.enforced_from.pred_opt().unwrap();
        let v =
            inputs(EffectiveStatus::ReattestationRequired, Some(false), Some(d(2021, 6, 1))).readiness(&p, day_before);
        assert_eq!(v.readiness, Readiness::CanTransact);
        assert_eq!(v.blocked_from, Some(p.enforced_from));
        assert!(v.blocked_actions.is_empty());
        assert_eq!(codes(&v), ["reattestation_required", "reattestation_not_enforced_yet"]);
        assert!(v.reasons[1].text.contains("until 2025-10-06"), "{}", v.reasons[1].text);
        assert!(v.reasons[1].text.contains("from 2025-10-07"), "{}", v.reasons[1].text);
    }

    #[test]
    fn no_acceptance_at_all_is_blocked() {
        for direct in [Some(false), None] {
            let v = inputs(EffectiveStatus::NotConfirmed, direct, None).readiness(&policy(), today());
            assert_eq!(v.readiness, Readiness::Blocked);
            assert_eq!(codes(&v), ["no_acceptance"]);
            assert_eq!(v.blocked_actions.len(), 4);
        }
    }

    #[test]
    fn a_customer_not_read_yet_is_blocked_as_not_known() {
        let v = inputs(EffectiveStatus::NotRead, None, None).readiness(&policy(), today());
        assert_eq!(v.readiness, Readiness::Blocked);
        assert_eq!(codes(&v), ["not_read"]);
        assert!(v.reasons[0].text.starts_with("Not known"));
    }

    #[test]
    fn a_pending_attestation_unblocks_nothing_until_it_lands() {
        let old = inputs(EffectiveStatus::Pending, Some(false), Some(d(2022, 1, 1))).readiness(&policy(), today());
        assert_eq!(old.readiness, Readiness::Blocked);
        assert_eq!(codes(&old), ["reattestation_required", "reattestation_enforced", "attestation_pending"]);
        assert!(old.reasons[2].text.contains("stays blocked until Partner Center has recorded it"));
        let none = inputs(EffectiveStatus::Pending, Some(false), None).readiness(&policy(), today());
        assert_eq!(none.readiness, Readiness::Blocked);
        assert_eq!(codes(&none), ["no_acceptance", "attestation_pending"]);
    }

    #[test]
    fn a_refused_attestation_is_named_and_changes_nothing() {
        let v = inputs(EffectiveStatus::Failed, Some(false), None).readiness(&policy(), today());
        assert_eq!(v.readiness, Readiness::Blocked);
        assert_eq!(codes(&v), ["no_acceptance", "attestation_failed"]);
    }

    #[test]
    fn readiness_agrees_with_the_status_rule_on_attested_and_blocked() {
        // The same facts through the status rule and through readiness (after enforcement).
        let p = policy();
        for (direct, dates) in [
            (Some(true), vec![]),
            (Some(false), vec![d(2024, 1, 1)]),
            (Some(false), vec![d(2020, 1, 1), d(2023, 3, 31)]),
            (Some(false), vec![]),
        ] {
            let status = crate::domain::StatusInputs {
                accepted_directly: direct,
                attestation_dates: dates.clone(),
                ..Default::default()
            }
            .verdict(&p)
            .status;
            let v = inputs(status, direct, latest_of(dates)).readiness(&p, today());
            assert_eq!(v.readiness == Readiness::CanTransact, status.can_purchase(), "{status:?}");
        }
    }

    #[test]
    fn a_list_row_gives_the_same_inputs() {
        let row = crate::domain::CustomerSummary {
            id: "c1".into(),
            company_name: "Alpha".into(),
            domain: "alpha.onmicrosoft.com".into(),
            status: EffectiveStatus::ReattestationRequired,
            status_reason: String::new(),
            accepted_directly: Some(false),
            added_here_at: None,
            latest_attestation: None,
            associated_partner_id: None,
        };
        let i = ReadinessInputs::of_summary(&row, Some(d(2021, 1, 1)));
        assert_eq!(i, inputs(EffectiveStatus::ReattestationRequired, Some(false), Some(d(2021, 1, 1))));
        assert_eq!(i.readiness(&policy(), today()).readiness, Readiness::Blocked);
    }

    #[test]
    fn keys_and_labels() {
        assert_eq!(Readiness::CanTransact.key(), "can_transact");
        assert_eq!(Readiness::Blocked.label(), "Blocked");
    }

    #[test]
    fn the_answer_alone_is_the_verdicts_answer_in_every_case() {
        let p = policy();
        let dates =
            [None, Some(d(2020, 1, 1)), Some(p.cutoff.pred_opt().unwrap()), Some(p.cutoff), Some(d(2030, 1, 1))];
        let days = [p.enforced_from.pred_opt().unwrap(), p.enforced_from, today()];
        for status in EffectiveStatus::ALL {
            for direct in [None, Some(false), Some(true)] {
                for latest in dates {
                    for day in days {
                        let i = inputs(status, direct, latest);
                        assert_eq!(i.answer(&p, day), i.readiness(&p, day).readiness, "{i:?} on {day}");
                    }
                }
            }
        }
    }
}
