//! Invitation emails: made from a customer's page (or Add customer's confirmation, or
//! New relationship), edited, copied, opened in the mail program or sent, and listed
//! with their state and reference note (docs/invitations.md).

pub mod pages;
mod relationship;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, html, page, redirect};
use super::extractors::{Agent, Signed};
use super::session;
use crate::domain::invitation::{Invitation, InvitationKind};
use crate::domain::is_customer_id;
use crate::store::{InvitationAction, InvitationFilter, InvitationRecord, InvitationStateFilter};
use crate::workflows::{InviteRefusal, SendRefusal};
use actix_web::http::StatusCode;
use askama::Template;
pub use pages::InvitationEditor;
use pages::{Choice, InvitationPage, InvitationRow, InvitationsPage, state_of};

/// How many invitations a page of the list shows.
const PAGE_SIZE: i64 = 50;

pub(crate) const NOT_AN_INVITER: &str =
    "Only Admin agents and Sales agents create and change invitations; Helpdesk agents can read them.";

/// Refuses, on the server, anyone who may not create or change invitations.
fn inviter(Agent(signed): Agent) -> Result<Signed, AppError> {
    if signed.user.permissions().can_invite { Ok(signed) } else { Err(AppError::Forbidden(NOT_AN_INVITER.into())) }
}

/// The editor of a stored invitation, as the signed-in user may use it.
pub fn editor_of(state: &AppState, signed: &Signed, r: &InvitationRecord) -> InvitationEditor {
    let i = &r.invitation;
    let email = Invitation { to: i.recipient.clone(), subject: i.subject.clone(), body: i.body.clone() };
    let can_edit = signed.user.permissions().can_invite;
    let mut ed = InvitationEditor::of(&i.id, &i.link, &email, can_edit, can_edit && state.workflows.can_send_email());
    ed.problem = r.send_failure.clone().map(|why| format!("The last try to send this email did not work: {why}"));
    ed
}

fn invitation_page(signed: &Signed, record: InvitationRecord, ed: InvitationEditor) -> HttpResponse {
    let kept_note = record.reference_note.clone();
    invitation_page_with_note(signed, record, ed, (kept_note, None))
}

/// The page with the reference note as typed and why it was refused, if it was: a
/// refused form answers 422.
fn invitation_page_with_note(
    signed: &Signed,
    record: InvitationRecord,
    ed: InvitationEditor,
    (note_text, note_error): (String, Option<String>),
) -> HttpResponse {
    let (state_key, state) = state_of(&record);
    let refused = note_error.is_some() || ed.to_error.is_some();
    let view = InvitationPage {
        layout: signed.layout(&format!("Invitation for {}", record.invitation.company_name)),
        kind_title: record.invitation.kind.title(),
        state_key,
        state,
        ed,
        created: record.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        record,
        note_text,
        note_error,
    };
    if refused { html(StatusCode::UNPROCESSABLE_ENTITY, view.render()) } else { page(&view) }
}

/// The editor with the text as the agent posted it (and the confirmation's password).
fn editor_as_typed(state: &AppState, record: &InvitationRecord, form: &TextForm) -> InvitationEditor {
    let i = &record.invitation;
    let mut ed = InvitationEditor::of(&i.id, &i.link, &form.email(), true, state.workflows.can_send_email());
    ed.password = form.temporary_password.clone();
    ed
}

/// The page again after Save or Send on Add customer's confirmation: the text as typed,
/// with the temporary password that is shown nowhere else (and never stored).
fn page_keeping_password(
    signed: &Signed,
    state: &AppState,
    record: InvitationRecord,
    form: &TextForm,
    notice: String,
) -> HttpResponse {
    let mut ed = editor_as_typed(state, &record, form);
    ed.notice = Some(notice);
    invitation_page(signed, record, ed)
}

async fn found(state: &AppState, signed: &Signed, id: &str) -> Result<InvitationRecord, AppError> {
    state.workflows.invitation(&signed.user, id).await?.ok_or(AppError::NotFound)
}

#[get("/invitations/{id}")]
async fn show(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let record = found(&state, &signed, &id).await?;
    let ed = editor_of(&state, &signed, &record);
    Ok(invitation_page(&signed, record, ed))
}

#[derive(Deserialize)]
struct MakeForm {
    kind: String,
    submission: Option<String>,
}

/// "Invite to accept the MCA" and "Write the email with this link" on a customer's page.
#[post("/customers/{id}/invitations")]
async fn make(
    state: web::Data<AppState>,
    agent: Agent,
    id: web::Path<String>,
    form: web::Form<MakeForm>,
) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    if !is_customer_id(&id) {
        return Err(AppError::NotFound);
    }
    let made = match (InvitationKind::parse(&form.kind), form.submission.as_deref()) {
        (Some(InvitationKind::AdminCenter), _) => state.workflows.invite_to_accept(&signed.user, &id).await?,
        (Some(InvitationKind::AcceptanceLink), Some(submission)) => {
            let proof = signed
                .user
                .attester()
                .map_err(|r| AppError::Forbidden(r.message(signed.user.provider_name.as_deref())))?;
            state.workflows.invite_at_acceptance_link(&proof, &id, submission).await?
        }
        _ => return Err(AppError::BadRequest("Choose which invitation to write.".into())),
    };
    match made {
        Ok(m) => Ok(redirect(&format!("/invitations/{}", m.record.invitation.id))),
        Err(InviteRefusal::NoSuchCustomer) => Err(AppError::NotFound),
        Err(InviteRefusal::NotAllowed) => Err(AppError::Forbidden(NOT_AN_INVITER.into())),
        Err(refusal) => {
            session::set_flash(&signed.session, refusal.message());
            Ok(redirect(&format!("/customers/{id}")))
        }
    }
}

/// The email as the agent has it on the page.
#[derive(Deserialize)]
struct TextForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    /// Only from Add customer's confirmation: the password shown there, never stored.
    temporary_password: Option<String>,
}

/// The email as typed: line breaks as `\n` (browsers send `\r\n` from a text box), the
/// subject on one line.
fn typed_email(to: &str, subject: &str, body: &str) -> Invitation {
    Invitation {
        to: to.trim().to_string(),
        subject: subject.replace(['\r', '\n'], " ").trim().to_string(),
        body: body.replace("\r\n", "\n"),
    }
}

impl TextForm {
    fn email(&self) -> Invitation {
        typed_email(&self.to, &self.subject, &self.body)
    }

    /// The temporary password the confirmation page carries, when there is one.
    fn password(&self) -> Option<&str> {
        self.temporary_password.as_deref().filter(|p| !p.is_empty())
    }

    /// A recipient that is empty or an email address; else the sentence that says so.
    fn recipient_problem(&self) -> Option<String> {
        let to = self.to.trim();
        (!to.is_empty() && crate::domain::rules::email_address(to).is_err())
            .then(|| format!("\"{to}\" is not an email address. Enter the address of the person the email is for, like name@example.com."))
    }
}

/// Save changes: keeps the text and shows it again, with any warning.
#[post("/invitations/{id}/save")]
async fn save(
    state: web::Data<AppState>,
    agent: Agent,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    let record = found(&state, &signed, &id).await?;
    let email = form.email();
    if let Some(problem) = form.recipient_problem() {
        return Ok(refused_recipient(&signed, &state, record, &form, problem));
    }
    let pw = form.password();
    state.workflows.use_invitation(&signed.user, &id, &email, None, pw).await?;
    let missing = email.lacks_link(&record.invitation.link);
    let saved = if missing {
        "Saved. The link is no longer in the text: put it back before you send the email."
    } else {
        "Saved."
    };
    if let Some(pw) = pw {
        let notice = format!(
            "{saved} The temporary password ({pw}) is shown on this page only and is not kept: note it before you leave."
        );
        return Ok(page_keeping_password(&signed, &state, record, &form, notice));
    }
    session::set_flash(&signed.session, saved);
    Ok(redirect(&format!("/invitations/{id}")))
}

/// The page again with the text as typed and the recipient marked as refused.
fn refused_recipient(
    signed: &Signed,
    state: &AppState,
    record: InvitationRecord,
    form: &TextForm,
    problem: String,
) -> HttpResponse {
    let mut ed = editor_as_typed(state, &record, form);
    ed.problem = Some(problem.clone());
    ed.to_error = Some(problem);
    invitation_page(signed, record, ed)
}

/// What the page's script reports: the email was copied or opened in the mail program.
/// The text comes along when the page had it; without it the kept text stays as it was.
#[derive(Deserialize)]
struct UsedForm {
    to: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    temporary_password: Option<String>,
    action: Option<String>,
}

#[post("/invitations/{id}/used")]
async fn used(
    state: web::Data<AppState>,
    agent: Agent,
    id: web::Path<String>,
    form: web::Form<UsedForm>,
) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    let action = match form.action.as_deref() {
        Some("copied") => InvitationAction::Copied,
        Some("opened") => InvitationAction::Opened,
        _ => return Err(AppError::BadRequest("Say whether the email was copied or opened.".into())),
    };
    let text = match (&form.to, &form.subject, &form.body) {
        (Some(to), Some(subject), Some(body)) => Some(typed_email(to, subject, body)),
        _ => None,
    };
    let pw = form.temporary_password.as_deref().filter(|p| !p.is_empty());
    if !state.workflows.record_invitation_use(&signed.user, &id, text.as_ref(), action, pw).await? {
        return Err(AppError::NotFound);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Send: the email as the agent has it, through SMTP. On any failure the page comes back
/// with the text as it was and the reason; Send may be pressed again.
#[post("/invitations/{id}/send")]
async fn send(
    state: web::Data<AppState>,
    agent: Agent,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    let email = form.email();
    let pw = form.password();
    if email.to.is_empty() || form.recipient_problem().is_some() {
        let record = found(&state, &signed, &id).await?;
        let problem = form.recipient_problem().unwrap_or_else(|| {
            "Enter the email address of the person the invitation is for in To, like name@example.com.".into()
        });
        return Ok(refused_recipient(&signed, &state, record, &form, problem));
    }
    let problem = match state.workflows.send_invitation(&signed.user, &id, &email, pw).await? {
        Ok(()) if pw.is_some() => {
            let record = found(&state, &signed, &id).await?;
            let notice = format!(
                "Sent to {}. The email says the temporary password is given separately: give it ({}) by phone or another safe way. It is shown on this page only.",
                email.to,
                pw.unwrap_or_default()
            );
            return Ok(page_keeping_password(&signed, &state, record, &form, notice));
        }
        Ok(()) => {
            session::set_flash(&signed.session, &format!("Sent to {}.", email.to));
            return Ok(redirect(&format!("/invitations/{id}")));
        }
        Err(SendRefusal::NotFound) => return Err(AppError::NotFound),
        Err(SendRefusal::NotAllowed) => return Err(AppError::Forbidden(NOT_AN_INVITER.into())),
        Err(SendRefusal::NoMailer) => {
            "Sending from the portal is not set up (no SMTP server is configured): copy the email or open it in your mail program instead.".to_string()
        }
        Err(SendRefusal::Invalid(why)) => why,
        Err(SendRefusal::Failed { message, retryable }) => format!(
            "The email was not sent: {message}{} Your text is kept below.",
            if retryable { " You can press Send again." } else { "" }
        ),
    };
    let record = found(&state, &signed, &id).await?;
    let mut ed = editor_as_typed(&state, &record, &form);
    ed.problem = Some(problem);
    Ok(invitation_page(&signed, record, ed))
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    note: String,
    back: Option<String>,
}

/// The free reference note, changed later from the invitation's page or the list.
#[post("/invitations/{id}/note")]
async fn note(
    state: web::Data<AppState>,
    agent: Agent,
    id: web::Path<String>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, AppError> {
    let signed = inviter(agent)?;
    let note: String = form.note.chars().filter(|c| !c.is_control() || *c == '\n').collect();
    if note.chars().count() > 500 {
        let record = found(&state, &signed, &id).await?;
        let ed = editor_of(&state, &signed, &record);
        let why = format!(
            "Keep the reference note to 500 characters or fewer (it has {}); it was not saved.",
            note.chars().count()
        );
        return Ok(invitation_page_with_note(&signed, record, ed, (form.note.clone(), Some(why))));
    }
    if !state.workflows.set_invitation_note(&signed.user, &id, &note).await? {
        return Err(AppError::NotFound);
    }
    session::set_flash(&signed.session, "Reference note saved.");
    Ok(redirect(&back_to(form.back.as_deref(), &id)))
}

/// Where to go after saving a note: back to the list as it was (a path of the list, no
/// control characters), else to the invitation.
fn back_to(back: Option<&str>, id: &str) -> String {
    match back {
        Some(b)
            if (b == "/invitations" || b.starts_with("/invitations?"))
                && !b.chars().any(|c| c.is_control() || c == '\\') =>
        {
            b.to_string()
        }
        _ => format!("/invitations/{id}"),
    }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    kind: Option<String>,
    state: Option<String>,
    by: Option<String>,
    customer: Option<String>,
    after: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> InvitationFilter {
        InvitationFilter {
            kind: self.kind.as_deref().and_then(InvitationKind::parse),
            creator_oid: self.by.clone().filter(|b| !b.is_empty()),
            customer: self.customer.as_ref().map(|c| c.trim().chars().take(100).collect()),
            state: match self.state.as_deref() {
                Some("waiting") => Some(InvitationStateFilter::Waiting),
                Some("accepted") => Some(InvitationStateFilter::Accepted),
                Some("not_used") => Some(InvitationStateFilter::NotUsed),
                Some("sent") => Some(InvitationStateFilter::Sent),
                _ => None,
            },
        }
    }

    /// `after` is `created_at|id` of the last row of the page before.
    fn after(&self) -> Option<(DateTime<Utc>, String)> {
        let (at, id) = self.after.as_deref()?.split_once('|')?;
        Some((DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc), id.to_string()))
    }

    fn href(&self, after: Option<&InvitationRecord>) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("kind", &self.kind), ("state", &self.state), ("by", &self.by), ("customer", &self.customer)] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
        if let Some(r) = after {
            s.append_pair("after", &format!("{}|{}", crate::store::timestamp(r.created_at), r.invitation.id));
        }
        let qs = s.finish();
        if qs.is_empty() { "/invitations".into() } else { format!("/invitations?{qs}") }
    }
}

fn choices(options: &[(&str, &str)], chosen: Option<&str>) -> Vec<Choice> {
    options
        .iter()
        .map(|(value, label)| Choice {
            value: value.to_string(),
            label: label.to_string(),
            selected: chosen == Some(*value),
        })
        .collect()
}

#[get("/invitations")]
async fn list(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let filter = q.filter();
    let (mut found, creators) =
        state.workflows.invitations_page(&signed.user, &filter, q.after(), PAGE_SIZE + 1).await?;
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let kinds: Vec<(&str, &str)> = InvitationKind::ALL.iter().map(|k| (k.as_str(), k.title())).collect();
    let states = [
        ("waiting", "Waiting for the customer"),
        ("accepted", "Accepted"),
        ("not_used", "Not copied, opened or sent"),
        ("sent", "Sent"),
    ];
    let creator_options: Vec<(&str, &str)> = creators.iter().map(|(o, n)| (o.as_str(), n.as_str())).collect();
    let view = InvitationsPage {
        layout: signed.layout("Invitations"),
        rows: found.iter().map(InvitationRow::of).collect(),
        kinds: choices(&kinds, q.kind.as_deref()),
        states: choices(&states, q.state.as_deref()),
        creators: choices(&creator_options, q.by.as_deref()),
        customer: filter.customer.clone().unwrap_or_default(),
        filtered: filter.kind.is_some()
            || filter.state.is_some()
            || filter.creator_oid.is_some()
            || filter.customer.as_deref().is_some_and(|c| !c.is_empty()),
        first_page_href: q.after.is_some().then(|| ListQuery { after: None, ..clone_query(&q) }.href(None)),
        next_href: more.then(|| q.href(found.last())),
    };
    Ok(page(&view))
}

fn clone_query(q: &ListQuery) -> ListQuery {
    ListQuery {
        kind: q.kind.clone(),
        state: q.state.clone(),
        by: q.by.clone(),
        customer: q.customer.clone(),
        after: q.after.clone(),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // New relationship before `show`, so that its address is not read as an id.
    cfg.configure(relationship::routes)
        .service(list)
        .service(show)
        .service(make)
        .service(save)
        .service(send)
        .service(used)
        .service(note);
}
