//! The refresh of all customers: started from the Customers page (Refresh list), its
//! progress page (which reloads itself while the refresh runs, so it works without
//! JavaScript) and the progress as JSON for the list's script. The progress is read from
//! the database, so every instance shows the same.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, page, redirect};
use super::extractors::Agent;
use super::pages::{Layout, customers_count};
use super::session;
use crate::domain::EffectiveStatus;
use crate::workflows::RefreshProgress;
use crate::workflows::refresh::Started;

/// How often the progress page reloads itself while a refresh runs.
const RELOAD_SECONDS: u32 = 5;

#[derive(Template)]
#[template(path = "refresh.html")]
pub struct RefreshPage {
    pub layout: Layout,
    pub progress: RefreshProgress,
    pub reload_seconds: u32,
    /// How often refreshes run on their own, in words; None when they do not.
    pub schedule: Option<String>,
}

impl RefreshPage {
    pub fn at(&self, t: &DateTime<Utc>) -> String {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    /// How far the run has come, in percent (for the bar's text).
    pub fn percent(&self) -> i64 {
        let p = &self.progress;
        if p.total == 0 { 0 } else { p.done * 100 / p.total }
    }
}

#[derive(Deserialize, Default)]
struct ViewQuery {
    q: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

/// "every 6 hours", "every 90 minutes".
fn schedule_in_words(minutes: u64) -> Option<String> {
    match minutes {
        0 => None,
        60 => Some("every hour".into()),
        m if m % 60 == 0 => Some(format!("every {} hours", m / 60)),
        1 => Some("every minute".into()),
        m => Some(format!("every {m} minutes")),
    }
}

/// "1 customer", "2 customers".
#[get("/customers/refresh")]
async fn progress_page(state: web::Data<AppState>, Agent(signed): Agent) -> Result<HttpResponse, AppError> {
    let progress = state.workflows.refresh_progress(&signed.user.tenant_id).await?;
    let view = RefreshPage {
        layout: signed.layout("Refresh of all customers"),
        progress,
        reload_seconds: RELOAD_SECONDS,
        schedule: schedule_in_words(state.settings.refresh.refresh_every_minutes),
    };
    Ok(page(&view))
}

#[post("/customers/refresh")]
async fn start(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    form: Option<web::Form<ViewQuery>>,
) -> Result<HttpResponse, AppError> {
    // Scripts may post with the token in a header and no body: back to the plain list.
    let form = form.map(|f| f.into_inner()).unwrap_or_default();
    let wait = std::time::Duration::from_secs(state.settings.refresh.refresh_wait_seconds);
    let tokens = session::fresh_tokens(&state, &signed).await?;
    let message = match state.workflows.refresh_list(&signed.user, tokens, wait).await {
        Started::Done(Err(e)) => return Err(e.into()),
        Started::Running => {
            "Reading your customers from Partner Center; the list shows how far it has come.".to_string()
        }
        Started::Done(Ok(outcome)) => {
            let at = chrono::Utc::now().format("%H:%M UTC");
            if outcome.failed == 0 {
                format!("Read again from Partner Center at {at}: {}.", customers_count(outcome.customers))
            } else {
                format!(
                    "Read again from Partner Center at {at}: {}; {} could not be read and keep their earlier status. Refresh again later.",
                    customers_count(outcome.customers - outcome.failed),
                    outcome.failed
                )
            }
        }
    };
    session::set_flash(&signed.session, &message);
    Ok(redirect(&back_to(&form)))
}

/// The list as it was when Refresh list was chosen: search, filter and page kept.
fn back_to(form: &ViewQuery) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if let Some(q) = form.q.as_deref().filter(|q| !q.is_empty()) {
        s.append_pair("q", q);
    }
    if let Some(st) = form.status.as_deref().and_then(EffectiveStatus::parse) {
        s.append_pair("status", st.key());
    }
    if let Some(p) = form.page.as_deref().and_then(|p| p.parse::<i64>().ok()).filter(|p| *p > 1) {
        s.append_pair("page", &p.to_string());
    }
    let qs = s.finish();
    if qs.is_empty() { "/customers".into() } else { format!("/customers?{qs}") }
}

/// For the progress bar's script: how far the refresh of all customers has come.
#[get("/customers/refresh/progress")]
async fn progress_json(state: web::Data<AppState>, Agent(signed): Agent) -> Result<HttpResponse, AppError> {
    let p = state.workflows.refresh_progress(&signed.user.tenant_id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "running": p.running,
        "total": p.total,
        "done": p.done,
        "failed": p.failed,
        "error": p.error,
        "errors": p.errors,
        "seconds_left": p.seconds_left,
        "started_at": p.started_at.map(|t| t.to_rfc3339()),
    })))
}

/// Before the customers' routes, whose `/customers/{id}` would take "refresh" for an id.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(progress_page).service(progress_json).service(start);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_in_words() {
        assert_eq!(schedule_in_words(0), None);
        assert_eq!(schedule_in_words(360).as_deref(), Some("every 6 hours"));
        assert_eq!(schedule_in_words(60).as_deref(), Some("every hour"));
        assert_eq!(schedule_in_words(90).as_deref(), Some("every 90 minutes"));
    }

    #[test]
    fn back_to_the_same_view() {
        let form = ViewQuery { q: Some("a&b".into()), status: Some("attested".into()), page: Some("3".into()) };
        assert_eq!(back_to(&form), "/customers?q=a%26b&status=attested&page=3");
        assert_eq!(back_to(&ViewQuery::default()), "/customers");
    }
}
