//! The refresh of all customers: started from the Customers page (Refresh list), its
//! progress page (which reloads itself while the refresh runs, so it works without
//! JavaScript) and the progress as JSON for the list's script. The progress is read from
//! the database, so every instance shows the same.

use actix_web::{HttpResponse, get, post, web};
use askama::Template;
use chrono::{DateTime, Utc};

use super::AppState;
use super::customer_query::ListQuery;
use super::errors::{AppError, page, redirect};
use super::extractors::Agent;
use super::pages::{Layout, customers_count};
use super::session;
use crate::workflows::RefreshProgress;
use crate::workflows::refresh::{ERRORS_KEPT, Started};

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
    /// How often instances look for a refresh to continue.
    pub poll_seconds: u64,
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

    /// The time left, in words, as the script writes it too.
    pub fn left(&self) -> String {
        left_text(&self.progress)
    }

    pub fn takeover_seconds(&self) -> u64 {
        self.poll_seconds
    }

    pub fn errors_kept(&self) -> usize {
        ERRORS_KEPT
    }
}

fn left_text(p: &RefreshProgress) -> String {
    match p.left_in_words() {
        Some(left) => format!("{left} (an estimate from the pace so far)"),
        None => "not known yet".to_string(),
    }
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
        poll_seconds: state.settings.refresh.refresh_poll_seconds,
    };
    Ok(page(&view))
}

#[post("/customers/refresh")]
async fn start(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    form: Option<web::Form<ListQuery>>,
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
    Ok(redirect(&back_to(&form, state.settings.customers_page_size)))
}

/// The list as it was when Refresh list was chosen: the whole view (search, filters,
/// order, page size and position), as the form's hidden fields carry it.
fn back_to(form: &ListQuery, configured: u32) -> String {
    let view = form.view(configured);
    view.href(&view.position, configured)
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
        "left": left_text(&p),
        "listing": p.listing,
        "stalled": p.stalled,
        "phase": p.phase,
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
        let form = ListQuery {
            q: Some("a&b".into()),
            status: Some("attested".into()),
            acceptance: Some("not_provided".into()),
            sort: Some("attested_newest".into()),
            size: Some("100".into()),
            ..Default::default()
        };
        assert_eq!(
            back_to(&form, 25),
            "/customers?q=a%26b&status=attested&acceptance=not_provided&sort=attested_newest&size=100"
        );
        assert_eq!(back_to(&ListQuery::default(), 25), "/customers");
    }
}
