//! Invitation wording settings (Admin agents): the partner's own subject and body of each
//! kind of invitation, per language, with a preview against a sample customer; removing
//! one asks for confirmation first (docs/invitations.md, "Wording per language").

pub mod pages;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, html, page, redirect};
use super::extractors::{Admin, Signed};
use super::session;
use crate::domain::FieldError;
use crate::domain::invitation::{DEFAULT_LANGUAGE, InvitationKind, WordingProblem};
use crate::workflows::invitation_templates::{
    Removal, Saved, WordingDraft, WordingRefusal, typed_wording, wording_language, wording_languages,
};
use pages::{EditPage, LanguageRow, OverviewPage, RemovePage};

const OVERVIEW: &str = "/settings/invitations";

/// A refusal the pages do not show as a form error.
fn refused(r: WordingRefusal) -> AppError {
    match r {
        WordingRefusal::NotAllowed => AppError::Forbidden(r.message()),
        WordingRefusal::UnknownLanguage => AppError::NotFound,
        other => AppError::BadRequest(other.message()),
    }
}

fn edit_href(kind: InvitationKind, code: &str) -> String {
    format!("{OVERVIEW}/{}/{code}", kind.as_str())
}

/// The overview, with Add a language's choice and messages.
async fn overview(
    state: &AppState,
    signed: &Signed,
    chosen: &str,
    errors: Vec<FieldError>,
) -> Result<HttpResponse, AppError> {
    let languages = state.workflows.invitation_wordings(&signed.user).await?.map_err(refused)?;
    let english_own: Vec<InvitationKind> = languages
        .first()
        .map(|l| l.kinds.iter().filter(|k| k.own.is_some()).map(|k| k.kind).collect())
        .unwrap_or_default();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = OverviewPage {
        layout: signed.layout("Invitation wording"),
        offered: wording_languages()
            .into_iter()
            .filter(|o| languages.iter().all(|l| l.language.code != o.code))
            .collect(),
        languages: languages.iter().map(|l| LanguageRow::of(l, &english_own)).collect(),
        chosen: chosen.to_string(),
        errors,
        refused: None,
    };
    Ok(html(status, view.render()))
}

#[get("/settings/invitations")]
async fn show(state: web::Data<AppState>, Admin(signed): Admin) -> Result<HttpResponse, AppError> {
    overview(&state, &signed, "", Vec::new()).await
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    language: String,
}

/// Add a language: refused when it is there already; otherwise on to its first wording.
#[post("/settings/invitations/languages")]
async fn add_language(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    form: web::Form<LanguageForm>,
) -> Result<HttpResponse, AppError> {
    let chosen = form.language.trim();
    let message = match state.workflows.new_wording_language(&signed.user, chosen).await? {
        Ok(language) => {
            session::set_flash(
                &signed.session,
                &format!(
                    "Write the {0} wording of each kind. {0} is listed once its first wording is saved; until then customers whose language is {0} get the English wording.",
                    language.name
                ),
            );
            return Ok(redirect(&edit_href(InvitationKind::AdminCenter, language.code)));
        }
        Err(WordingRefusal::UnknownLanguage) => "Choose a language from the list.".to_string(),
        Err(r @ WordingRefusal::AlreadyThere(_)) => r.message(),
        Err(other) => return Err(refused(other)),
    };
    overview(&state, &signed, chosen, vec![FieldError::new("language", message)]).await
}

fn kind_of(s: &str) -> Result<InvitationKind, AppError> {
    InvitationKind::parse(s).ok_or(AppError::NotFound)
}

async fn draft_of(state: &AppState, signed: &Signed, kind: &str, code: &str) -> Result<WordingDraft, AppError> {
    let kind = kind_of(kind)?;
    state.workflows.invitation_wording(&signed.user, kind, code).await?.map_err(refused)
}

fn edit_layout(signed: &Signed, draft: &WordingDraft) -> super::pages::Layout {
    signed.layout(&format!("Invitation wording — {}, {}", draft.kind.title(), draft.language.name))
}

#[get("/settings/invitations/{kind}/{language}")]
async fn edit(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let draft = draft_of(&state, &signed, &path.0, &path.1).await?;
    let view =
        EditPage::of(edit_layout(&signed, &draft), &draft, draft.wording.subject.clone(), draft.wording.body.clone());
    Ok(page(&view))
}

#[derive(Deserialize)]
struct WordingForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    /// `preview` or `save`.
    #[serde(default)]
    action: String,
}

/// The problems of a wording as one message per field, in the form's order.
fn field_errors(problems: &[WordingProblem]) -> Vec<FieldError> {
    let mut subject = Vec::new();
    let mut body = Vec::new();
    for p in problems {
        match p {
            WordingProblem::Subject(m) => subject.push(m.as_str()),
            WordingProblem::Body(m) => body.push(m.as_str()),
        }
    }
    [("subject", subject), ("body", body)]
        .into_iter()
        .filter(|(_, m)| !m.is_empty())
        .map(|(f, m)| FieldError::new(f, m.join(" ")))
        .collect()
}

/// Preview (the filled-in email below the form, with whatever is wrong) or Save.
#[post("/settings/invitations/{kind}/{language}")]
async fn save(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    path: web::Path<(String, String)>,
    form: web::Form<WordingForm>,
) -> Result<HttpResponse, AppError> {
    let draft = draft_of(&state, &signed, &path.0, &path.1).await?;
    let wording = typed_wording(&form.subject, &form.body);
    let mut view = EditPage::of(edit_layout(&signed, &draft), &draft, form.subject.clone(), form.body.clone());
    if form.action == "preview" {
        let (email, problems) =
            state.workflows.preview_invitation_wording(&signed.user, draft.kind, &wording).map_err(refused)?;
        view.preview = Some(email);
        view.errors = field_errors(&problems);
        return Ok(page(&view));
    }
    match state.workflows.save_invitation_wording(&signed.user, draft.kind, draft.language.code, &wording).await? {
        Ok(Saved::Changed(_)) => {
            let message = format!(
                "Saved the {} wording of \"{}\": invitations of this kind to customers whose language is {} use it from now on.",
                draft.language.name,
                draft.kind.title(),
                draft.language.name
            );
            session::set_flash(&signed.session, &message);
            Ok(redirect(OVERVIEW))
        }
        Ok(Saved::Unchanged) => {
            session::set_flash(&signed.session, "Nothing to save: the wording is as it was.");
            Ok(redirect(&edit_href(draft.kind, draft.language.code)))
        }
        Err(WordingRefusal::Problems(problems)) => {
            view.errors = field_errors(&problems);
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, view.render()))
        }
        Err(other) => Err(refused(other)),
    }
}

/// What a removal takes away and what customers get afterwards, or None when the partner
/// has nothing of its own there.
async fn removal_page(
    state: &AppState,
    signed: &Signed,
    removal: Removal,
    code: &str,
) -> Result<Option<RemovePage>, AppError> {
    let languages = state.workflows.invitation_wordings(&signed.user).await?.map_err(refused)?;
    let language = wording_language(code).ok_or(AppError::NotFound)?;
    let Some(held) = languages.iter().find(|l| l.language.code == code) else { return Ok(None) };
    let own: Vec<InvitationKind> = held.kinds.iter().filter(|k| k.own.is_some()).map(|k| k.kind).collect();
    let english = code == DEFAULT_LANGUAGE;
    let name = language.name;
    let (action, back, heading, consequence, button) = match removal {
        Removal::Wording(kind) if own.contains(&kind) && english => (
            format!("{}/remove", edit_href(kind, code)),
            edit_href(kind, code),
            format!("Reset \"{}\" to the built-in wording?", kind.title()),
            "Your English wording of this kind is deleted. From then on, customers in English, and customers in any language that has no wording of its own for this kind, get the built-in wording.".to_string(),
            "Reset to the built-in wording".to_string(),
        ),
        Removal::Wording(kind) if own.contains(&kind) => (
            format!("{}/remove", edit_href(kind, code)),
            edit_href(kind, code),
            format!("Remove the {name} wording of \"{}\"?", kind.title()),
            format!("Your {name} wording of this kind is deleted. From then on, customers whose language is {name} get the English wording of this kind."),
            format!("Remove the {name} wording"),
        ),
        Removal::Language if !english && !own.is_empty() => (
            format!("{OVERVIEW}/languages/{code}/remove"),
            OVERVIEW.to_string(),
            format!("Remove {name}?"),
            format!("Your {name} wording of every kind ({} in all) is deleted, and {name} leaves the list. From then on, customers whose language is {name} get the English wording.", own.len()),
            format!("Remove {name}"),
        ),
        _ => return Ok(None),
    };
    let layout = signed.layout(&heading);
    Ok(Some(RemovePage { layout, action, back, heading, consequence, button }))
}

async fn confirm_removal(
    state: &AppState,
    signed: &Signed,
    removal: Removal,
    code: &str,
) -> Result<HttpResponse, AppError> {
    match removal_page(state, signed, removal, code).await? {
        Some(view) => Ok(page(&view)),
        None => {
            session::set_flash(&signed.session, &WordingRefusal::NothingToRemove.message());
            Ok(redirect(OVERVIEW))
        }
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// Removes after the confirmation page's button; anything else shows that page first.
async fn remove(
    state: &AppState,
    signed: &Signed,
    removal: Removal,
    code: &str,
    form: &ConfirmForm,
) -> Result<HttpResponse, AppError> {
    if form.confirm != "yes" {
        return confirm_removal(state, signed, removal, code).await;
    }
    let name = wording_language(code).map(|l| l.name).unwrap_or(code);
    let message = match state.workflows.remove_invitation_wording(&signed.user, removal, code).await? {
        Ok(_) => match (removal, code == DEFAULT_LANGUAGE) {
            (Removal::Wording(kind), true) => format!("\"{}\" uses the built-in wording again.", kind.title()),
            (Removal::Wording(kind), false) => format!(
                "Removed the {name} wording of \"{}\": customers whose language is {name} get the English wording.",
                kind.title()
            ),
            (Removal::Language, _) => format!("Removed {name} and its wording."),
        },
        Err(WordingRefusal::NothingToRemove) => WordingRefusal::NothingToRemove.message(),
        Err(other) => return Err(refused(other)),
    };
    session::set_flash(&signed.session, &message);
    Ok(redirect(OVERVIEW))
}

#[get("/settings/invitations/languages/{language}/remove")]
async fn confirm_language(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    confirm_removal(&state, &signed, Removal::Language, &code).await
}

#[post("/settings/invitations/languages/{language}/remove")]
async fn remove_language(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    code: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    remove(&state, &signed, Removal::Language, &code, &form).await
}

#[get("/settings/invitations/{kind}/{language}/remove")]
async fn confirm_wording(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    confirm_removal(&state, &signed, Removal::Wording(kind_of(&path.0)?), &path.1).await
}

#[post("/settings/invitations/{kind}/{language}/remove")]
async fn remove_wording(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    path: web::Path<(String, String)>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    remove(&state, &signed, Removal::Wording(kind_of(&path.0)?), &path.1, &form).await
}

/// The language routes come first: `languages` is not a kind.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show)
        .service(add_language)
        .service(confirm_language)
        .service(remove_language)
        .service(edit)
        .service(save)
        .service(confirm_wording)
        .service(remove_wording);
}
