//! The sandbox's memory: seeded partner data, authorization codes, refresh tokens, test
//! switches and a record of every request it received.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

use super::faults::{FaultState, Faults};
use super::jwt::KeyPair;
use super::seed::{self, SeedCustomer, SeedUser};

/// `Debug` does not show the client secret.
#[derive(Clone)]
pub struct SandboxOptions {
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of access tokens; short values exercise the portal's refresh.
    pub access_token_seconds: i64,
    /// What goes wrong on the Partner Center API, and how often.
    pub faults: Faults,
    /// More generated customers for Contoso, besides the named seed.
    pub extra_customers: usize,
    /// Where the links the sandbox hands out (agreement documents, acceptance links)
    /// point, instead of the sandbox itself: for trying how the portal treats links to
    /// other places, such as plain `http` ones.
    pub link_base: Option<String>,
    /// Partner tenants that are direct-bill partners too: they may attest (App+User and
    /// enhanced) even where the seed makes them an indirect reseller. The sandbox's own
    /// setting; it never reads the portal's.
    pub direct_bill_tenants: Vec<String>,
    /// Whether discovery offers `end_session_endpoint` (RP-Initiated Logout).
    pub end_session: bool,
    /// Whether a refresh answer carries an ID token, as Entra ID's does.
    pub id_token_on_refresh: bool,
    /// How many records a page of the agreement-records listing holds.
    pub agreement_records_page_size: usize,
}

impl std::fmt::Debug for SandboxOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxOptions")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("access_token_seconds", &self.access_token_seconds)
            .field("faults", &self.faults)
            .field("extra_customers", &self.extra_customers)
            .field("link_base", &self.link_base)
            .field("direct_bill_tenants", &self.direct_bill_tenants)
            .field("end_session", &self.end_session)
            .field("id_token_on_refresh", &self.id_token_on_refresh)
            .field("agreement_records_page_size", &self.agreement_records_page_size)
            .finish()
    }
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            client_id: super::DEFAULT_CLIENT_ID.into(),
            client_secret: super::CLIENT_SECRET.into(),
            access_token_seconds: 3600,
            faults: Faults::default(),
            extra_customers: 0,
            link_base: None,
            direct_bill_tenants: Vec::new(),
            end_session: true,
            id_token_on_refresh: true,
            agreement_records_page_size: 250,
        }
    }
}

/// A deliberate fault in the next ID token, for testing that the portal refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenDefect {
    Expired,
    Tampered,
    WrongNonce,
    WrongAudience,
    WrongIssuer,
    /// No `tid` claim, as some providers other than Entra ID send.
    MissingTenant,
    /// A `tid` that is not a tenant id.
    MalformedTenant,
}

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path_and_query: String,
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
    pub contract_version: Option<String>,
    pub bearer: bool,
    pub continuation_token: Option<String>,
    /// The status of the answer, once it was given (None while the request is under way).
    pub status: Option<u16>,
    /// The order requests came in, to match an answer to its request.
    pub seq: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_oid: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub issued_at: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub client_id: String,
    pub user_oid: String,
    pub scope: String,
}

pub(crate) struct Data {
    pub customers: Vec<SeedCustomer>,
    pub codes: HashMap<String, CodeGrant>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub next_defect: Option<IdTokenDefect>,
    /// Group memberships changed since the seed, by user oid.
    pub group_changes: HashMap<String, Vec<&'static str>>,
    /// The users whose session was ended at the end-session endpoint, by oid, in order.
    pub ended_sessions: Vec<String>,
    pub enhanced: HashMap<String, Enhanced>,
    /// Customers whose agreements and direct acceptance the API refuses to give (503),
    /// for tests.
    pub unreadable: std::collections::HashSet<String>,
    pub requests: Vec<RecordedRequest>,
    /// The number of the next request recorded.
    pub next_seq: u64,
}

/// An enhanced attestation waiting for, or given, the customer's acceptance.
#[derive(Debug, Clone)]
pub(crate) struct Enhanced {
    pub tenant_id: String,
    pub customer_id: Option<String>,
    pub company_name: String,
    pub contact: super::seed::SeedContact,
    pub expires_at: i64,
    pub accepted_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub struct SandboxState {
    pub base_url: String,
    pub issuer: String,
    pub(crate) key: Arc<KeyPair>,
    pub(crate) options: SandboxOptions,
    pub(crate) users: Vec<SeedUser>,
    pub(crate) template_id: String,
    data: Mutex<Data>,
    faults: Mutex<FaultState>,
}

impl SandboxState {
    /// The address links handed out start with: `link_base`, or the sandbox itself.
    pub(crate) fn link_base(&self) -> &str {
        self.options.link_base.as_deref().unwrap_or(&self.base_url)
    }

    pub fn new(base_url: &str, options: SandboxOptions) -> Self {
        let mut customers = seed::customers();
        customers.extend(seed::extra_customers(options.extra_customers));
        SandboxState {
            faults: Mutex::new(FaultState::new(options.faults.clone())),
            base_url: base_url.to_string(),
            issuer: format!("{base_url}/idp/v2.0"),
            key: KeyPair::shared(),
            options,
            users: seed::users(),
            // An MCA template id as Partner Center lists it; the portal must read it from the
            // metadata call (see docs/partner-center.md), never assume it.
            template_id: seed::MCA_TEMPLATE_ID.into(),
            data: Mutex::new(Data {
                customers,
                codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                next_defect: None,
                group_changes: HashMap::new(),
                ended_sessions: Vec::new(),
                enhanced: HashMap::new(),
                unreadable: Default::default(),
                requests: Vec::new(),
                next_seq: 0,
            }),
        }
    }

    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the fault settings of the running sandbox.
    pub fn set_faults(&self, faults: Faults) {
        self.faults().faults = faults;
    }

    /// The partner attestations the sandbox holds for a customer: (email, date, user).
    pub fn attestations_of(&self, customer_id: &str) -> Vec<(String, chrono::NaiveDate, Option<String>)> {
        self.data()
            .customers
            .iter()
            .filter(|c| c.id == customer_id)
            .flat_map(|c| c.agreements.iter().map(|a| (a.contact.email.clone(), a.date_agreed, a.user_id.clone())))
            .collect()
    }

    /// Records an attestation as if made through another tool, bypassing every rule.
    pub fn add_attestation(
        &self,
        customer_id: &str,
        first: &str,
        last: &str,
        email: &str,
        phone: Option<&str>,
        date: chrono::NaiveDate,
    ) {
        let mut d = self.data();
        if let Some(c) = d.customers.iter_mut().find(|c| c.id == customer_id) {
            c.agreements.push(super::seed::SeedAgreement {
                contact: super::seed::SeedContact {
                    first_name: first.into(),
                    last_name: last.into(),
                    email: email.into(),
                    phone: phone.map(String::from),
                },
                date_agreed: date,
                user_id: None,
            });
        }
    }

    /// Makes Partner Center fail (503) when this customer's agreements or direct acceptance
    /// are read, or not.
    pub fn set_unreadable(&self, customer_id: &str, unreadable: bool) {
        let mut d = self.data();
        if unreadable {
            d.unreadable.insert(customer_id.to_string());
        } else {
            d.unreadable.remove(customer_id);
        }
    }

    /// Accepts an enhanced attestation as the customer would at its link; false if unknown.
    pub fn accept_enhanced(&self, attestation_id: &str) -> bool {
        match self.data().enhanced.get_mut(attestation_id) {
            Some(e) => {
                e.accepted_at.get_or_insert_with(chrono::Utc::now);
                true
            }
            None => false,
        }
    }

    /// The names of the partners that made the enhanced attestations for a customer, as the
    /// sandbox recorded them (the partner of the App-only token that created each).
    pub fn enhanced_partner_names(&self, customer_id: &str) -> Vec<String> {
        let name =
            |tenant: &str| seed::TENANTS.iter().find(|t| t.id == tenant).map_or(tenant.to_string(), |t| t.name.into());
        self.data()
            .enhanced
            .values()
            .filter(|e| e.customer_id.as_deref() == Some(customer_id))
            .map(|e| name(&e.tenant_id))
            .collect()
    }

    /// Whether a partner may attest for its customers: not an indirect reseller, or a
    /// tenant these options make a direct-bill partner too.
    pub(crate) fn may_attest_as_partner(&self, tenant: &str) -> bool {
        super::rules::may_attest_as_partner(tenant, &self.options.direct_bill_tenants)
    }

    /// Makes the next ID token defective in the given way (once).
    pub fn set_next_id_token_defect(&self, defect: IdTokenDefect) {
        self.data().next_defect = Some(defect);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.data().requests.clone()
    }

    /// Changes what Partner Center says of a customer's direct acceptance (as if the
    /// customer had accepted in the Microsoft 365 admin center meanwhile).
    pub fn set_accepted_directly(&self, customer_id: &str, accepted: bool) -> bool {
        let mut d = self.data();
        match d.customers.iter_mut().find(|c| c.id == customer_id) {
            Some(c) => {
                c.accepted_directly = accepted;
                true
            }
            None => false,
        }
    }

    /// A demo user as the directory knows them now (with any change of their groups).
    pub(crate) fn user(&self, oid: &str) -> Option<SeedUser> {
        let mut user = self.users.iter().find(|u| u.oid == oid)?.clone();
        if let Some(groups) = self.data().group_changes.get(oid) {
            user.groups = groups.clone();
        }
        Some(user)
    }

    /// Puts the demo user with this name in exactly these groups from now on, as an
    /// administrator would in the directory: tokens issued later (renewals too) carry
    /// them. False when there is no such user.
    pub fn set_user_groups(&self, name: &str, groups: &[&'static str]) -> bool {
        let Some(oid) = self.users.iter().find(|u| u.name == name).map(|u| u.oid) else {
            return false;
        };
        self.data().group_changes.insert(oid.to_string(), groups.to_vec());
        true
    }

    /// The users whose session at the identity provider was ended, by oid, oldest first.
    pub fn ended_sessions(&self) -> Vec<String> {
        self.data().ended_sessions.clone()
    }
}

/// Middleware: keeps a record of each request, and of the status it was answered with,
/// for tests that check what was sent and what came back.
pub(crate) async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<SandboxState>>().cloned() else {
        return next.call(req).await;
    };
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(String::from);
    let mut rec = RecordedRequest {
        method: req.method().to_string(),
        path_and_query: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        request_id: h("MS-RequestId"),
        correlation_id: h("MS-CorrelationId"),
        contract_version: h("MS-Contract-Version"),
        bearer: h("Authorization").is_some_and(|a| a.starts_with("Bearer ")),
        continuation_token: h("MS-ContinuationToken"),
        status: None,
        seq: 0,
    };
    let seq = {
        let mut d = state.data();
        // Bounded, so a long demo run does not grow without end.
        if d.requests.len() >= 20_000 {
            d.requests.drain(..10_000);
        }
        rec.seq = d.next_seq;
        d.next_seq += 1;
        d.requests.push(rec);
        d.next_seq - 1
    };
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let mut d = state.data();
    if let Some(r) = d.requests.iter_mut().rev().find(|r| r.seq == seq) {
        r.status = Some(status);
    }
    Ok(res)
}
