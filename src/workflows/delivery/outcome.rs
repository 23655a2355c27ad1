//! What one delivery attempt came to, and which Partner Center errors are worth another
//! attempt.

use crate::partner_center::{CreatedCustomer, PcError};

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed {
        reason: String,
        code: Option<String>,
    },
    /// Not settled; another attempt follows at the time stored.
    RetryLater {
        reason: String,
    },
    /// Enhanced attestation: waiting for the customer to accept at this link;
    /// `link_created` when this attempt created it (only then does the audit log get it:
    /// anyone holding the link can accept for the customer).
    Waiting {
        link: String,
        link_created: bool,
    },
    /// The delegated tokens it needs are gone or can't be renewed: it waits, untried,
    /// until an attester sends it with their own sign-in.
    NeedsSignIn {
        reason: String,
    },
    /// Another instance holds the submission now.
    LeaseLost,
}

impl Outcome {
    pub(super) fn failed(reason: impl Into<String>) -> Outcome {
        Outcome::Failed { reason: reason.into(), code: None }
    }

    /// Waits for a sign-in: `why` says what became of the tokens it was saved with.
    pub(super) fn needs_sign_in(why: &str) -> Outcome {
        Outcome::NeedsSignIn { reason: format!("Not sent yet: {why}.") }
    }

    /// Whether the attempt is worth an entry in the audit log: a look at an enhanced
    /// attestation that is still waiting changed nothing and gets none.
    pub(super) fn audited(&self) -> bool {
        !matches!(self, Outcome::Waiting { link_created: false, .. })
    }

    /// The label the audit log gives it, and the reason or link it notes.
    pub(super) fn audit_label(&self) -> (&'static str, Option<String>, Option<String>) {
        match self {
            Outcome::Delivered => ("delivered", None, None),
            Outcome::Failed { reason, code } => ("failed", Some(reason.clone()), code.clone()),
            Outcome::RetryLater { reason } => ("retry_later", Some(reason.clone()), None),
            Outcome::Waiting { link, link_created: true } => {
                ("waiting_for_customer", Some(format!("acceptance link {link}")), None)
            }
            Outcome::Waiting { link_created: false, .. } => ("waiting_for_customer", None, None),
            Outcome::NeedsSignIn { reason } => ("needs_sign_in", Some(reason.clone()), None),
            Outcome::LeaseLost => ("lease_lost", None, None),
        }
    }
}

/// One attempt's result: the outcome, and for a new customer created in this very attempt
/// its sign-in details, handed to the page that waits and to nothing else.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    pub created: Option<CreatedCustomer>,
    /// The customer the submission is about (known once a new customer is created).
    pub customer_id: Option<String>,
}

/// Errors that may pass are retried later; refusals are final, with Partner Center's
/// code and the portal's sentence for it (Partner Center's own words go to the log only).
pub(super) fn retry_or_fail(e: PcError) -> Outcome {
    tracing::warn!(error = %e, "Partner Center did not take the submission");
    match &e {
        PcError::Throttled { .. } | PcError::Unavailable { .. } | PcError::Transport(_) | PcError::Decode { .. } => {
            Outcome::RetryLater { reason: e.user_message() }
        }
        PcError::Api { status, .. } if *status >= 500 || *status == 408 => {
            Outcome::RetryLater { reason: e.user_message() }
        }
        PcError::Unauthorized { .. } => Outcome::failed(
            "Partner Center no longer accepts the sign-in this was submitted with. Sign in and send it again.",
        ),
        PcError::Api { code, message, .. } => {
            Outcome::Failed { reason: refusal(code.as_deref(), message, &e), code: code.clone() }
        }
    }
}

/// The agent's sentence for a refusal. 600002 has a second meaning besides the date, so
/// the date sentence is chosen only when Partner Center's text is about the date; the
/// text itself is not shown.
fn refusal(code: Option<&str>, message: &str, e: &PcError) -> String {
    match code {
        Some("600002") if message.to_ascii_lowercase().contains("date") => {
            "Partner Center refused the agreement acceptance date as later than today in UTC. Correct the date and send it again. (Partner Center code 600002.)".into()
        }
        _ => e.user_message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn api(status: u16, code: &str, message: &str) -> PcError {
        PcError::Api {
            status,
            code: Some(code.into()),
            message: message.into(),
            error_name: None,
            request_id: Uuid::nil(),
            correlation_id: Uuid::nil(),
        }
    }

    #[test]
    fn server_errors_wait_and_refusals_are_final() {
        assert!(matches!(retry_or_fail(api(503, "503", "busy")), Outcome::RetryLater { .. }));
        let Outcome::Failed { reason, code } =
            retry_or_fail(api(400, "600002", "Date of agreement cannot be greater than the current date"))
        else {
            panic!("a refusal is final")
        };
        assert!(reason.contains("Correct the date"), "{reason}");
        assert_eq!(code.as_deref(), Some("600002"));
        let Outcome::Failed { reason, .. } = retry_or_fail(api(400, "600002", "Something else entirely")) else {
            panic!("final")
        };
        assert!(!reason.contains("Correct the date"), "600002 without a date is not about the date: {reason}");
    }
}
