//! The review dashboard (Admin and Sales agents; it has no actions): customers in each
//! status and by "Customer acceptance through Microsoft", each count a link to the list
//! filtered so; a bar chart of the statuses drawn on the server; the last complete
//! refresh; the customers whose status changed since it. Every number comes from the
//! kept counts or an index (docs/dashboard.md), whatever the size of the portfolio.

use actix_web::{HttpResponse, get, web};
use askama::Template;
use chrono::{DateTime, Utc};

use super::AppState;
use super::errors::{AppError, page};
use super::extractors::{Agent, Signed};
use super::pages::Layout;
use crate::domain::{AgentRole, EffectiveStatus};
use crate::store::{Acceptance, CustomerCounts, RefreshRun, StatusChange};

/// How many status changes the dashboard lists.
pub const CHANGES_LISTED: i64 = 20;

/// One count with the address of the list that shows those customers.
pub struct CountLink {
    pub label: &'static str,
    /// The status's key, for its badge and tests; empty for an acceptance.
    pub key: &'static str,
    pub count: i64,
    pub href: Option<String>,
}

/// One bar of the chart, placed in the SVG's coordinates.
pub struct Bar {
    pub label: &'static str,
    pub count: i64,
    pub y: i64,
    pub width: i64,
}

/// A status change as the dashboard lists it.
pub struct ChangeRow {
    pub customer_id: String,
    pub company_name: String,
    pub before: &'static str,
    pub after: &'static str,
    pub at: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub total: i64,
    pub statuses: Vec<CountLink>,
    pub acceptance: Vec<CountLink>,
    pub bars: Vec<Bar>,
    pub chart_height: i64,
    /// When the last complete refresh ended, and how many customers it could not read.
    pub last_refresh: Option<(String, i64)>,
    pub changes: Vec<ChangeRow>,
    pub more_changes: bool,
}

/// Where the bars start, how long the longest one is, and the height of a row.
const BAR_X: i64 = 230;
const BAR_MAX: i64 = 280;
const ROW: i64 = 34;

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn statuses(counts: &CustomerCounts) -> Vec<CountLink> {
    counts
        .by_status(None)
        .into_iter()
        .map(|c| CountLink {
            label: c.status.label(),
            key: c.status.key(),
            count: c.count,
            href: Some(format!("/customers?status={}", c.status.key())),
        })
        .collect()
}

fn acceptance(counts: &CustomerCounts) -> Vec<CountLink> {
    let by = counts.by_acceptance();
    let link = |a: Acceptance| Some(format!("/customers?acceptance={}", a.key()));
    vec![
        CountLink { label: "Provided", key: "", count: by.provided, href: link(Acceptance::Provided) },
        CountLink { label: "Not provided", key: "", count: by.not_provided, href: link(Acceptance::NotProvided) },
        CountLink { label: "Not read yet", key: "", count: by.not_read, href: link(Acceptance::NotRead) },
    ]
}

/// The chart's bars, the longest one for the largest count.
fn bars(statuses: &[CountLink]) -> Vec<Bar> {
    let most = statuses.iter().map(|s| s.count).max().unwrap_or(0).max(1);
    statuses
        .iter()
        .zip(0..)
        .map(|(s, i)| Bar { label: s.label, count: s.count, y: i * ROW + 10, width: s.count * BAR_MAX / most })
        .collect()
}

fn change_row(c: StatusChange) -> ChangeRow {
    ChangeRow {
        before: c.previous_status.label(),
        after: c.status.label(),
        at: at(c.changed_at),
        customer_id: c.customer_id,
        company_name: c.company_name,
    }
}

/// The customers whose status changed since the last complete refresh began, and whether
/// there are more than are listed.
async fn changes_since(
    state: &AppState,
    tenant: &str,
    run: Option<&RefreshRun>,
) -> Result<(Vec<ChangeRow>, bool), AppError> {
    let Some(run) = run else { return Ok((Vec::new(), false)) };
    let (changes, next) = state.store.customers_status_changed(tenant, run.started_at, None, CHANGES_LISTED).await?;
    Ok((changes.into_iter().map(change_row).collect(), next.is_some()))
}

/// Admin and Sales agents; a Helpdesk agent is refused.
fn reviewer(signed: &Signed) -> Result<(), AppError> {
    let roles = &signed.user.roles;
    if roles.contains(AgentRole::Admin) || roles.contains(AgentRole::Sales) {
        Ok(())
    } else {
        Err(AppError::Forbidden("Only Admin agents and Sales agents can see the dashboard.".into()))
    }
}

#[get("/dashboard")]
async fn dashboard(state: web::Data<AppState>, Agent(signed): Agent) -> Result<HttpResponse, AppError> {
    reviewer(&signed)?;
    let tenant = &signed.user.tenant_id;
    let counts = state.store.customer_counts(tenant).await?;
    let run = state.store.refresh_run_last_finished(tenant).await?;
    let (changes, more_changes) = changes_since(&state, tenant, run.as_ref()).await?;
    let statuses = statuses(&counts);
    let bars = bars(&statuses);
    let view = DashboardPage {
        layout: signed.layout("Dashboard"),
        total: counts.total(),
        chart_height: ROW * EffectiveStatus::ALL.len() as i64 + 10,
        acceptance: acceptance(&counts),
        bars,
        statuses,
        last_refresh: run.map(|r| (at(r.finished_at.unwrap_or(r.started_at)), r.failed)),
        changes,
        more_changes,
    };
    Ok(page(&view))
}

impl DashboardPage {
    pub fn bar_x(&self) -> i64 {
        BAR_X
    }

    /// Where a bar's value is written: just after the bar.
    pub fn value_x(&self, bar: &Bar) -> i64 {
        BAR_X + bar.width + 8
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(dashboard);
}
