//! API keys settings (Admin agents): the partner's keys with their name, prefix, who
//! created them and when, and their last use; a key is created with a name and shown
//! once; revoking one asks for confirmation first (docs/readiness.md, "API keys").

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, html, page, redirect};
use super::extractors::{Admin, Signed};
use super::pages::Layout;
use super::session;
use crate::domain::{FieldError, is_customer_id};
use crate::store::ApiKeyRecord;
use crate::workflows::api_keys::{CreatedKey, KeyRefusal};

const SETTINGS: &str = "/settings/api-keys";

/// A key as the list shows it.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: Option<String>,
    /// "Revoked 2026-01-07 10:30 UTC by Alex Admin".
    pub revoked: Option<String>,
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl KeyRow {
    fn of(k: &ApiKeyRecord) -> KeyRow {
        KeyRow {
            id: k.id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            created: format!("{}, {}", k.created_by_name, when(k.created_at)),
            last_used: k.last_used_at.map(when),
            revoked: k.revoked_at.map(|at| {
                format!("Revoked {} by {}", when(at), k.revoked_by_name.as_deref().unwrap_or("an Admin agent"))
            }),
        }
    }
}

/// The key made just now, shown this once.
pub struct NewKeyView {
    pub name: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
pub struct KeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub created: Option<NewKeyView>,
    /// The name typed in the form, kept when it is refused.
    pub name: String,
    pub errors: Vec<FieldError>,
    /// Always `None` here: the shared error summary's Partner Center refusal.
    pub refused: Option<String>,
    /// Said when the create form came again and no key was made (`SENT_ALREADY`).
    pub not_created: Option<&'static str>,
    pub max_name_chars: usize,
    /// The form's token for sending it once (`session::once_token`).
    pub once: String,
}

impl KeysPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

#[derive(Template)]
#[template(path = "api_key_revoke.html")]
pub struct RevokePage {
    pub layout: Layout,
    pub key: KeyRow,
}

fn refused(r: KeyRefusal) -> AppError {
    match r {
        KeyRefusal::NotAllowed => AppError::Forbidden(r.message()),
        KeyRefusal::NotFound => AppError::NotFound,
        other => AppError::BadRequest(other.message()),
    }
}

/// The settings page, with the key just made or the refused name.
async fn keys_page(
    state: &AppState,
    signed: &Signed,
    name: String,
    created: Option<NewKeyView>,
    errors: Vec<FieldError>,
) -> Result<KeysPage, AppError> {
    let keys = state.workflows.api_keys(&signed.user).await?.map_err(refused)?;
    Ok(KeysPage {
        layout: signed.layout("API keys"),
        keys: keys.iter().map(KeyRow::of).collect(),
        created,
        name,
        errors,
        refused: None,
        not_created: None,
        max_name_chars: crate::domain::api_key::ApiKeyName::MAX_CHARS,
        once: session::once_token(&signed.session, CREATE_FORM),
    })
}

#[get("/settings/api-keys")]
async fn show(state: web::Data<AppState>, Admin(signed): Admin) -> Result<HttpResponse, AppError> {
    Ok(page(&keys_page(&state, &signed, String::new(), None, Vec::new()).await?))
}

/// The create form's name for `session::once_token`.
const CREATE_FORM: &str = "api_key_create";

/// Said when the create form comes a second time (a reload of the page showing a key).
const SENT_ALREADY: &str = "No key was created: this form was sent already, or another page showed it since. \
     If you reloaded the page after creating a key, that key is in the list above and can't be shown again; \
     otherwise choose Create key again.";

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    once: String,
}

/// Creates a key and shows it on the answer itself (never kept, never shown again).
#[post("/settings/api-keys")]
async fn create(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    form: web::Form<CreateForm>,
) -> Result<HttpResponse, AppError> {
    if !session::take_once_token(&signed.session, CREATE_FORM, &form.once) {
        let view = keys_page(&state, &signed, form.name.clone(), None, Vec::new()).await?;
        let view = KeysPage { not_created: Some(SENT_ALREADY), ..view };
        return Ok(html(StatusCode::CONFLICT, view.render()));
    }
    match state.workflows.create_api_key(&signed.user, &form.name).await? {
        Ok(CreatedKey { key, record }) => {
            let shown = NewKeyView { name: record.name.clone(), key: key.expose_secret().to_string() };
            let view = keys_page(&state, &signed, String::new(), Some(shown), Vec::new()).await?;
            Ok(page(&view))
        }
        Err(KeyRefusal::Name(e)) => {
            let view = keys_page(&state, &signed, form.name.clone(), None, vec![e]).await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, view.render()))
        }
        Err(other) => Err(refused(other)),
    }
}

async fn confirm_page(state: &AppState, signed: &Signed, id: &str) -> Result<HttpResponse, AppError> {
    if !is_customer_id(id) {
        return Err(AppError::NotFound);
    }
    let key = state.workflows.api_key(&signed.user, id).await?.map_err(refused)?;
    if key.is_revoked() {
        session::set_flash(&signed.session, &KeyRefusal::AlreadyRevoked.message());
        return Ok(redirect(SETTINGS));
    }
    let view =
        RevokePage { layout: signed.layout(&format!("Revoke the API key \"{}\"?", key.name)), key: KeyRow::of(&key) };
    Ok(page(&view))
}

#[get("/settings/api-keys/{id}/revoke")]
async fn confirm_revoke(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    confirm_page(&state, &signed, &id).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// Revokes after the confirmation page's button; anything else shows that page first.
#[post("/settings/api-keys/{id}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    id: web::Path<String>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    if form.confirm != "yes" {
        return confirm_page(&state, &signed, &id).await;
    }
    if !is_customer_id(&id) {
        return Err(AppError::NotFound);
    }
    let message = match state.workflows.revoke_api_key(&signed.user, &id).await? {
        Ok(key) => format!(
            "Revoked the API key \"{}\" ({}…): every request with it is refused from now on.",
            key.name, key.prefix
        ),
        Err(KeyRefusal::AlreadyRevoked) => KeyRefusal::AlreadyRevoked.message(),
        Err(other) => return Err(refused(other)),
    };
    session::set_flash(&signed.session, &message);
    Ok(redirect(SETTINGS))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(show).service(create).service(confirm_revoke).service(revoke);
}
