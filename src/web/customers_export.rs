//! The customer list as CSV (Admin agents): the view of the list its address names (search,
//! filters and order; not its page), streamed from the database (docs/audit-and-export.md).

use actix_web::{HttpResponse, get, web};
use chrono::Utc;
use futures_util::StreamExt;

use super::AppState;
use super::csv::{Columns, download};
use super::customer_query::ListQuery;
use super::errors::AppError;
use super::extractors::Admin;
use crate::domain::{CustomerSummary, Readiness, ReadinessInputs, ReattestationPolicy};
use crate::store::CustomerQuery;
use crate::workflows::export::Chunks;

/// The view to export, as the list reads it; an unknown status or acceptance is refused
/// rather than exporting every customer.
fn export_view(q: &ListQuery, configured: u32) -> Result<CustomerQuery, AppError> {
    let view = q.view(configured);
    let unknown = match (&view.unknown_status, &view.unknown_acceptance) {
        (Some(_), _) => "status",
        (None, Some(_)) => "customer acceptance through Microsoft",
        (None, None) => return Ok(view.query),
    };
    Err(AppError::BadRequest(format!(
        "The {unknown} in the address is not one the portal knows. Choose it on the Customers page and export from there."
    )))
}

/// A row of the customers CSV: the customer as read, with its readiness judged by the
/// settings' re-attestation rule on the day of the export (which a column alone can't reach).
pub struct CustomerExportLine {
    pub row: CustomerSummary,
    pub readiness: Readiness,
}

impl CustomerExportLine {
    fn of(row: CustomerSummary, policy: &ReattestationPolicy, today: chrono::NaiveDate) -> Self {
        let inputs = ReadinessInputs::of_summary(&row, row.latest_attestation.as_ref().map(|a| a.date_agreed));
        let readiness = inputs.answer(policy, today);
        CustomerExportLine { row, readiness }
    }
}

/// The columns of the customers CSV, in order: the one place a column is added.
pub const CUSTOMER_COLUMNS: Columns<CustomerExportLine> = &[
    ("Customer ID", |l| l.row.id.clone()),
    ("Company name", |l| l.row.company_name.clone()),
    ("Domain", |l| l.row.domain.clone()),
    ("MCA status", |l| l.row.status.label().to_string()),
    ("Customer acceptance through Microsoft", |l| {
        match l.row.accepted_directly {
            Some(true) => "Provided",
            Some(false) => "Not provided",
            None => "Not read yet",
        }
        .to_string()
    }),
    ("Latest attestation date", |l| {
        l.row.latest_attestation.as_ref().map(|a| a.date_agreed.to_string()).unwrap_or_default()
    }),
    ("Attested by", |l| {
        let latest = l.row.latest_attestation.as_ref();
        latest.and_then(|a| a.user_name.clone().or(a.user_id.clone())).unwrap_or_default()
    }),
    ("Readiness", |l| l.readiness.label().to_string()),
    ("Status reason", |l| l.row.status_reason.clone()),
];

/// The chunks read from the store, each row with its readiness today (UTC).
fn with_readiness(chunks: Chunks<CustomerSummary>, policy: ReattestationPolicy) -> Chunks<CustomerExportLine> {
    let today = Utc::now().date_naive();
    Box::pin(chunks.map(move |chunk| {
        chunk.map(|rows| rows.into_iter().map(|r| CustomerExportLine::of(r, &policy, today)).collect())
    }))
}

#[get("/customers/export.csv")]
async fn export(
    state: web::Data<AppState>,
    Admin(signed): Admin,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = export_view(&q, state.settings.customers_page_size)?;
    let chunks = state.workflows.export_customers(&signed.user, query).await?;
    let chunks = chunks.map_err(|refused| AppError::Forbidden(refused.message().into()))?;
    Ok(download("customers", CUSTOMER_COLUMNS, with_readiness(chunks, state.settings.policy())))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(export);
}
