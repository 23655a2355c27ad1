//! The sandbox Partner Center API, read side. It writes its JSON by hand, independent of
//! the portal's client models, and enforces what Partner Center enforces: its own tokens
//! only, for the Partner Center audience, each caller seeing its own tenant's customers.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PARTNER_CENTER_AUDIENCE;
use super::idp::message;
use super::rules;
use super::seed::{self, SeedAgreement, SeedCustomer};
use super::state::SandboxState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/customers", web::get().to(list_customers))
        .route("/v1/customers/{id}", web::get().to(get_customer))
        .route("/v1/customers/{id}/agreements", web::get().to(list_agreements))
        .route("/v1/customers/{id}/directSignedMicrosoftCustomerAgreementStatus", web::get().to(direct_status))
        .route("/v1/agreements", web::get().to(agreement_metadata))
        .route("/v1/agreementtemplates/{template}/document", web::get().to(agreement_document))
        .route("/v1/relationships", web::get().to(relationships))
        .route("/v1/profiles/organization", web::get().to(organization_profile))
        .route("/documents/{template}", web::get().to(document_page));
}

/// An error in Partner Center's newer JSON shape. Where `docs/partner-center.md` names no
/// Partner Center code for a refusal, the code is the HTTP status: the sandbox does not
/// invent Microsoft codes.
pub(crate) fn pc_error(status: StatusCode, code: u32, error_name: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "code": code,
        "message": description,
        "description": description,
        "errorName": error_name,
        "isRetryable": false,
        "parameters": {},
        "errorMessageExtended": format!("InternalErrorCode={code}"),
    }))
}

pub(crate) enum Caller {
    User { tenant: String, oid: String, groups: Vec<String> },
    App { tenant: String },
}

impl Caller {
    pub(crate) fn tenant(&self) -> &str {
        match self {
            Caller::User { tenant, .. } | Caller::App { tenant } => tenant,
        }
    }
}

fn unauthorized(why: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
        ))
        .json(json!({"code": 401, "description": why, "errorName": "Unauthorized"}))
}

pub(crate) fn authenticate(state: &SandboxState, req: &HttpRequest) -> Result<Caller, HttpResponse> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("A bearer token is required."))?;
    let claims = state.key.verify(token.trim()).map_err(unauthorized)?;
    if claims["iss"] != state.issuer.as_str() {
        return Err(unauthorized("The token was issued by someone else."));
    }
    if claims["aud"] != PARTNER_CENTER_AUDIENCE {
        return Err(unauthorized("The token is not for Partner Center."));
    }
    if claims["exp"].as_i64().is_none_or(|e| e <= chrono::Utc::now().timestamp()) {
        return Err(unauthorized("The token has expired."));
    }
    let tenant = claims["tid"].as_str().unwrap_or_default().to_string();
    if claims["scp"].as_str().is_some_and(|s| s.split(' ').any(|x| x == "user_impersonation")) {
        let groups = claims["groups"]
            .as_array()
            .map(|a| a.iter().filter_map(|g| g.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let oid = claims["oid"].as_str().unwrap_or_default().to_string();
        Ok(Caller::User { tenant, oid, groups })
    } else if claims["idtyp"] == "app" {
        Ok(Caller::App { tenant })
    } else {
        Err(unauthorized("The token carries neither a delegated scope nor an application identity."))
    }
}

/// Partner Center answers only users with an agent role (or the application itself).
pub(crate) fn require_agent(caller: &Caller) -> Result<(), HttpResponse> {
    match caller {
        Caller::App { .. } => Ok(()),
        Caller::User { tenant, groups, .. } => {
            if rules::agent_roles(tenant, groups).is_some_and(|roles| !roles.is_empty()) {
                Ok(())
            } else {
                Err(pc_error(
                    StatusCode::FORBIDDEN,
                    600006,
                    "ActionNotAllowed",
                    "The requested action is not allowed for this user: an agent role is required.",
                ))
            }
        }
    }
}

/// For App+User calls: a delegated user token with an agent role.
fn require_user_agent(caller: &Caller) -> Result<(), HttpResponse> {
    if matches!(caller, Caller::App { .. }) {
        return Err(pc_error(
            StatusCode::FORBIDDEN,
            600006,
            "ActionNotAllowed",
            "This call requires App+User credentials.",
        ));
    }
    require_agent(caller)
}

pub(crate) fn customer_json(c: &SeedCustomer, with_billing: bool) -> Value {
    let mut v = json!({
        "id": c.id,
        "commerceId": format!("cm-{}", &c.id[..8]),
        "companyProfile": {
            "tenantId": c.id,
            "domain": c.domain,
            "companyName": c.company_name,
            "attributes": {"objectType": "CustomerCompanyProfile"}
        },
        "relationshipToPartner": "reseller",
        "allowDelegatedAccess": true,
        "links": {"self": {"uri": format!("/customers/{}", c.id), "method": "GET", "headers": []}},
        "attributes": {"objectType": "Customer"}
    });
    if let Some(reseller) = &c.associated_partner_id {
        v["associatedPartnerId"] = json!(reseller);
    }
    if with_billing && let Some(b) = &c.billing {
        v["billingProfile"] = b.clone();
    } else if with_billing {
        let contact = c.agreements.last().map(|a| a.contact.clone());
        let prefix = c.domain.split('.').next().unwrap_or_default();
        v["billingProfile"] = json!({
            "email": format!("billing@{prefix}.example"),
            "culture": c.culture,
            "language": &c.culture[..2],
            "companyName": c.company_name,
            "defaultAddress": {
                "firstName": contact.as_ref().map(|c| c.first_name.clone()).unwrap_or_else(|| "Pat".into()),
                "lastName": contact.as_ref().map(|c| c.last_name.clone()).unwrap_or_else(|| "Doe".into()),
                "addressLine1": "1 Demo Street",
                "city": c.city,
                "postalCode": "10001",
                "country": c.country,
                "phoneNumber": "4255550100"
            },
            "attributes": {"objectType": "CustomerBillingProfile"}
        });
    }
    v
}

#[derive(Deserialize)]
struct ListQuery {
    size: Option<usize>,
}

fn encode_continuation(tenant: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tenant}|{offset}"))
}

fn decode_continuation(tenant: &str, token: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (t, off) = text.split_once('|')?;
    (t == tenant).then(|| off.parse().ok()).flatten()
}

async fn list_customers(state: web::Data<SandboxState>, req: HttpRequest, q: web::Query<ListQuery>) -> HttpResponse {
    let caller = match authenticate(&state, &req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = require_agent(&caller) {
        return r;
    }
    let size = q.size.unwrap_or(40).clamp(1, 500);
    let offset = match req.headers().get("MS-ContinuationToken").and_then(|v| v.to_str().ok()) {
        Some(tok) => match decode_continuation(caller.tenant(), tok) {
            Some(o) => o,
            None => {
                return pc_error(
                    StatusCode::BAD_REQUEST,
                    400,
                    "InvalidContinuationToken",
                    "The continuation token is not valid.",
                );
            }
        },
        None => 0,
    };
    let d = state.data();
    let mine: Vec<&SeedCustomer> = d.customers.iter().filter(|c| rules::sees_customer(caller.tenant(), c)).collect();
    let page: Vec<Value> = mine.iter().skip(offset).take(size).map(|c| customer_json(c, false)).collect();
    let mut body = json!({
        "totalCount": page.len(),
        "items": page,
        "links": {"self": {"uri": format!("/customers?size={size}"), "method": "GET", "headers": []}},
        "attributes": {"objectType": "Collection"}
    });
    if offset + size < mine.len() {
        let token = encode_continuation(caller.tenant(), offset + size);
        body["continuationToken"] = json!(token);
        body["links"]["next"] = json!({
            "uri": format!("/customers?size={size}&seekOperation=Next"),
            "method": "GET",
            "headers": [{"key": "MS-ContinuationToken", "value": token}]
        });
    }
    HttpResponse::Ok().json(body)
}

fn with_customer<F: FnOnce(&SeedCustomer) -> HttpResponse>(
    state: &SandboxState,
    caller: &Caller,
    id: &str,
    f: F,
) -> HttpResponse {
    let d = state.data();
    // Another partner's customer is as unknown as a customer that does not exist.
    match d.customers.iter().find(|c| c.id == id && rules::sees_customer(caller.tenant(), c)) {
        Some(c) => f(c),
        None => {
            pc_error(StatusCode::NOT_FOUND, 404, "CustomerNotFound", "The customer was not found for this partner.")
        }
    }
}

async fn get_customer(state: web::Data<SandboxState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_agent(&c).map(|_| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    with_customer(&state, &caller, &id, |c| HttpResponse::Ok().json(customer_json(c, true)))
}

#[derive(Deserialize)]
struct AgreementQuery {
    #[serde(rename = "agreementType")]
    agreement_type: Option<String>,
}

async fn list_agreements(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    id: web::Path<String>,
    q: web::Query<AgreementQuery>,
) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_user_agent(&c).map(|_| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if state.data().unreadable.contains(id.as_str()) {
        return pc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
        );
    }
    let template = state.template_id.clone();
    with_customer(&state, &caller, &id, |c| {
        let items: Vec<Value> = match q.agreement_type.as_deref() {
            Some("MicrosoftCustomerAgreement") => c.agreements.iter().map(|a| mca_json(a, &template)).collect(),
            // As the real service: leaving the type out answers with the Cloud Agreement.
            None | Some("MicrosoftCloudAgreement") => c.agreements.iter().take(1).map(cloud_agreement_json).collect(),
            Some(other) => {
                return pc_error(
                    StatusCode::BAD_REQUEST,
                    400,
                    "InvalidAgreementType",
                    &format!("Unknown agreement type {other}."),
                );
            }
        };
        HttpResponse::Ok()
            .json(json!({"totalCount": items.len(), "items": items, "attributes": {"objectType": "Collection"}}))
    })
}

/// One partner attestation of the Microsoft Customer Agreement, as the list shows it.
fn mca_json(a: &SeedAgreement, template: &str) -> Value {
    json!({
        "primaryContact": {
            "firstName": a.contact.first_name,
            "lastName": a.contact.last_name,
            "email": a.contact.email,
            "phoneNumber": a.contact.phone,
        },
        "templateId": template,
        "dateAgreed": format!("{}T00:00:00Z", a.date_agreed),
        "type": "MicrosoftCustomerAgreement",
        "agreementLink": "https://aka.ms/customeragreement",
        "userId": a.user_id,
    })
}

/// The older Microsoft Cloud Agreement a customer with any attestation is shown to have.
fn cloud_agreement_json(a: &SeedAgreement) -> Value {
    json!({
        "primaryContact": {"firstName": a.contact.first_name, "lastName": a.contact.last_name, "email": a.contact.email},
        "templateId": "998b88de-aa99-4388-a42c-1b3517d49490",
        "dateAgreed": "2019-06-01T00:00:00Z",
        "type": "MicrosoftCloudAgreement",
        "userId": null,
    })
}

async fn direct_status(state: web::Data<SandboxState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_user_agent(&c).map(|_| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if state.data().unreadable.contains(id.as_str()) {
        return pc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
        );
    }
    with_customer(&state, &caller, &id, |c| HttpResponse::Ok().json(json!({"isSigned": c.accepted_directly})))
}

async fn agreement_metadata(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    q: web::Query<AgreementQuery>,
) -> HttpResponse {
    if let Err(r) = authenticate(&state, &req).and_then(|c| require_user_agent(&c)) {
        return r;
    }
    let items = match q.agreement_type.as_deref() {
        Some("MicrosoftCustomerAgreement") => vec![json!({
            "templateId": state.template_id,
            "agreementType": "MicrosoftCustomerAgreement",
            "agreementLink": "https://aka.ms/customeragreement",
            "versionRank": 0,
        })],
        _ => vec![json!({
            "templateId": "998b88de-aa99-4388-a42c-1b3517d49490",
            "agreementType": "MicrosoftCloudAgreement",
            "agreementLink": "https://aka.ms/microsoftcloudagreement",
            "versionRank": 0,
        })],
    };
    HttpResponse::Ok()
        .json(json!({"totalCount": items.len(), "items": items, "attributes": {"objectType": "Collection"}}))
}

#[derive(Deserialize)]
struct DocumentQuery {
    language: Option<String>,
    country: Option<String>,
}

async fn agreement_document(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    template: web::Path<String>,
    q: web::Query<DocumentQuery>,
) -> HttpResponse {
    if let Err(r) = authenticate(&state, &req).and_then(|c| require_user_agent(&c)) {
        return r;
    }
    // Template id and country are case-sensitive in the real service.
    if *template != state.template_id {
        return pc_error(StatusCode::NOT_FOUND, 404, "TemplateNotFound", "The agreement template was not found.");
    }
    let language = q.language.clone().unwrap_or_else(|| "en-US".into());
    let country = q.country.clone().unwrap_or_else(|| "US".into());
    if country.len() != 2 || country.chars().any(|c| !c.is_ascii_uppercase()) {
        return pc_error(StatusCode::BAD_REQUEST, 400, "InvalidCountry", "The country must be two capital letters.");
    }
    let expires = chrono::Utc::now().timestamp() + 300;
    let mut uri = url::Url::parse(&format!("{}/documents/{}", state.link_base(), template.as_str())).expect("valid");
    uri.query_pairs_mut()
        .append_pair("language", &language)
        .append_pair("country", &country)
        .append_pair("expires", &expires.to_string());
    HttpResponse::Ok().json(json!({
        "displayUri": uri.as_str(),
        "downloadUri": format!("{uri}&download=1"),
        "language": language,
        "country": country,
    }))
}

#[derive(Deserialize)]
struct DocumentPageQuery {
    language: Option<String>,
    country: Option<String>,
    expires: Option<i64>,
}

async fn document_page(q: web::Query<DocumentPageQuery>) -> HttpResponse {
    if q.expires.is_none_or(|e| e < chrono::Utc::now().timestamp()) {
        return message(
            StatusCode::GONE,
            "This link has expired",
            "Links to the agreement document are valid for five minutes. Go back to the customer's page and open the document again.",
        );
    }
    message(
        StatusCode::OK,
        "Microsoft Customer Agreement (sandbox copy)",
        &format!(
            "This page stands in for the Microsoft Customer Agreement document in the language {} for the country {}. The real document is served by Microsoft.",
            q.language.as_deref().unwrap_or("en-US"),
            q.country.as_deref().unwrap_or("US")
        ),
    )
}

#[derive(Deserialize)]
struct RelationshipQuery {
    relationship_type: Option<String>,
}

async fn relationships(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    q: web::Query<RelationshipQuery>,
) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_user_agent(&c).map(|_| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let [contoso, fabrikam] = &seed::TENANTS;
    let item = |t: &seed::SeedTenant, kind: &str| json!({"id": t.id, "name": t.name, "relationshipType": kind, "mpnId": t.mpn_id, "attributes": {"objectType": "PartnerRelationship"}});
    let items = match (q.relationship_type.as_deref(), caller.tenant()) {
        (Some("IsIndirectCloudSolutionProviderOf"), t) if t == contoso.id => {
            vec![item(fabrikam, "IsIndirectCloudSolutionProviderOf")]
        }
        (Some("IsIndirectResellerOf"), t) if t == fabrikam.id => {
            vec![item(contoso, "IsIndirectResellerOf")]
        }
        (Some("IsIndirectCloudSolutionProviderOf" | "IsIndirectResellerOf"), _) => vec![],
        _ => {
            return pc_error(
                StatusCode::BAD_REQUEST,
                400,
                "InvalidRelationshipType",
                "relationship_type must be IsIndirectCloudSolutionProviderOf or IsIndirectResellerOf.",
            );
        }
    };
    HttpResponse::Ok()
        .json(json!({"totalCount": items.len(), "items": items, "attributes": {"objectType": "Collection"}}))
}

async fn organization_profile(state: web::Data<SandboxState>, req: HttpRequest) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_agent(&c).map(|_| c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match seed::TENANTS.iter().find(|t| t.id == caller.tenant()) {
        Some(t) => HttpResponse::Ok().json(json!({
            "id": t.id,
            "companyName": t.name,
            "tenantId": t.id,
            "domain": t.domain,
            "attributes": {"objectType": "OrganizationProfile"}
        })),
        None => pc_error(StatusCode::NOT_FOUND, 404, "PartnerNotFound", "The partner was not found."),
    }
}
