//! The use cases: what the portal does when an agent asks for something, between the web
//! handlers (which parse forms and render pages) and the store, the Partner Center client
//! and the identity provider. One file per use case; `submit` holds the sequence every
//! submission shares (idempotency, store, audit, first delivery attempt within the wait),
//! and `delivery` the steps that send a stored submission, which the background worker
//! runs too. docs/architecture.md draws the layers.

pub mod add_customer;
pub mod api_keys;
pub mod attest;
pub mod audit_log;
pub mod customers;
pub mod delivery;
pub mod export;
pub mod invitation_templates;
pub mod invitations;
mod kept_tokens;
pub mod refresh;
pub mod relationship_invitations;
mod renewals;
mod resellers;
pub mod sign_in;
mod submit;

use std::sync::Arc;

use crate::config::Settings;
use crate::domain::PartnerUser;
use crate::identity::{Oidc, SignInError};
use crate::mail::Mailer;
use crate::partner_center::{PartnerCenter, TemplateCache};
use crate::store::{AuditEntry, Store, StoreError};

// What the layers above read of the client and the identity provider: their values and
// errors, never the clients themselves.
pub use crate::domain::IdToken;
pub use crate::identity::PendingSignIn;
pub use crate::mail::MailError;
pub use crate::partner_center::{CreatedCustomer, PcError, RelatedPartner, SuggestedAddress};
pub use add_customer::{AddCustomerOutcome, AddressReview, DomainCheck, NewCustomerDraft, ReviewOutcome};
pub use attest::AttestOutcome;
pub use delivery::{Attempt, Delivery, Outcome};
pub use invitations::{InviteRefusal, MadeInvitation, SendRefusal};
pub use kept_tokens::{NewCustomerSendNow, SendNowOutcome};
pub use refresh::{RefreshOutcome, RefreshProgress};
pub use relationship_invitations::{PartnerChoice, RelationshipDraft, RelationshipRefusal};
pub use sign_in::{SignInRefusal, SignInState};
pub use submit::Submitted;

/// Why a use case could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Upstream(#[from] PcError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The user's sign-in is gone or can't be renewed: they must sign in again.
    #[error("sign-in required: {0}")]
    SignInRequired(String),
    /// The identity provider could not be reached, or refused what it was sent.
    #[error(transparent)]
    IdentityProvider(#[from] SignInError),
    /// The identity provider vouched for the user, but the portal can't serve them.
    #[error(transparent)]
    SignInRefused(#[from] SignInRefusal),
}

pub type WorkflowResult<T> = Result<T, WorkflowError>;

/// Everything the use cases reach; one per process, shared by the handlers and the
/// background worker.
pub struct Workflows {
    pub settings: Arc<Settings>,
    pub store: Store,
    pc: PartnerCenter,
    oidc: Arc<Oidc>,
    templates: Arc<TemplateCache>,
    pub delivery: Arc<Delivery>,
    /// This instance's part in refreshes of all customers (kept in the database).
    refreshes: refresh::Instance,
    /// Renewals of sessions' sign-ins, shared by concurrent requests of one session.
    renewals: renewals::Renewals,
    /// Sends invitations when SMTP is configured.
    mailer: Option<Mailer>,
}

impl Workflows {
    pub fn new(settings: Arc<Settings>, store: Store, pc: PartnerCenter, oidc: Arc<Oidc>) -> Self {
        let templates = Arc::new(TemplateCache::default());
        let delivery = Arc::new(Delivery::new(store.clone(), pc.clone(), oidc.clone(), templates.clone(), &settings));
        Workflows {
            settings,
            store,
            pc,
            oidc,
            templates,
            delivery,
            refreshes: refresh::Instance::default(),
            renewals: Default::default(),
            mailer: None,
        }
    }
}

impl Workflows {
    /// Sends invitations through this mailer (SMTP configured), or none.
    pub fn with_mailer(mut self, mailer: Option<Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    /// Whether invitations can be sent from the portal (SMTP is configured).
    pub fn can_send_email(&self) -> bool {
        self.mailer.is_some()
    }

    /// Where email goes, for the start banner; None without SMTP.
    pub fn email_description(&self) -> Option<String> {
        self.mailer.as_ref().map(Mailer::description)
    }
}

/// An audit entry caused by a signed-in user; the caller adds what happened and, for
/// Partner Center calls, the `MS-RequestId` and `MS-CorrelationId`.
pub(crate) fn audit_of(user: &PartnerUser, action: &str, outcome: &str) -> AuditEntry {
    AuditEntry {
        tenant_id: user.tenant_id.clone(),
        actor_oid: Some(user.oid.clone()),
        actor_name: Some(user.name.clone()),
        action: action.to_string(),
        outcome: outcome.to_string(),
        ..Default::default()
    }
}
