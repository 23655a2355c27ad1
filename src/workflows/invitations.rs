//! Invitation emails: written from the partner's wording (or the built-in one), kept with
//! what the agent does with them, and marked accepted when the customer accepts
//! (docs/invitations.md). Admin and Sales agents create them, also an indirect reseller's;
//! everyone with an agent role reads them.

use chrono::Utc;

use super::{WorkflowResult, Workflows, audit_of};
use crate::domain::invitation::{self, Invitation, InvitationKind, Values, Wording};
use crate::domain::{Attester, PartnerUser};
use crate::mail::OutgoingEmail;
use crate::store::{
    AuditEntry, CustomerRecord, InvitationAction, InvitationFilter, InvitationRecord, NewInvitation, SubmissionState,
};

/// What an invitation is made from, beside the wording.
pub(crate) struct InvitationSpec {
    pub kind: InvitationKind,
    pub customer_id: Option<String>,
    pub company_name: String,
    pub to: String,
    pub values: Values,
    pub language: String,
    pub submission_id: Option<String>,
    pub with_partner: Option<(String, String)>,
    /// Relationship kind: the indirect reseller the new customer will be associated with.
    pub reseller_id: Option<String>,
}

/// An invitation just made: the record kept, and the email as shown on screen (which,
/// only on Add customer's confirmation, carries the temporary password).
#[derive(Debug, Clone)]
pub struct MadeInvitation {
    pub record: InvitationRecord,
    pub on_screen: Invitation,
}

/// Why an invitation can't be made for a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteRefusal {
    NotAllowed,
    NoSuchCustomer,
    AlreadyAccepted,
    /// The customer has no enhanced attestation waiting for its acceptance.
    NoAcceptanceLink,
}

impl InviteRefusal {
    pub fn message(&self) -> &'static str {
        match self {
            InviteRefusal::NotAllowed => "Only Admin agents and Sales agents create invitations.",
            InviteRefusal::NoSuchCustomer => "This customer is not among your customers.",
            InviteRefusal::AlreadyAccepted => {
                "This customer has accepted the Microsoft Customer Agreement directly; no invitation is needed."
            }
            InviteRefusal::NoAcceptanceLink => {
                "This customer has no attestation waiting for its acceptance; the link may have been accepted or replaced. Reload the customer's page."
            }
        }
    }
}

/// The contact an invitation to an existing customer is addressed to: the billing
/// profile's, else the latest partner attestation's.
fn contact_of(record: &CustomerRecord) -> (String, String, String) {
    let billing = record.customer.billing.as_ref();
    let email = billing.and_then(|b| b.email.clone()).filter(|e| !e.is_empty());
    match (email, record.attestations.last()) {
        (Some(email), _) => {
            let first = billing.and_then(|b| b.first_name.clone()).unwrap_or_default();
            let last = billing.and_then(|b| b.last_name.clone()).unwrap_or_default();
            (first, last, email)
        }
        (None, Some(a)) => (a.first_name.clone(), a.last_name.clone(), a.email.clone()),
        (None, None) => (String::new(), String::new(), String::new()),
    }
}

/// The placeholders' values every kind shares.
pub(crate) fn values_for(user: &PartnerUser, company: &str, first: &str, last: &str, link: &str) -> Values {
    Values {
        partner_name: user.partner_name.clone(),
        agent_name: user.name.clone(),
        company_name: company.to_string(),
        contact_first_name: if first.trim().is_empty() { "there".into() } else { first.trim().to_string() },
        contact_name: format!("{} {}", first.trim(), last.trim()).trim().to_string(),
        link: link.to_string(),
        ..Values::default()
    }
}

impl Workflows {
    /// The wording a customer of this language gets: the partner's own in that language,
    /// else the partner's own in English, else the built-in one.
    #[tracing::instrument(skip_all, fields(%tenant_id, kind = kind.as_str(), %language), err(level = "warn"))]
    pub async fn wording_for(&self, tenant_id: &str, kind: InvitationKind, language: &str) -> WorkflowResult<Wording> {
        for lang in [language, invitation::DEFAULT_LANGUAGE] {
            if let Some(t) = self.store.invitation_template(tenant_id, kind, lang).await? {
                return Ok(t.wording);
            }
        }
        Ok(invitation::default_wording(kind))
    }

    /// Writes the email, keeps it (without a password) and audits that it was made.
    pub(crate) async fn make_invitation(
        &self,
        user: &PartnerUser,
        spec: InvitationSpec,
        password: Option<&str>,
    ) -> WorkflowResult<MadeInvitation> {
        let wording = self.wording_for(&user.tenant_id, spec.kind, &spec.language).await?;
        let on_screen = invitation::compose(&wording, &spec.values, &spec.to);
        let kept = on_screen.without_password(password);
        let (with_partner_id, with_partner_name) = spec.with_partner.clone().unzip();
        let new = NewInvitation {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: user.tenant_id.clone(),
            kind: spec.kind,
            customer_id: spec.customer_id.clone(),
            company_name: spec.company_name.clone(),
            recipient: kept.to.clone(),
            link: spec.values.link.clone(),
            subject: kept.subject.clone(),
            body: kept.body.clone(),
            language: spec.language.clone(),
            submission_id: spec.submission_id.clone(),
            with_partner_id,
            with_partner_name,
            reseller_id: spec.reseller_id.clone(),
            created_by_oid: user.oid.clone(),
            created_by_name: user.name.clone(),
        };
        self.store.invitation_insert(&new, Utc::now()).await?;
        let detail = format!("{} for {} to {}: {}", spec.kind.title(), spec.company_name, kept.to, spec.values.link);
        let entry = AuditEntry {
            customer_id: spec.customer_id,
            detail: Some(detail),
            ..audit_of(user, "invitation_created", "ok")
        };
        self.store.audit(&entry).await?;
        let record = self.store.invitation_get(&user.tenant_id, &new.id).await?.expect("the invitation just stored");
        Ok(MadeInvitation { record, on_screen })
    }

    /// "Invite to accept the MCA": an admin-center invitation for a customer who has not
    /// accepted directly.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %customer_id), err(level = "warn"))]
    pub async fn invite_to_accept(
        &self,
        user: &PartnerUser,
        customer_id: &str,
    ) -> WorkflowResult<Result<MadeInvitation, InviteRefusal>> {
        if !user.permissions().can_invite {
            return Ok(Err(InviteRefusal::NotAllowed));
        }
        let Some(record) = self.store.customer_get(&user.tenant_id, customer_id).await? else {
            return Ok(Err(InviteRefusal::NoSuchCustomer));
        };
        if record.accepted_directly == Some(true) {
            return Ok(Err(InviteRefusal::AlreadyAccepted));
        }
        let (first, last, email) = contact_of(&record);
        let company = record.customer.company_name.clone();
        let mut values = values_for(user, &company, &first, &last, invitation::ADMIN_CENTER_AGREEMENT_LINK);
        values.sign_in = invitation::sign_in_line(None, None);
        let billing = record.customer.billing.as_ref();
        let language = billing.and_then(|b| b.language.clone().or_else(|| b.culture.clone()));
        let spec = InvitationSpec {
            kind: InvitationKind::AdminCenter,
            customer_id: Some(record.customer.id.clone()),
            company_name: company,
            to: email,
            values,
            language: invitation::language_of(language.as_deref()),
            submission_id: None,
            with_partner: None,
            reseller_id: None,
        };
        Ok(Ok(self.make_invitation(user, spec, None).await?))
    }

    /// The email with an enhanced attestation's acceptance link, for its signatory. Only
    /// attesters see acceptance links.
    #[tracing::instrument(skip_all, fields(tenant_id = %who.user().tenant_id, %customer_id), err(level = "warn"))]
    pub async fn invite_at_acceptance_link(
        &self,
        who: &Attester,
        customer_id: &str,
        submission_id: &str,
    ) -> WorkflowResult<Result<MadeInvitation, InviteRefusal>> {
        let user = who.user();
        let Some(record) = self.store.customer_get(&user.tenant_id, customer_id).await? else {
            return Ok(Err(InviteRefusal::NoSuchCustomer));
        };
        let submission = self.store.submission_get(&user.tenant_id, submission_id).await?;
        let waiting = submission.filter(|s| {
            s.customer_id.as_deref() == Some(customer_id)
                && s.state == SubmissionState::Queued
                && s.acceptance_link.is_some()
        });
        let Some(s) = waiting else { return Ok(Err(InviteRefusal::NoAcceptanceLink)) };
        let c = s.request.contact();
        let link = s.acceptance_link.clone().unwrap_or_default();
        let company = record.customer.company_name.clone();
        let billing = record.customer.billing.as_ref();
        let language = billing.and_then(|b| b.language.clone().or_else(|| b.culture.clone()));
        let spec = InvitationSpec {
            kind: InvitationKind::AcceptanceLink,
            customer_id: Some(record.customer.id.clone()),
            company_name: company.clone(),
            to: c.email.as_str().to_string(),
            values: values_for(user, &company, c.first_name.as_str(), c.last_name.as_str(), &link),
            language: invitation::language_of(language.as_deref()),
            submission_id: Some(s.id.clone()),
            with_partner: None,
            reseller_id: None,
        };
        Ok(Ok(self.make_invitation(user, spec, None).await?))
    }

    /// One invitation of the user's partner.
    pub async fn invitation(&self, user: &PartnerUser, id: &str) -> WorkflowResult<Option<InvitationRecord>> {
        Ok(self.store.invitation_get(&user.tenant_id, id).await?)
    }

    /// Keeps the text the agent has on the page (never a password they were shown) and,
    /// when given, what they did with it. False when there is no such invitation.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %id), err(level = "warn"))]
    pub async fn use_invitation(
        &self,
        user: &PartnerUser,
        id: &str,
        text: &Invitation,
        action: Option<InvitationAction>,
        password: Option<&str>,
    ) -> WorkflowResult<bool> {
        if !user.permissions().can_invite {
            return Ok(false);
        }
        let kept = text.without_password(password);
        let found =
            self.store.invitation_update_text(&user.tenant_id, id, (&kept.to, &kept.subject, &kept.body)).await?;
        if let (true, Some(action)) = (found, action) {
            self.store.invitation_mark(&user.tenant_id, id, action, Utc::now()).await?;
        }
        Ok(found)
    }

    /// Records that the email was copied or opened in the mail program, with the text the
    /// page had then when it sent it (never a password). False when there is no such
    /// invitation.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %id), err(level = "warn"))]
    pub async fn record_invitation_use(
        &self,
        user: &PartnerUser,
        id: &str,
        text: Option<&Invitation>,
        action: InvitationAction,
        password: Option<&str>,
    ) -> WorkflowResult<bool> {
        if let Some(text) = text {
            return self.use_invitation(user, id, text, Some(action), password).await;
        }
        if !user.permissions().can_invite || self.store.invitation_get(&user.tenant_id, id).await?.is_none() {
            return Ok(false);
        }
        self.store.invitation_mark(&user.tenant_id, id, action, Utc::now()).await?;
        Ok(true)
    }

    /// Changes the free reference note of an invitation.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %id), err(level = "warn"))]
    pub async fn set_invitation_note(&self, user: &PartnerUser, id: &str, note: &str) -> WorkflowResult<bool> {
        if !user.permissions().can_invite {
            return Ok(false);
        }
        Ok(self.store.invitation_note_set(&user.tenant_id, id, note.trim()).await?)
    }

    /// One page of the partner's invitations, newest first, with who created any.
    pub async fn invitations_page(
        &self,
        user: &PartnerUser,
        filter: &InvitationFilter,
        after: Option<(chrono::DateTime<Utc>, String)>,
        limit: i64,
    ) -> WorkflowResult<(Vec<InvitationRecord>, Vec<(String, String)>)> {
        let page = self.store.invitations_page(&user.tenant_id, filter, after, limit).await?;
        let creators = self.store.invitation_creators(&user.tenant_id).await?;
        Ok((page, creators))
    }

    /// The customer's newest invitation, for its page.
    pub async fn latest_invitation(
        &self,
        user: &PartnerUser,
        customer_id: &str,
    ) -> WorkflowResult<Option<InvitationRecord>> {
        Ok(self.store.invitation_latest_for(&user.tenant_id, customer_id).await?)
    }
}

/// Why Send did not deliver an invitation; the text stays as the agent had it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendRefusal {
    NotAllowed,
    NotFound,
    /// SMTP is not configured.
    NoMailer,
    /// The recipient is not an email address, or the link is gone: the sentence.
    Invalid(String),
    /// The mail server did not take it: the portal's sentence, and whether trying
    /// again later may work.
    Failed {
        message: String,
        retryable: bool,
    },
}

impl Workflows {
    /// Keeps the text, then sends it through SMTP from the agent (or the configured
    /// sender, the agent as Reply-To). A new customer's temporary password is never sent
    /// by email: the placeholder goes in its place (docs/invitations.md).
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id, %id), err(level = "warn"))]
    pub async fn send_invitation(
        &self,
        user: &PartnerUser,
        id: &str,
        text: &Invitation,
        password: Option<&str>,
    ) -> WorkflowResult<Result<(), SendRefusal>> {
        let Some(mailer) = &self.mailer else { return Ok(Err(SendRefusal::NoMailer)) };
        if !user.permissions().can_invite {
            return Ok(Err(SendRefusal::NotAllowed));
        }
        let Some(record) = self.store.invitation_get(&user.tenant_id, id).await? else {
            return Ok(Err(SendRefusal::NotFound));
        };
        if let Some(why) = send_problem(text, &record.invitation.link) {
            return Ok(Err(SendRefusal::Invalid(why)));
        }
        let kept = text.without_password(password);
        self.store.invitation_update_text(&user.tenant_id, id, (&kept.to, &kept.subject, &kept.body)).await?;
        let email = OutgoingEmail {
            to: kept.to.clone(),
            subject: kept.subject.clone(),
            body: kept.body.clone(),
            agent_name: user.name.clone(),
            agent_email: user.email.clone(),
        };
        let sent = mailer.send(&email).await;
        let outcome = if sent.is_ok() { "sent" } else { "failed" };
        let entry = AuditEntry {
            customer_id: record.invitation.customer_id.clone(),
            detail: Some(format!("{} to {}", record.invitation.kind.title(), kept.to)),
            ..audit_of(user, "invitation_sent", outcome)
        };
        self.store.audit(&entry).await?;
        match sent {
            Ok(()) => {
                self.store.invitation_mark(&user.tenant_id, id, InvitationAction::Sent, Utc::now()).await?;
                Ok(Ok(()))
            }
            Err(e) => {
                let message = e.user_message();
                self.store.invitation_send_failed(&user.tenant_id, id, &message).await?;
                Ok(Err(SendRefusal::Failed { message, retryable: e.retryable() }))
            }
        }
    }
}

/// What must be right before an email is sent: a recipient address, and the link.
fn send_problem(text: &Invitation, link: &str) -> Option<String> {
    if crate::domain::rules::email_address(text.to.trim()).is_err() {
        return Some(
            "Enter the email address of the person the invitation is for in To, like name@example.com.".into(),
        );
    }
    text.lacks_link(link).then(|| {
        format!("The link the customer needs is no longer in the text: put it back before you send the email ({link}).")
    })
}
