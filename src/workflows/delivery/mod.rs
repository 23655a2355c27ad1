//! Delivery of stored submissions to Partner Center: the first attempt right after submit
//! (the agent waits for it a few seconds) and every later one by the background worker,
//! through the same steps. Submissions are claimed with leases, and each keeps its
//! `MS-RequestId`s for all its attempts, so a retry after a timeout cannot attest twice
//! or create two tenants.
//!
//! Retries, bounded: the client tries one call at most `1 + http_max_retries` times
//! (waiting out a 429 up to 30 s, backing off 0.1–8 s after a 5xx or a timeout); the
//! worker makes at most `MAX_ATTEMPTS` attempts of a submission, backing off 1.25 s to
//! 10 minutes between them, after which it fails with a reason to act on — about six
//! hours at most, then the agent decides.
//!
//! `queue` claims and waits, `attempt` records what one attempt came to, and the steps
//! are `create_customer`, `confirm` and `enhanced`.

mod attempt;
mod confirm;
mod create_customer;
mod enhanced;
mod outcome;
mod queue;

use std::sync::Arc;

use uuid::Uuid;

use crate::config::{AttestationMode, Settings};
use crate::domain::backoff::Backoff;
use crate::domain::{ReattestationPolicy, UserTokens};
use crate::identity::Oidc;
use crate::partner_center::{PartnerCenter, TemplateCache};
use crate::store::{Store, Submission};

pub use outcome::{Attempt, Outcome};

/// After this many attempts a submission fails for good with a reason to act on.
const MAX_ATTEMPTS: i64 = 40;

/// The wait between the worker's attempts of one submission.
const BETWEEN_ATTEMPTS: Backoff =
    Backoff { base: std::time::Duration::from_secs(5), max: std::time::Duration::from_secs(600) };

pub struct Delivery {
    store: Store,
    pc: PartnerCenter,
    oidc: Arc<Oidc>,
    templates: Arc<TemplateCache>,
    policy: ReattestationPolicy,
    /// This instance, as lease owner.
    owner: String,
    lease: chrono::Duration,
    concurrency: usize,
    mode: AttestationMode,
    /// How often a waiting enhanced attestation is looked at again.
    check_every: chrono::Duration,
}

/// The request ids of one attempt: kept by the submission across attempts.
#[derive(Debug, Clone, Copy)]
struct Ids {
    request: Uuid,
    correlation: Uuid,
}

impl Ids {
    fn of(sub: &Submission) -> Ids {
        Ids {
            request: Uuid::parse_str(&sub.ms_request_id).unwrap_or_else(|_| Uuid::new_v4()),
            correlation: Uuid::parse_str(&sub.ms_correlation_id).unwrap_or_else(|_| Uuid::new_v4()),
        }
    }
}

/// The delegated tokens one attempt uses, and whether they were renewed on the way (then
/// they replace the stored ones).
struct Tokens {
    current: UserTokens,
    renewed: bool,
}

/// The delegated tokens an attempt may use, or why there are none: a step that needs
/// them then asks for a sign-in; App-only steps go on without them.
type TokensAtHand = Result<Tokens, String>;

impl Delivery {
    pub fn new(
        store: Store,
        pc: PartnerCenter,
        oidc: Arc<Oidc>,
        templates: Arc<TemplateCache>,
        settings: &Settings,
    ) -> Self {
        let seconds = |s: u64, fallback| chrono::Duration::try_seconds(s as i64).unwrap_or(fallback);
        Delivery {
            store,
            pc,
            oidc,
            templates,
            policy: settings.policy(),
            owner: format!("portal-{}", Uuid::new_v4()),
            lease: seconds(settings.delivery_lease_seconds, chrono::Duration::minutes(5)),
            concurrency: settings.delivery_concurrency.max(1),
            mode: settings.attestation_mode,
            check_every: seconds(settings.acceptance_check_seconds, chrono::Duration::minutes(1)),
        }
    }

    /// The tokens the submission keeps, renewed when they are about to expire; or why
    /// there are none to use.
    async fn tokens_at_hand(&self, sub: &Submission) -> TokensAtHand {
        match sub.tokens.clone() {
            Some(tokens) => self.fresh_tokens(tokens, false).await,
            None => Err("the sign-in it was saved with has ended (signed out, or past its time limit)".into()),
        }
    }

    /// The submitter's tokens, renewed when they are about to expire (or when `force`).
    async fn fresh_tokens(&self, tokens: UserTokens, force: bool) -> Result<Tokens, String> {
        match self.oidc.fresh(&tokens, force).await {
            Ok(Some(t)) => Ok(Tokens { current: t, renewed: true }),
            Ok(None) => Ok(Tokens { current: tokens, renewed: false }),
            Err(e) => {
                // The identity provider's words go to the log; the page gets the portal's.
                tracing::warn!(error = %e, "the submitter's tokens could not be renewed");
                Err("the sign-in it was submitted with could not be renewed".to_string())
            }
        }
    }
}
