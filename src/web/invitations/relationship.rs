//! New relationship, from the Customers page: who the invitation is for, and (for an
//! indirect provider or reseller) which partner it is made together with; then the
//! invitation's page with Partner Center's link.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::{NOT_AN_INVITER, inviter};
use crate::domain::FieldError;
use crate::domain::new_customer::CULTURES;
use crate::web::AppState;
use crate::web::errors::{AppError, html, redirect};
use crate::web::extractors::{Agent, Signed};
use crate::web::pages::Layout;
use crate::web::session;
use crate::workflows::{PartnerChoice, RelatedPartner, RelationshipDraft, RelationshipRefusal};

#[derive(Deserialize, Default)]
struct RelationshipForm {
    #[serde(default)]
    company_name: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    partner_id: String,
}

#[derive(Template)]
#[template(path = "new_relationship.html")]
struct RelationshipPage {
    layout: Layout,
    form: RelationshipForm,
    /// "reseller", "provider" or "" (a direct-bill partner picks no one).
    picks: &'static str,
    partners: Vec<RelatedPartner>,
    languages: Vec<(&'static str, &'static str)>,
    errors: Vec<FieldError>,
    refused: Option<String>,
    again: &'static str,
}

impl RelationshipPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

/// The languages the invitation may be written in: one per language the forms offer.
fn languages() -> Vec<(&'static str, &'static str)> {
    let mut seen = Vec::new();
    for (_, code, name) in CULTURES {
        if !seen.iter().any(|(c, _)| *c == code) {
            seen.push((code, name.split(" (").next().unwrap_or(name)));
        }
    }
    seen
}

fn form_page(
    signed: &Signed,
    form: RelationshipForm,
    choice: PartnerChoice,
    errors: Vec<FieldError>,
    refused: Option<String>,
) -> HttpResponse {
    let (picks, partners) = match choice {
        PartnerChoice::None => ("", Vec::new()),
        PartnerChoice::Resellers(r) => ("reseller", r),
        PartnerChoice::Providers(p) => ("provider", p),
    };
    let status = if errors.is_empty() && refused.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = RelationshipPage {
        layout: signed.layout("New relationship"),
        form,
        picks,
        partners,
        languages: languages(),
        errors,
        refused,
        again: "Write the invitation",
    };
    html(status, page.render())
}

#[get("/invitations/new-relationship")]
async fn new_relationship(state: web::Data<AppState>, agent: Agent) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    // The customers already there are known before the invitation is made: only a
    // customer that appears later can accept it (docs/invitations.md).
    session::read_if_never_read(&state, &signed).await?;
    let token = session::access_token(&state, &signed).await?;
    let choice = state.workflows.relationship_partners(&signed.user, &token).await?;
    let form = RelationshipForm { language: "en".into(), ..RelationshipForm::default() };
    Ok(form_page(&signed, form, choice, Vec::new(), None))
}

#[post("/invitations/new-relationship")]
async fn make_relationship(
    state: web::Data<AppState>,
    agent: Agent,
    form: web::Form<RelationshipForm>,
) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    session::read_if_never_read(&state, &signed).await?;
    let form = form.into_inner();
    let token = session::access_token(&state, &signed).await?;
    let draft = RelationshipDraft {
        company_name: form.company_name.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        email: form.email.clone(),
        language: form.language.clone(),
        partner_id: form.partner_id.clone(),
    };
    let (errors, refused) = match state.workflows.invite_to_relationship(&signed.user, &token, &draft).await? {
        Ok(made) => return Ok(redirect(&format!("/invitations/{}", made.record.invitation.id))),
        Err(RelationshipRefusal::NotAllowed) => return Err(AppError::Forbidden(NOT_AN_INVITER.into())),
        Err(RelationshipRefusal::Invalid(errors)) => (errors, None),
        Err(RelationshipRefusal::Upstream(why)) => {
            (Vec::new(), Some(format!("Partner Center did not give the invitation link: {why}")))
        }
    };
    let choice = state.workflows.relationship_partners(&signed.user, &token).await?;
    Ok(form_page(&signed, form, choice, errors, refused))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(new_relationship).service(make_relationship);
}
