//! Customers: the list (search, status and acceptance filters, orders, page sizes,
//! keyset paging; `customer_query` reads its address) and the new customers not
//! created yet; the customer account page with its Microsoft Customer Agreement section;
//! Refresh; Send now; the agreement document link.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};

use super::AppState;
use super::customer_query::{ListQuery, ListView, page_sizes};
use super::errors::{AppError, page, redirect};
use super::extractors::{Agent, Attester, Signed};
use super::pages::{
    Choice, CustomerAccountPage, CustomerRow, CustomersPage, HiddenField, LatestInvitation, NewCustomerRow,
    SubmissionView, customers_count, thousands,
};
use super::session;
use crate::domain::readiness::latest_of;
use crate::domain::{
    CustomerSummary, EffectiveStatus, PartnerType, Readiness, ReadinessInputs, ReadinessVerdict, ReattestationPolicy,
    is_customer_id,
};
use crate::store::{
    Acceptance, CustomerFilter, CustomerRecord, CustomerSort, Position, SEARCH_ANYWHERE_FROM, SEARCH_COUNTED,
    StatusCounts, Submission, SubmissionState,
};
use crate::workflows::{Outcome, RelatedPartner, SendNowOutcome};

/// "1 customer", "2 customers".
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
/// the list, after which a customer added with Add customer is marked as added here;
/// `resellers` the partner's indirect resellers, to name a customer's; `policy` the
/// re-attestation rule its readiness today (UTC) is judged by, from the row alone.
fn customer_row(
    c: &CustomerSummary,
    synced: Option<DateTime<Utc>>,
    resellers: &[RelatedPartner],
    policy: &ReattestationPolicy,
) -> CustomerRow {
    let added_here = c.added_here_at.filter(|added| synced.is_none_or(|read| *added >= read));
    let latest = c.latest_attestation.as_ref();
    let inputs = ReadinessInputs::of_summary(c, latest.map(|a| a.date_agreed));
    let user_id = latest.and_then(|a| a.user_id.clone());
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
        attested_on: latest.map(|a| a.date_agreed.to_string()),
        attested_by: latest.and_then(|a| a.user_name.clone()),
        attested_by_note: match (latest, &user_id) {
            (None, _) => "no attestation",
            (Some(_), None) => "not recorded by Partner Center",
            (Some(_), Some(_)) => "a user who has not signed in here",
        },
        attested_by_id: user_id.filter(|_| latest.is_some_and(|a| a.user_name.is_none())),
        readiness: inputs.answer(policy, Utc::now().date_naive()).label(),
        reseller: c.associated_partner_id.as_ref().map(|id| {
            resellers.iter().find(|r| r.id.eq_ignore_ascii_case(id)).map(|r| r.name.clone()).unwrap_or(id.clone())
        }),
    }
}

/// An indirect provider's indirect resellers, to name them in the list: read from
/// Partner Center (kept ten minutes) only when the page shows a customer of one.
async fn resellers_for(state: &AppState, signed: &Signed, items: &[CustomerSummary]) -> Vec<RelatedPartner> {
    if signed.user.partner_type != PartnerType::IndirectProvider
        || items.iter().all(|c| c.associated_partner_id.is_none())
    {
        return Vec::new();
    }
    session::indirect_resellers(state, signed).await
}

/// The options of the filter form's selects that have no count.
fn choices(view: &ListView, configured: u32) -> (Vec<Choice>, Vec<Choice>, Vec<Choice>) {
    let acceptance = Acceptance::ALL
        .into_iter()
        .map(|a| Choice {
            key: a.key().into(),
            label: a.label().into(),
            selected: view.query.filter.acceptance == Some(a),
        })
        .collect();
    let sort = CustomerSort::ALL
        .into_iter()
        .map(|s| Choice { key: s.key().into(), label: s.label().into(), selected: view.query.sort == s })
        .collect();
    let sizes = page_sizes(configured)
        .into_iter()
        .map(|n| Choice { key: n.to_string(), label: format!("{n} a page"), selected: view.page_size == n })
        .collect();
    (acceptance, sort, sizes)
}

/// The view as hidden fields, for Refresh list to come back to the same rows.
fn view_fields(view: &ListView, configured: u32) -> Vec<HiddenField> {
    let href = view.href(&view.position, configured);
    let query = href.split_once('?').map(|(_, q)| q).unwrap_or("");
    let known = ["q", "status", "acceptance", "sort", "size", "after", "before", "last"];
    url::form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| known.iter().find(|n| **n == k).map(|name| HiddenField { name, value: v.into_owned() }))
        .collect()
}

/// "Showing 25 of 36 customers." for the rows shown and the counts of the view.
fn showing(shown: usize, view: &ListView, counts: &StatusCounts) -> String {
    if !counts.complete {
        return format!("Showing {shown} of more than {} matching customers.", thousands(SEARCH_COUNTED));
    }
    let total = match view.query.filter.status {
        Some(status) => counts.of(status),
        None => counts.total(),
    };
    format!("Showing {shown} of {}.", customers_count(total))
}

/// The column the list is sorted by and its direction, for `aria-sort`.
fn sorted_by(sort: CustomerSort) -> (&'static str, &'static str) {
    match sort {
        CustomerSort::Name => ("name", "ascending"),
        CustomerSort::Status => ("status", "ascending"),
        CustomerSort::AttestedNewest => ("attested", "descending"),
        CustomerSort::AttestedOldest => ("attested", "ascending"),
    }
}

/// How many of the partner's customers could not be read, for the list's warning: from
/// the view's own counts when it shows every customer, otherwise from the kept counts.
async fn not_read_count(
    state: &AppState,
    tenant: &str,
    filter: &CustomerFilter,
    counts: &StatusCounts,
) -> Result<i64, AppError> {
    if filter.search.is_empty() && filter.acceptance.is_none() {
        return Ok(counts.of(EffectiveStatus::NotRead));
    }
    Ok(state.store.customer_counts(tenant).await?.matching(Some(EffectiveStatus::NotRead), None))
}

#[get("/customers")]
async fn list(
    state: web::Data<AppState>,
    Agent(signed): Agent,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let record = session::read_if_never_read(&state, &signed).await?;
    let tenant = &signed.user.tenant_id;
    let configured = state.settings.customers_page_size;
    let view = q.view(configured);
    let counts = state.store.customer_status_counts(tenant, &view.query.filter).await?;
    let found = state.store.customer_list_counted(tenant, &view.query, &view.position, view.page_size, &counts).await?;
    let synced = record.and_then(|t| t.customers_synced_at);
    let resellers = resellers_for(&state, &signed, &found.items).await;
    let rows = found.items.iter().map(|c| customer_row(c, synced, &resellers, &state.settings.policy())).collect();
    let progress = state.workflows.refresh_progress_if_unfinished(tenant).await?;
    let (new_customers, new_customers_more) = new_customers_not_created(&state, &signed).await?;
    let (acceptance_options, sort_options, size_options) = choices(&view, configured);
    let link = |p: Option<Position>| p.map(|p| view.href(&p, configured));
    let filter = &view.query.filter;
    let not_read = not_read_count(&state, tenant, filter, &counts).await?;
    let page_view = CustomersPage {
        layout: signed.layout("Customers"),
        rows,
        cutoff: state.settings.reattestation_cutoff.to_string(),
        not_read,
        progress,
        all_statuses_label: match (counts.complete, filter.search.is_empty()) {
            (false, _) => format!("All statuses (more than {} matching)", thousands(SEARCH_COUNTED)),
            (true, true) => format!("All statuses ({})", thousands(counts.total())),
            (true, false) => format!("All statuses ({} matching)", thousands(counts.total())),
        },
        showing: showing(found.items.len(), &view, &counts),
        status_options: CustomersPage::counts(&counts, filter.status),
        status_filter: filter.status,
        search_is_prefix: !filter.search.is_empty() && filter.search.chars().count() < SEARCH_ANYWHERE_FROM,
        filtered: !filter.search.is_empty() || filter.status.is_some() || filter.acceptance.is_some(),
        acceptance_options,
        acceptance_filter: filter.acceptance.map(|a| a.label()),
        sort_options,
        size_options,
        sorted_by: sorted_by(view.query.sort),
        unknown_status: view.unknown_status.clone(),
        unknown_acceptance: view.unknown_acceptance.clone(),
        first: found.has_previous.then(|| view.href(&Position::First, configured)),
        previous: link(found.previous(view.query.sort)),
        next: link(found.next(view.query.sort)),
        last: found.has_next.then(|| view.href(&Position::Last, configured)),
        view_fields: view_fields(&view, configured),
        export_href: view.export_href(),
        show_reseller: signed.user.partner_type == PartnerType::IndirectProvider,
        search: filter.search.clone(),
        synced_at: synced.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        new_customers,
        new_customers_more,
    };
    Ok(page(&page_view))
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
