//! Add customer: the checks Partner Center can answer before anything is stored (is the
//! domain free, is the reseller one of ours, is the address known), then the submission
//! (create the customer, then attest), and the invitation email for what was chosen.

use uuid::Uuid;

use super::delivery::{Attempt, Outcome};
use super::invitations::{InvitationSpec, MadeInvitation, values_for};
use super::submit::{AuditNote, Submitted};
use super::{WorkflowResult, Workflows};
use crate::domain::invitation::{self, InvitationKind};
use crate::domain::new_customer::{Address, DomainPrefix, FIELD_ORDER, NewCustomer};
use crate::domain::{Attester, CustomerSummary, FieldError, IdempotencyKey, PartnerUser, Request, UserTokens};
use crate::partner_center::{CreatedCustomer, SuggestedAddress};
use crate::store::Submission;

/// The form as parsed, and its domain prefix when that much is valid (so that a taken
/// domain is reported together with the other mistakes).
pub struct NewCustomerDraft {
    pub parsed: Result<NewCustomer, Vec<FieldError>>,
    pub prefix: Option<DomainPrefix>,
}

/// What Partner Center's address validation says of the typed address.
pub enum AddressReview {
    Verified,
    /// A near miss, with the address Partner Center suggests.
    Suggest {
        suggestion: SuggestedAddress,
        message: String,
    },
    /// Not found; the agent checks it or keeps it as typed.
    NotFound(String),
    /// Could not be asked now; Partner Center checks again when the customer is created.
    Unchecked(String),
}

/// What Next: Review comes to (made once per request: the size of its variants does not
/// matter).
#[allow(clippy::large_enum_variant)]
pub enum ReviewOutcome {
    /// The form has mistakes (some only Partner Center could tell).
    Invalid(Vec<FieldError>),
    /// Valid; the address, when it was checked (a typed address the agent chose to keep,
    /// or one taken from a suggestion, is not checked again), and the partner's customers
    /// that already have this company name (a warning, not a refusal: two organizations
    /// may share a name).
    Valid { customer: NewCustomer, address: Option<AddressReview>, same_name: Vec<CustomerSummary> },
}

/// Whether a domain prefix is free, in words.
pub enum DomainCheck {
    Available(String),
    Taken(String),
    Unknown(String),
}

/// What became of an Add customer submission. (Made once per request and matched at
/// once: the size of its variants does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum AddCustomerOutcome {
    /// This form was submitted before: what became of it. Nothing was sent again.
    AlreadySubmitted(Submission),
    /// The form has mistakes, some only Partner Center could tell (a taken domain).
    Invalid(Vec<FieldError>),
    /// Saved; Partner Center did not answer in time: it will be sent.
    Saved,
    /// Partner Center refused it before the customer existed.
    Refused(String),
    /// The attempt ended without creating the customer yet; it goes on in the background.
    NotCreatedYet { customer_id: Option<String> },
    /// Created in this attempt: the admin's sign-in details (shown once), what became of
    /// the attestation, and the invitation email when the customer must act.
    Created { created: CreatedCustomer, outcome: Outcome, invitation: Option<MadeInvitation> },
}

impl Workflows {
    /// The parsed form, or every mistake in it, including those only Partner Center can
    /// tell: a domain already taken, a reseller that is not one of ours.
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id), err(level = "warn"))]
    async fn check_new_customer(
        &self,
        who: &Attester,
        token: &str,
        draft: NewCustomerDraft,
    ) -> WorkflowResult<Result<NewCustomer, Vec<FieldError>>> {
        let mut errors = draft.parsed.as_ref().err().cloned().unwrap_or_default();
        if let Some(prefix) = &draft.prefix
            && let DomainCheck::Taken(message) = self.domain_check(token, prefix).await
        {
            errors.push(FieldError::new(DomainPrefix::FIELD, message));
        }
        if let Ok(c) = &draft.parsed
            && let Some(reseller) = &c.associated_partner_id
            && !self.resellers(who.user(), Some(token)).await.iter().any(|r| r.id == reseller.as_str())
        {
            errors.push(FieldError::new("associated_partner_id", "Choose one of your indirect resellers, or none."));
        }
        FieldError::sort_by_form(&mut errors, &FIELD_ORDER);
        Ok(match draft.parsed {
            Ok(c) if errors.is_empty() => Ok(c),
            _ => Err(errors),
        })
    }

    /// Whether `<prefix>.onmicrosoft.com` is free; a Partner Center that does not answer
    /// is no reason to stop (the create call checks again).
    #[tracing::instrument(skip_all, fields(prefix = %prefix.as_str()))]
    pub async fn domain_check(&self, token: &str, prefix: &DomainPrefix) -> DomainCheck {
        match self.pc.domain_available(token, &prefix.domain(), Uuid::new_v4()).await {
            Ok(true) => DomainCheck::Available(format!("{} is available.", prefix.domain())),
            Ok(false) => DomainCheck::Taken(format!("{} is taken. Choose another domain prefix.", prefix.domain())),
            Err(e) => DomainCheck::Unknown(format!(
                "The domain could not be checked now ({}); it is checked again when you continue.",
                e.user_message()
            )),
        }
    }

    /// Next: Review: the form's mistakes, or the new customer with what Partner Center
    /// says of its address (unless the agent already answered a suggestion).
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id), err(level = "warn"))]
    pub async fn review_new_customer(
        &self,
        who: &Attester,
        token: &str,
        draft: NewCustomerDraft,
        address_answered: bool,
    ) -> WorkflowResult<ReviewOutcome> {
        let customer = match self.check_new_customer(who, token, draft).await? {
            Ok(c) => c,
            Err(errors) => return Ok(ReviewOutcome::Invalid(errors)),
        };
        let address = match address_answered {
            true => None,
            false => Some(self.review_address(token, &customer.address).await),
        };
        let same_name = self.store.customers_named(&who.user().tenant_id, customer.company_name.as_str(), 5).await?;
        Ok(ReviewOutcome::Valid { customer, address, same_name })
    }

    /// Partner Center's address validation of the typed address.
    #[tracing::instrument(skip_all)]
    async fn review_address(&self, token: &str, address: &Address) -> AddressReview {
        match self.pc.validate_address(token, address, Uuid::new_v4()).await {
            Ok(check) if !check.suggestions.is_empty() => {
                tracing::debug!(status = %check.status, message = ?check.message, "address validation suggests");
                let message =
                    "Partner Center found the address with small differences and suggests the one below.".into();
                let suggestion = check.suggestions.into_iter().next().expect("not empty");
                AddressReview::Suggest { suggestion, message }
            }
            Ok(check) if !check.verified() => {
                tracing::debug!(status = %check.status, message = ?check.message, "address validation did not verify");
                AddressReview::NotFound(address_sentence(&check.status).into())
            }
            Ok(_) => AddressReview::Verified,
            Err(e) => AddressReview::Unchecked(format!(
                "The address could not be checked now ({}); Partner Center checks it when the customer is created.",
                e.user_message()
            )),
        }
    }

    /// Checks the form again, stores the new customer, then creates it (and attests).
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id), err(level = "warn"))]
    pub async fn add_customer(
        &self,
        who: &Attester,
        tokens: &UserTokens,
        draft: NewCustomerDraft,
        key: &IdempotencyKey,
    ) -> WorkflowResult<AddCustomerOutcome> {
        let user = who.user();
        if let Some(existing) = self.submission_by_key(user, key).await? {
            return Ok(AddCustomerOutcome::AlreadySubmitted(existing));
        }
        let customer = match self.check_new_customer(who, &tokens.access_token, draft).await? {
            Ok(c) => c,
            Err(errors) => return Ok(AddCustomerOutcome::Invalid(errors)),
        };
        let note =
            AuditNote { action: "create_customer_submitted", customer_id: None, detail: audit_detail(&customer) };
        let request = Request::CreateCustomer(Box::new(customer));
        match self.submit(user, tokens, key, None, &request, note).await? {
            Submitted::Already(s) => Ok(AddCustomerOutcome::AlreadySubmitted(s)),
            Submitted::Stored { attempt: None, .. } => Ok(AddCustomerOutcome::Saved),
            Submitted::Stored { submission, attempt: Some(attempt) } => {
                self.after_first_attempt(user, &request, &submission.id, attempt).await
            }
        }
    }

    /// The outcome of the first attempt, with the invitation for a customer just created.
    pub(super) async fn after_first_attempt(
        &self,
        user: &PartnerUser,
        request: &Request,
        submission_id: &str,
        attempt: Attempt,
    ) -> WorkflowResult<AddCustomerOutcome> {
        let Some(created) = attempt.created else {
            return Ok(match attempt.outcome {
                Outcome::Failed { reason, .. } => AddCustomerOutcome::Refused(reason),
                _ => AddCustomerOutcome::NotCreatedYet { customer_id: attempt.customer_id },
            });
        };
        let customer = request.new_customer().expect("an Add customer submission");
        let invitation = match invitation_for(user, customer, &created, &attempt.outcome, submission_id) {
            Some(spec) => {
                use secrecy::ExposeSecret;
                Some(self.make_invitation(user, spec, Some(created.password.expose_secret())).await?)
            }
            None => None,
        };
        Ok(AddCustomerOutcome::Created { created, outcome: attempt.outcome, invitation })
    }
}

/// What the audit log says of a new customer submitted.
fn audit_detail(c: &NewCustomer) -> String {
    let how = match c.agreement.date() {
        None => "to accept in the Microsoft 365 admin center".to_string(),
        Some(d) => format!("attested, agreement acceptance date {}", d.date()),
    };
    format!("{} ({}); {how}", c.company_name.as_str(), c.domain_prefix.domain())
}

/// The email the customer needs: for the admin-center choice, where to accept and how to
/// sign in (with the temporary password, on screen only); for an enhanced attestation
/// waiting for them, the acceptance link.
fn invitation_for(
    user: &PartnerUser,
    c: &NewCustomer,
    created: &CreatedCustomer,
    outcome: &Outcome,
    submission_id: &str,
) -> Option<InvitationSpec> {
    use secrecy::ExposeSecret;
    let contact = &c.contact;
    let (kind, link) = match (c.attests(), outcome) {
        (false, _) => (InvitationKind::AdminCenter, invitation::ADMIN_CENTER_AGREEMENT_LINK.to_string()),
        (true, Outcome::Waiting { link, .. }) => (InvitationKind::AcceptanceLink, link.clone()),
        (true, _) => return None,
    };
    let company = c.company_name.as_str();
    let mut values = values_for(user, company, contact.first_name.as_str(), contact.last_name.as_str(), &link);
    if kind == InvitationKind::AdminCenter {
        values.sign_in = invitation::sign_in_line(Some(&created.user_name), Some(created.password.expose_secret()));
    }
    Some(InvitationSpec {
        kind,
        customer_id: Some(created.customer.id.clone()),
        company_name: company.to_string(),
        to: contact.email.as_str().to_string(),
        values,
        language: c.culture.language().to_string(),
        submission_id: (kind == InvitationKind::AcceptanceLink).then(|| submission_id.to_string()),
        with_partner: None,
        reseller_id: None,
    })
}

/// What the agent reads of an address Partner Center did not verify, by its status
/// (docs/partner-center.md, "Address validation"); Partner Center's own message is logged.
fn address_sentence(status: &str) -> &'static str {
    match status {
        "StreetPartial" => "Partner Center found the street but not the house or building number.",
        "PremisesPartial" => "Partner Center found the building but not the whole address (a suite or unit, perhaps).",
        "Multiple" => "Partner Center found several addresses that match this one.",
        "InteractionRequired" => "Partner Center could not confirm this address as typed.",
        _ => "Partner Center could not find this address.",
    }
}
