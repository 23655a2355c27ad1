//! Customers: the list with search, status filter and paging, and the new customers not
//! created yet; the customer account page with its Microsoft Customer Agreement section;
//! Refresh; Send now; the agreement document link.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::errors::{AppError, page, redirect};
use super::extractors::{Agent, Attester, Signed};
use super::pages::{
    CustomerAccountPage, CustomerRow, CustomersPage, LatestInvitation, NewCustomerRow, PagerLink, SubmissionView,
};
use super::session;
use crate::domain::readiness::latest_of;
use crate::domain::{
    CustomerSummary, EffectiveStatus, Readiness, ReadinessInputs, ReadinessVerdict, ReattestationPolicy, is_customer_id,
};
use crate::store::{CustomerFilter, CustomerRecord, Submission, SubmissionState};
use crate::workflows::{Outcome, SendNowOutcome};

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

fn list_href(search: &str, status: Option<EffectiveStatus>, page: i64) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if !search.is_empty() {
        s.append_pair("q", search);
    }
    if let Some(st) = status {
        s.append_pair("status", st.key());
    }
    if page > 1 {
        s.append_pair("page", &page.to_string());
    }
    let qs = s.finish();
    if qs.is_empty() { "/customers".into() } else { format!("/customers?{qs}") }
}

/// Page numbers to offer: the first, the last, and two either side of the current one.
fn pager(search: &str, status: Option<EffectiveStatus>, current: i64, pages: i64) -> Vec<PagerLink> {
    (1..=pages)
        .filter(|p| *p == 1 || *p == pages || (p - current).abs() <= 2)
        .map(|p| PagerLink { label: p.to_string(), href: list_href(search, status, p), current: p == current })
        .collect()
}

/// "1 customer", "2 customers".
fn customers_count(n: i64) -> String {
    if n == 1 { "1 customer".into() } else { format!("{n} customers") }
}

/// The search as typed, without control characters, trimmed, at most 100 characters.
fn search_text(typed: Option<&str>) -> String {
    let printable: String = typed.unwrap_or("").chars().filter(|c| !c.is_control()).collect();
    printable.trim().chars().take(100).collect()
}

/// How many new customers not created yet the Customers page lists, newest first.
const NEW_CUSTOMERS_LISTED: i64 = 20;

/// The new customers not created yet that the Customers page lists, and how many more
/// there are.
async fn new_customers_not_created(state: &AppState, signed: &Signed) -> Result<(Vec<NewCustomerRow>, i64), AppError> {
    let found = state.store.new_customers_not_created(&signed.user.tenant_id, NEW_CUSTOMERS_LISTED).await?;
    let attester = signed.user.permissions().can_attest;
    let rows: Vec<_> = found.newest.iter().filter_map(|s| new_customer_row(s, attester)).collect();
    let more = found.total - i64::try_from(found.newest.len()).unwrap_or(i64::MAX);
    Ok((rows, more.max(0)))
}

/// A new customer not created yet, as the list shows it; `attester` for those who may
/// send one that waits for a sign-in.
fn new_customer_row(s: &Submission, attester: bool) -> Option<NewCustomerRow> {
    let customer = s.request.new_customer()?;
    Some(NewCustomerRow {
        state: state_in_words(s.state),
        company_name: customer.company_name.as_str().to_string(),
        domain: customer.domain_prefix.domain(),
        by: s.created_by_name.clone(),
        saved: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        detail: submission_detail(s, attester),
        send_now_href: (s.state == SubmissionState::NeedsSignIn && attester)
            .then(|| format!("/customers/new/submissions/{}/send", s.id)),
    })
}

/// A customer as the list shows it; `synced` is the time of the last complete read of
/// the list, after which a customer added with Add customer is marked as added here.
fn customer_row(c: &CustomerSummary, synced: Option<DateTime<Utc>>) -> CustomerRow {
    let added_here = c.added_here_at.filter(|added| synced.is_none_or(|read| *added >= read));
    CustomerRow {
        id: c.id.clone(),
        company_name: c.company_name.clone(),
        domain: c.domain.clone(),
        status: c.status,
        acceptance: match c.accepted_directly {
            Some(true) => "Provided",
            Some(false) => "Not provided",
            None => "Not read yet",
        },
        added_here: added_here.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
    }
}

#[get("/customers")]
async fn list(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    session::read_if_never_read(&state, &signed).await?;
    let tenant = &signed.user.tenant_id;
    let search = search_text(q.q.as_deref());
    let status_text = q.status.as_deref().unwrap_or("").trim().to_ascii_lowercase();
    let status = EffectiveStatus::parse(&status_text);
    let unknown_status = (!status_text.is_empty() && status.is_none()).then(|| q.status.clone().unwrap_or_default());
    let requested_page = q.page.as_deref().and_then(|p| p.parse::<i64>().ok()).unwrap_or(1);
    let filter = CustomerFilter { search: search.clone(), status };
    let list =
        state.store.customer_list(tenant, &filter, requested_page, state.settings.customers_page_size as i64).await?;
    let counts = state.store.customer_status_counts(tenant, &search).await?;
    let synced = state.store.tenant_get(tenant).await?.and_then(|t| t.customers_synced_at);
    let synced_at = synced.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    let rows = list.items.iter().map(|c| customer_row(c, synced)).collect();
    let pages = list.pages();
    let current = list.page;
    let first_shown = if list.total == 0 { 0 } else { (current - 1) * list.page_size + 1 };
    let last_shown = first_shown + list.items.len() as i64 - if list.total == 0 { 0 } else { 1 };
    let progress = Some(state.workflows.refresh_progress(tenant).await?).filter(|p| p.running || p.error.is_some());
    let not_read = counts.iter().find(|c| c.status == EffectiveStatus::NotRead).map(|c| c.count).unwrap_or(0);
    let (new_customers, new_customers_more) = new_customers_not_created(&state, &signed).await?;
    let view = CustomersPage {
        layout: signed.layout("Customers"),
        rows,
        cutoff: state.settings.reattestation_cutoff.to_string(),
        not_read,
        progress,
        total_customers: counts.iter().map(|c| c.count).sum(),
        status_options: CustomersPage::counts(&counts, status),
        status_filter: status,
        unknown_status,
        previous: (current > 1).then(|| list_href(&search, status, current - 1)),
        next: (current < pages).then(|| list_href(&search, status, current + 1)),
        pages: if pages > 1 { pager(&search, status, current, pages) } else { Vec::new() },
        first_shown,
        last_shown,
        total_label: customers_count(list.total),
        current_page: current,
        search,
        synced_at,
        list,
        new_customers,
        new_customers_more,
    };
    Ok(page(&view))
}

/// A submission's state as pages show it.
fn state_in_words(state: SubmissionState) -> &'static str {
    match state {
        SubmissionState::Queued => "Pending",
        SubmissionState::Delivered => "Sent",
        SubmissionState::Failed => "Failed",
        SubmissionState::NeedsSignIn => "Needs sign-in",
    }
}

/// One of the portal's own submissions for this customer, as the account page lists it.
/// The acceptance link of an enhanced attestation lets whoever holds it accept for the
/// customer: only attesters (Admin and Sales agents of a partner that may attest) see it.
fn submission_view(s: &Submission, record: &CustomerRecord, signed: &Signed) -> SubmissionView {
    let c = s.request.contact();
    let phone = c.phone.as_ref().map(|p| format!(", {p}")).unwrap_or_default();
    let can_attest = signed.user.permissions().can_attest;
    let waiting = s.acceptance_link.as_deref().filter(|_| s.state == SubmissionState::Queued && can_attest);
    SubmissionView {
        state: state_in_words(s.state),
        what: if s.request.new_customer().is_some() { "New customer" } else { "Attestation" },
        saved: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        contact: format!("{} {} <{}>{phone}", c.first_name, c.last_name, c.email),
        date_agreed: s.request.date().map(|d| d.date().to_string()).unwrap_or_default(),
        at_link: s.attestation_id.is_some(),
        by: s.created_by_name.clone(),
        detail: submission_detail(s, can_attest),
        correct_href: (s.state == SubmissionState::Failed && can_attest)
            .then(|| format!("/customers/{}/agreement/edit?from={}", record.customer.id, s.id)),
        send_now_href: (s.state == SubmissionState::NeedsSignIn && can_attest)
            .then(|| format!("/customers/{}/submissions/{}/send", record.customer.id, s.id)),
        acceptance_link: waiting.map(String::from).unwrap_or_default(),
        key: s.id.clone(),
    }
}

/// Where a submission stands, in a sentence; `attester` for those who see the acceptance
/// link and may send a submission that waits for a sign-in.
fn submission_detail(s: &Submission, attester: bool) -> Option<String> {
    match s.state {
        SubmissionState::Queued if s.acceptance_link.is_some() => Some(if attester {
            "Waiting for the customer to accept at the link below.".to_string()
        } else {
            "Waiting for the customer to accept at the link an Admin or Sales agent sent them.".to_string()
        }),
        SubmissionState::Queued => Some(match &s.last_error {
            Some(e) => format!(
                "{} attempt(s) so far; the next one is at {}. Last: {e}",
                s.attempts,
                s.next_attempt_at.format("%H:%M:%S UTC")
            ),
            None => "Waiting to be sent.".to_string(),
        }),
        SubmissionState::Failed => s.last_error.clone(),
        SubmissionState::Delivered => None,
        SubmissionState::NeedsSignIn => {
            let why = s.last_error.as_deref().unwrap_or("Not sent yet: the sign-in it was saved with has ended.");
            Some(if attester {
                format!("{why} Choose Send now to send it with your sign-in.")
            } else {
                format!("{why} An Admin or Sales agent of your organization can send it with their sign-in.")
            })
        }
    }
}

/// The customer as stored; on first view its details too (the list carries no billing
/// profile).
async fn record_of(state: &AppState, signed: &Signed, id: &str) -> Result<CustomerRecord, AppError> {
    let tenant = &signed.user.tenant_id;
    let record = state.store.customer_get(tenant, id).await?.ok_or(AppError::NotFound)?;
    if record.customer.billing.is_some() {
        return Ok(record);
    }
    let token = session::access_token(state, signed).await?;
    state.workflows.read_customer(&signed.user, &token, id).await?;
    state.store.customer_get(tenant, id).await?.ok_or(AppError::NotFound)
}

/// Whether the customer can transact today (UTC), from what its page shows.
fn account_readiness(record: &CustomerRecord, policy: &ReattestationPolicy) -> ReadinessVerdict {
    ReadinessInputs {
        status: record.status,
        accepted_directly: record.accepted_directly,
        latest_attestation: latest_of(record.attestations.iter().map(|a| a.date_agreed)),
    }
    .readiness(policy, Utc::now().date_naive())
}

/// The sentence before the actions a blocked customer is refused (the reasons above it
/// say what would unblock it).
fn blocked_lead(v: &ReadinessVerdict) -> Option<&'static str> {
    let first = v.reasons.first().filter(|_| v.readiness == Readiness::Blocked)?;
    Some(match first.code {
        "not_read" => "Until Partner Center gives this customer's agreements, count on none of these:",
        _ => "Microsoft refuses this customer's:",
    })
}

#[get("/customers/{id}")]
async fn account(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !is_customer_id(&id) {
        return Err(AppError::NotFound);
    }
    session::read_if_never_read(&state, &signed).await?;
    let record = record_of(&state, &signed, &id).await?;
    let readiness = account_readiness(&record, &state.settings.policy());
    let stored = state.store.submissions_for_customer(&signed.user.tenant_id, &id, 10).await?;
    let submissions = stored.iter().map(|s| submission_view(s, &record, &signed)).collect();
    let latest = state.workflows.latest_invitation(&signed.user, &id).await?;
    let view = CustomerAccountPage {
        latest_invitation: latest.as_ref().map(LatestInvitation::of),
        can_invite_to_accept: signed.user.permissions().can_invite && record.accepted_directly != Some(true),
        layout: signed.layout(&record.customer.company_name),
        submissions,
        reseller_note: (signed.user.partner_type == crate::domain::PartnerType::IndirectReseller)
            .then(|| crate::domain::roles::indirect_reseller_refusal(signed.user.provider_name.as_deref())),
        blocked_lead: blocked_lead(&readiness),
        readiness,
        relationship: record.customer.relationship.as_deref().map(relationship_label),
        read_at: record.read_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        today_utc: chrono::Utc::now().date_naive().to_string(),
        enhanced: state.settings.attestation_mode == crate::config::AttestationMode::Enhanced,
        record,
    };
    Ok(page(&view))
}

#[post("/customers/{id}/refresh")]
async fn refresh_one(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !is_customer_id(&id) {
        return Err(AppError::NotFound);
    }
    // Only a customer this tenant already knows: the store is the tenant boundary.
    if state.store.customer_get(&signed.user.tenant_id, &id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let token = session::access_token(&state, &signed).await?;
    state.workflows.refresh_one(&signed.user, &token, &id).await?;
    session::set_flash(
        &signed.session,
        &format!("Read again from Partner Center at {}.", chrono::Utc::now().format("%H:%M UTC")),
    );
    Ok(redirect(&format!("/customers/{id}")))
}

/// Send now: a submission left waiting for a sign-in (its user signed out, or their
/// session ended) is sent with the signed-in attester's sign-in.
#[post("/customers/{id}/submissions/{submission}/send")]
async fn send_now(
    state: web::Data<AppState>,
    attester: Attester,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, submission) = path.into_inner();
    if !is_customer_id(&id) || !is_customer_id(&submission) {
        return Err(AppError::NotFound);
    }
    let Attester { signed, proof } = attester;
    let tokens = session::fresh_tokens(&state, &signed).await?;
    let message = match state.workflows.send_now(&proof, &tokens, &id, &submission).await? {
        SendNowOutcome::NotWaiting => {
            "This submission no longer waits for a sign-in: someone sent it already. Where it stands is shown below."
                .to_string()
        }
        SendNowOutcome::Sent(Some(Outcome::Delivered)) => {
            "Sent with your sign-in: Partner Center recorded the attestation.".to_string()
        }
        SendNowOutcome::Sent(Some(Outcome::Waiting { .. })) => {
            "Sent with your sign-in: the customer's acceptance link is ready below; send it to the customer.".to_string()
        }
        SendNowOutcome::Sent(Some(Outcome::Failed { reason, .. })) => {
            format!("Sent with your sign-in, and Partner Center refused it: {reason}")
        }
        SendNowOutcome::Sent(_) => {
            "Saved with your sign-in: it will be sent to Partner Center automatically. The customer shows Pending until Partner Center has it.".to_string()
        }
    };
    session::set_flash(&signed.session, &message);
    Ok(redirect(&format!("/customers/{id}")))
}

/// Fetched on click: the link Partner Center gives is valid for five minutes, so it is
/// never stored or shown in advance.
#[get("/customers/{id}/agreement-document")]
async fn agreement_document(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    if !is_customer_id(&id) {
        return Err(AppError::NotFound);
    }
    session::read_if_never_read(&state, &signed).await?;
    let record = state.store.customer_get(&signed.user.tenant_id, &id).await?.ok_or(AppError::NotFound)?;
    let token = session::access_token(&state, &signed).await?;
    let link = state.workflows.agreement_document(&token, &record.customer).await?;
    Ok(redirect(&link))
}

/// Partner Center's `relationshipToPartner` in words.
fn relationship_label(r: &str) -> String {
    match r.to_ascii_lowercase().as_str() {
        "reseller" => "Reseller (your organization sells to this customer)".into(),
        "advisor" => "Advisor".into(),
        "none" => "None".into(),
        other => {
            let mut c = other.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // The refresh of all customers (`/customers/refresh…`) is routed before these.
    cfg.service(list).service(account).service(refresh_one).service(send_now).service(agreement_document);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_keeps_search_and_filter() {
        let links = pager("a&b", Some(EffectiveStatus::Attested), 5, 10);
        let labels: Vec<_> = links.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["1", "3", "4", "5", "6", "7", "10"]);
        assert!(links[0].href.contains("q=a%26b"));
        assert!(links[0].href.contains("status=attested"));
        assert!(!links[0].href.contains("page="));
        assert!(links.iter().find(|l| l.current).unwrap().href.ends_with("page=5"));
    }
}
