//! New relationship: an invitation to a reseller relationship together with the MCA, at
//! the link Partner Center's relationship-request call gives (docs/invitations.md). An
//! indirect provider may make it for one of its indirect resellers, an indirect reseller
//! together with one of its indirect providers; the link is never built here.

use uuid::Uuid;

use super::invitations::{InvitationSpec, MadeInvitation, values_for};
use super::{WorkflowResult, Workflows};
use crate::domain::invitation::{self, InvitationKind};
use crate::domain::{FieldError, PartnerType, PartnerUser, rules};
use crate::partner_center::{RelatedPartner, RelationshipFor};

/// The New relationship form as typed.
#[derive(Debug, Clone, Default)]
pub struct RelationshipDraft {
    pub company_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub language: String,
    /// The indirect reseller (for a provider) or indirect provider (for a reseller) picked.
    pub partner_id: String,
}

/// Why a New relationship could not be made.
#[derive(Debug)]
pub enum RelationshipRefusal {
    NotAllowed,
    /// Mistakes in the form, one per field.
    Invalid(Vec<FieldError>),
    /// Partner Center gave no link: the portal's sentence.
    Upstream(String),
}

/// Which other partners the form offers: none for a direct-bill partner.
pub enum PartnerChoice {
    None,
    Resellers(Vec<RelatedPartner>),
    Providers(Vec<RelatedPartner>),
}

/// The form's own rules: company, contact and recipient.
fn check_draft(d: &RelationshipDraft) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Err(e) = rules::bounded("company name", d.company_name.trim(), 1, 100) {
        errors.push(FieldError::new("company_name", rules::message_of(&e)));
    }
    for (field, label, text) in [("first_name", "first name", &d.first_name), ("last_name", "last name", &d.last_name)]
    {
        if let Err(e) = rules::person_name(label, text.trim()) {
            errors.push(FieldError::new(field, rules::message_of(&e)));
        }
    }
    if let Err(e) = rules::email_address(d.email.trim()) {
        errors.push(FieldError::new("email", rules::message_of(&e)));
    }
    errors
}

impl Workflows {
    /// The resellers or providers a New relationship may be made together with.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id))]
    pub async fn relationship_partners(&self, user: &PartnerUser, token: &str) -> WorkflowResult<PartnerChoice> {
        Ok(match user.partner_type {
            PartnerType::IndirectProvider => PartnerChoice::Resellers(self.resellers(user, Some(token)).await),
            PartnerType::IndirectReseller => {
                PartnerChoice::Providers(self.pc.indirect_providers(token, Uuid::new_v4()).await?)
            }
            PartnerType::DirectBill => PartnerChoice::None,
        })
    }

    /// What the call is asked for, from the partner picked; an id not offered is refused.
    /// A provider may leave the reseller out (its own relationship); a reseller must pick
    /// the provider it works with for the customer.
    fn relationship_for<'a>(
        choice: &'a PartnerChoice,
        picked: &str,
    ) -> Result<(RelationshipFor, Option<&'a RelatedPartner>), FieldError> {
        match choice {
            PartnerChoice::None => Ok((RelationshipFor::Own, None)),
            PartnerChoice::Resellers(_) if picked.is_empty() => Ok((RelationshipFor::Own, None)),
            PartnerChoice::Resellers(list) => match list.iter().find(|p| p.id == picked) {
                Some(p) => Ok((RelationshipFor::ForIndirectReseller(p.id.clone()), Some(p))),
                None => Err(FieldError::new("partner_id", "Choose one of your indirect resellers from the list.")),
            },
            PartnerChoice::Providers(list) => match list.iter().find(|p| p.id == picked) {
                Some(p) => Ok((RelationshipFor::WithIndirectProvider(p.id.clone()), Some(p))),
                None => {
                    Err(FieldError::new("partner_id", "Choose the indirect provider you work with for this customer."))
                }
            },
        }
    }

    /// Asks Partner Center for the relationship link and makes the invitation with it.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id), err(level = "warn"))]
    pub async fn invite_to_relationship(
        &self,
        user: &PartnerUser,
        token: &str,
        draft: &RelationshipDraft,
    ) -> WorkflowResult<Result<MadeInvitation, RelationshipRefusal>> {
        if !user.permissions().can_invite {
            return Ok(Err(RelationshipRefusal::NotAllowed));
        }
        let choice = self.relationship_partners(user, token).await?;
        let mut errors = check_draft(draft);
        let picked = Self::relationship_for(&choice, draft.partner_id.trim());
        let (asked, partner) = match picked {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                (RelationshipFor::Own, None)
            }
        };
        if !errors.is_empty() {
            return Ok(Err(RelationshipRefusal::Invalid(errors)));
        }
        let link = match self.pc.relationship_request(token, &asked, Uuid::new_v4()).await {
            Ok(link) => link,
            Err(e) => return Ok(Err(RelationshipRefusal::Upstream(e.user_message()))),
        };
        let company = draft.company_name.trim().to_string();
        let mut values = values_for(user, &company, &draft.first_name, &draft.last_name, &link);
        let name = partner.map(|p| p.name.as_str());
        values.with_partner = match asked {
            RelationshipFor::ForIndirectReseller(_) => invitation::with_partner(name, None),
            RelationshipFor::WithIndirectProvider(_) => invitation::with_partner(None, name),
            RelationshipFor::Own => String::new(),
        };
        let spec = InvitationSpec {
            kind: InvitationKind::Relationship,
            customer_id: None,
            company_name: company,
            to: draft.email.trim().to_string(),
            values,
            language: invitation::language_of(Some(&draft.language)),
            submission_id: None,
            with_partner: partner.map(|p| (p.id.clone(), p.name.clone())),
            reseller_id: match &asked {
                RelationshipFor::ForIndirectReseller(r) => Some(r.clone()),
                RelationshipFor::WithIndirectProvider(_) => Some(user.tenant_id.clone()),
                RelationshipFor::Own => None,
            },
        };
        Ok(Ok(self.make_invitation(user, spec, None).await?))
    }
}
