//! The audit log (Admin agents): filtered by user, customer, action and days, newest
//! first, 50 a page by keyset; and the same entries as CSV (docs/audit-and-export.md).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::AppState;
use super::csv::{Columns, download};
use super::errors::{AppError, html};
use super::extractors::Admin;
use super::pages::Layout;
use crate::domain::FieldError;
use crate::domain::audit::{AUDIT_ACTIONS, action_label, audit_action, outcome_label};
use crate::store::{AuditCursor, AuditRecord};
use crate::workflows::audit_log::{AuditLogPage, AuditSearch, CUSTOMERS_PER_SEARCH};

/// Entries on a page.
const PAGE_SIZE: i64 = 50;

/// The filters as they are in the address, kept as typed to show them again.
#[derive(Deserialize, Default, Clone)]
struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// `at|id` of the last entry of the page before.
    after: Option<String>,
}

/// A day as `<input type="date">` sends it.
fn day(typed: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    let parsed = NaiveDate::parse_from_str(typed, "%Y-%m-%d").ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, "Enter the day as year-month-day, for example 2026-01-05."));
    }
    parsed
}

impl AuditQuery {
    /// The filters, or a message for each that can't be used.
    fn search(&self) -> Result<AuditSearch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let action = Some(self.action.trim()).filter(|a| !a.is_empty());
        if action.is_some_and(|a| audit_action(a).is_none()) {
            errors.push(FieldError::new("action", "Choose an action from the list."));
        }
        let customer: String = self.customer.chars().filter(|c| !c.is_control()).collect();
        let customer = customer.trim();
        if customer.chars().count() > 100 {
            errors
                .push(FieldError::new("customer", "Enter at most 100 characters: a customer id or words of its name."));
        }
        let from = day(&self.from, "from", &mut errors);
        let to = day(&self.to, "to", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push(FieldError::new("to", "The last day is before the first day: choose a later last day."));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditSearch {
            actor_oid: Some(self.user.trim().to_string()).filter(|u| !u.is_empty()),
            customer: Some(customer.to_string()).filter(|c| !c.is_empty()),
            action: action.map(String::from),
            from,
            to,
        })
    }

    fn after(&self) -> Option<AuditCursor> {
        let (at, id) = self.after.as_deref()?.split_once('|')?;
        Some(AuditCursor { at: at.to_string(), id: id.to_string() })
    }

    /// The address of these filters at `path`, after `after` when given.
    fn href(&self, path: &str, after: Option<&AuditCursor>) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let fields = [("user", &self.user), ("customer", &self.customer), ("action", &self.action)];
        for (k, v) in fields.into_iter().chain([("from", &self.from), ("to", &self.to)]) {
            if !v.trim().is_empty() {
                s.append_pair(k, v.trim());
            }
        }
        if let Some(c) = after {
            s.append_pair("after", &format!("{}|{}", c.at, c.id));
        }
        let qs = s.finish();
        if qs.is_empty() { path.to_string() } else { format!("{path}?{qs}") }
    }

    fn filtered(&self) -> bool {
        [&self.user, &self.customer, &self.action, &self.from, &self.to].iter().any(|v| !v.trim().is_empty())
    }
}

/// A choice of a filter's select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// An entry as the page shows it.
pub struct AuditRow {
    pub id: String,
    pub at: String,
    pub user: String,
    pub action_key: String,
    pub action: String,
    pub customer_id: Option<String>,
    /// The company name when the customer is stored; its id otherwise.
    pub customer: Option<String>,
    /// The customer's page, when the customer is stored.
    pub customer_href: Option<String>,
    pub detail: String,
    pub outcome: String,
    pub pc_code: String,
    pub request_id: String,
}

impl AuditRow {
    fn of(r: &AuditRecord) -> Self {
        let e = &r.entry;
        AuditRow {
            id: r.id.clone(),
            at: r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            user: e.actor_name.clone().unwrap_or_else(|| "The portal".into()),
            action_key: e.action.clone(),
            action: action_label(&e.action).to_string(),
            customer_id: e.customer_id.clone(),
            customer: r.customer_name.clone().or_else(|| e.customer_id.clone()),
            customer_href: r.customer_name.as_ref().and(e.customer_id.as_ref()).map(|id| format!("/customers/{id}")),
            detail: e.detail.clone().unwrap_or_default(),
            outcome: outcome_label(&e.outcome).to_string(),
            pc_code: e.pc_code.clone().unwrap_or_default(),
            request_id: e.request_id.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub rows: Vec<AuditRow>,
    pub people: Vec<Choice>,
    pub actions: Vec<Choice>,
    pub customer: String,
    pub from: String,
    pub to: String,
    pub errors: Vec<FieldError>,
    /// The error summary's other message: never, on this page.
    pub refused: Option<String>,
    pub again: &'static str,
    /// What the customer words matched, when worth saying.
    pub customer_note: Option<String>,
    pub filtered: bool,
    pub first_page_href: Option<String>,
    pub next_href: Option<String>,
    pub export_href: String,
}

impl AuditPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

fn customer_note(matched: Option<usize>) -> Option<String> {
    match matched? {
        0 => Some("No customer's company name or domain holds these words, so no entry is shown. Enter other words, or a customer id.".into()),
        n if n as i64 >= CUSTOMERS_PER_SEARCH => Some(format!(
            "{CUSTOMERS_PER_SEARCH} or more customers match these words; entries of the first {CUSTOMERS_PER_SEARCH} by company name are shown. Add words to narrow it down."
        )),
        _ => None,
    }
}

/// The page: the filters as typed, and the entries (none when a filter can't be used).
fn audit_page(q: &AuditQuery, layout: Layout, found: Option<AuditLogPage>, errors: Vec<FieldError>) -> AuditPage {
    let (mut entries, people, matched) = match found {
        Some(p) => (p.entries, p.people, p.customers_matched),
        None => (Vec::new(), Vec::new(), None),
    };
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let choice = |value: &str, label: &str, chosen: &str| Choice {
        value: value.to_string(),
        label: label.to_string(),
        selected: value == chosen.trim(),
    };
    AuditPage {
        layout,
        rows: entries.iter().map(AuditRow::of).collect(),
        people: people.iter().map(|(oid, name)| choice(oid, name, &q.user)).collect(),
        actions: AUDIT_ACTIONS.iter().map(|a| choice(a.key, a.label, &q.action)).collect(),
        customer: q.customer.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        errors,
        refused: None,
        again: "Show",
        customer_note: customer_note(matched),
        filtered: q.filtered(),
        first_page_href: q.after.is_some().then(|| q.href("/audit", None)),
        next_href: more.then(|| q.href("/audit", entries.last().map(AuditCursor::after).as_ref())),
        export_href: q.href("/audit/export.csv", None),
    }
}

#[get("/audit")]
async fn list(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let layout = signed.layout("Audit log");
    let (view, status) = match q.search() {
        Err(errors) => {
            let people = state.store.audit_people(&signed.user.tenant_id).await?;
            let found = AuditLogPage { entries: Vec::new(), people, customers_matched: None };
            (audit_page(&q, layout, Some(found), errors), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Ok(search) => {
            let found = state.workflows.audit_log_page(&signed.user, &search, q.after().as_ref(), PAGE_SIZE).await?;
            let found = found.map_err(|refused| AppError::Forbidden(refused.message().into()))?;
            (audit_page(&q, layout, Some(found), Vec::new()), StatusCode::OK)
        }
    };
    Ok(html(status, view.render()))
}

/// The columns of the audit log's CSV, in order.
const AUDIT_COLUMNS: Columns<AuditRecord> = &[
    ("Time (UTC)", |r| crate::store::timestamp(r.at)),
    ("User", |r| r.entry.actor_name.clone().unwrap_or_default()),
    ("User ID", |r| r.entry.actor_oid.clone().unwrap_or_default()),
    ("Action", |r| action_label(&r.entry.action).to_string()),
    ("Action key", |r| r.entry.action.clone()),
    ("Customer ID", |r| r.entry.customer_id.clone().unwrap_or_default()),
    ("Company name", |r| r.customer_name.clone().unwrap_or_default()),
    ("Detail", |r| r.entry.detail.clone().unwrap_or_default()),
    ("Outcome", |r| outcome_label(&r.entry.outcome).to_string()),
    ("Partner Center code", |r| r.entry.pc_code.clone().unwrap_or_default()),
    ("Request ID", |r| r.entry.request_id.clone().unwrap_or_default()),
    ("Correlation ID", |r| r.entry.correlation_id.clone().unwrap_or_default()),
];

#[get("/audit/export.csv")]
async fn export(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let search = q.search().map_err(|errors| {
        let why: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        AppError::BadRequest(format!("The export's filters can't be used: {}", why.join(" ")))
    })?;
    let chunks = state.workflows.export_audit_log(&signed.user, &search).await?;
    let chunks = chunks.map_err(|refused| AppError::Forbidden(refused.message().into()))?;
    Ok(download("audit-log", AUDIT_COLUMNS, chunks))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(export);
}
