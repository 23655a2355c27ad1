//! The sandbox's relationship request: `GET /v1/customers/relationshiprequests` answers
//! the link a customer opens to accept a reseller relationship, in the format seen in the
//! wild (`docs/partner-center.md`, "Relationship request links", keeps what each
//! parameter is taken to mean). The sandbox writes the link and reads it back, for its
//! own acceptance page, with this file's code only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::api::{Caller, authenticate, pc_error};
use super::rules;
use super::seed::{self, SeedTenant};
use super::state::SandboxState;

/// Where Microsoft's links lead: the Microsoft 365 admin center.
pub(crate) const ADMIN_CENTER: &str = "https://admin.microsoft.com/Adminportal/Home";
/// The fragment that opens the invitation in the admin center.
pub(crate) const FRAGMENT: &str = "/BillingAccounts/partner-invitation";
pub(crate) const RESELLER: &str = "ResellerRelationship";
pub(crate) const INDIRECT_RESELLER: &str = "IndirectResellerRelationship";

/// Registered before `/v1/customers/{id}`, which would take it for a customer id.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/customers/relationshiprequests", web::get().to(relationship_request));
}

/// A relationship invitation: the partner whose relationship it is, and for an indirect
/// reseller's, the indirect provider that bills the customer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Invitation {
    pub partner: &'static SeedTenant,
    pub provider: Option<&'static SeedTenant>,
}

impl Invitation {
    /// The link, in the known format; delegated administration is never part of it.
    pub(crate) fn link(&self) -> String {
        match self.provider {
            None => {
                format!("{ADMIN_CENTER}?invType={RESELLER}&partnerId={}&msppId=0&DAP=false#{FRAGMENT}", self.partner.id)
            }
            Some(p) => format!(
                "{ADMIN_CENTER}?invType={INDIRECT_RESELLER}&partnerId={}&msppId={}&indirectCSPId={}&DAP=false#{FRAGMENT}",
                self.partner.id, self.partner.mpn_id, p.id
            ),
        }
    }
}

pub(crate) fn tenant(id: &str) -> Option<&'static SeedTenant> {
    seed::TENANTS.iter().find(|t| t.id.eq_ignore_ascii_case(id.trim()))
}

#[derive(Deserialize)]
struct RequestQuery {
    #[serde(rename = "indirectResellerId")]
    reseller: Option<String>,
    #[serde(rename = "indirectCloudSolutionProviderId")]
    provider: Option<String>,
}

async fn relationship_request(
    state: web::Data<SandboxState>,
    req: HttpRequest,
    q: web::Query<RequestQuery>,
) -> HttpResponse {
    let caller = match authenticate(&state, &req).and_then(|c| require_inviter(&c)) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match invitation_for(caller, q.reseller.as_deref(), q.provider.as_deref()) {
        Ok(inv) => HttpResponse::Ok().json(json!({
            "url": inv.link(),
            "attributes": {"objectType": "RelationshipRequest"},
        })),
        Err(r) => r,
    }
}

fn not_allowed(why: &str) -> HttpResponse {
    pc_error(StatusCode::FORBIDDEN, 600006, "ActionNotAllowed", why)
}

fn bad_request(name: &str, why: &str) -> HttpResponse {
    pc_error(StatusCode::BAD_REQUEST, 400, name, why)
}

/// App+User only, by an Admin or Sales agent (a Global admin counts) of a partner the
/// sandbox knows; indirect resellers' agents too. Returns the partner.
fn require_inviter(caller: &Caller) -> Result<&'static SeedTenant, HttpResponse> {
    let Caller::User { tenant: id, groups, .. } = caller else {
        return Err(not_allowed("A relationship request requires App+User credentials."));
    };
    let partner = tenant(id).ok_or_else(|| not_allowed("Unknown partner."))?;
    match rules::agent_roles(partner.id, groups) {
        Some(roles) if rules::admin_or_sales(&roles) => Ok(partner),
        _ => Err(not_allowed("Only Admin agents and Sales agents can request a reseller relationship.")),
    }
}

/// The invitation the query asks for: the caller's own, for one of an indirect provider's
/// resellers, or with one of an indirect reseller's providers; never both ids at once.
fn invitation_for(
    caller: &'static SeedTenant,
    reseller: Option<&str>,
    provider: Option<&str>,
) -> Result<Invitation, HttpResponse> {
    match (reseller, provider) {
        (None, None) => Ok(Invitation { partner: caller, provider: None }),
        (Some(_), Some(_)) => Err(bad_request(
            "InvalidRelationshipRequest",
            "Send indirectResellerId or indirectCloudSolutionProviderId, not both.",
        )),
        (Some(r), None) => {
            if !rules::is_indirect_provider(caller.id) {
                return Err(not_allowed(
                    "Only an indirect provider can request a relationship for an indirect reseller.",
                ));
            }
            match tenant(r).filter(|t| rules::resells_for(t.id, caller.id)) {
                Some(t) => Ok(Invitation { partner: t, provider: Some(caller) }),
                None => Err(bad_request(
                    "InvalidIndirectReseller",
                    "indirectResellerId is not one of your indirect resellers.",
                )),
            }
        }
        (None, Some(p)) => {
            if !rules::is_indirect_reseller(caller.id) {
                return Err(not_allowed(
                    "Only an indirect reseller can request a relationship with an indirect provider.",
                ));
            }
            match tenant(p).filter(|t| rules::resells_for(caller.id, t.id)) {
                Some(t) => Ok(Invitation { partner: caller, provider: Some(t) }),
                None => Err(bad_request(
                    "InvalidIndirectProvider",
                    "indirectCloudSolutionProviderId is not one of your indirect providers.",
                )),
            }
        }
    }
}

/// Reads a relationship link back: Microsoft's admin-center address (or this sandbox's
/// own acceptance page) with the parameters of [`Invitation::link`], each consistent with
/// the sandbox's partners. The error says what is wrong, for the person who pasted it.
pub(crate) fn parse_link(link: &str, own_base: &str) -> Result<Invitation, String> {
    let url = url::Url::parse(link.trim()).map_err(|_| "This is not a web address.".to_string())?;
    let own = url::Url::parse(own_base).ok().is_some_and(|b| b.origin() == url.origin());
    let admin_center = url.scheme() == "https"
        && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("admin.microsoft.com"))
        && url.path().eq_ignore_ascii_case("/Adminportal/Home");
    if !admin_center && !own {
        return Err("This is not a link to a partner invitation in the Microsoft 365 admin center.".into());
    }
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if param("DAP").as_deref() != Some("false") {
        return Err("The sandbox accepts invitations without delegated administration only (DAP=false).".into());
    }
    let partner =
        param("partnerId").as_deref().and_then(tenant).ok_or("The link names no partner the sandbox knows.")?;
    read_kind(partner, param("invType").as_deref(), param("msppId").as_deref(), param("indirectCSPId").as_deref())
}

/// The kind of invitation, with the ids that kind needs and no others.
fn read_kind(
    partner: &'static SeedTenant,
    kind: Option<&str>,
    mspp: Option<&str>,
    provider: Option<&str>,
) -> Result<Invitation, String> {
    match kind {
        Some(RESELLER) if mspp == Some("0") && provider.is_none() => Ok(Invitation { partner, provider: None }),
        Some(RESELLER) => Err("A reseller relationship link carries msppId=0 and no indirect provider.".into()),
        Some(INDIRECT_RESELLER) => {
            let provider = provider.and_then(tenant).ok_or("The link names no indirect provider the sandbox knows.")?;
            if !rules::resells_for(partner.id, provider.id) {
                return Err(format!("{} is not an indirect reseller of {}.", partner.name, provider.name));
            }
            if mspp != Some(partner.mpn_id) {
                return Err(format!("msppId is not the partner id (MPN id) of {}.", partner.name));
            }
            Ok(Invitation { partner, provider: Some(provider) })
        }
        _ => Err("The link is not a reseller relationship invitation (invType).".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:9";

    #[test]
    fn links_read_back_as_the_invitation_they_were_made_from() {
        let [contoso, fabrikam] = &seed::TENANTS;
        for inv in
            [Invitation { partner: contoso, provider: None }, Invitation { partner: fabrikam, provider: Some(contoso) }]
        {
            let back = parse_link(&inv.link(), BASE).unwrap();
            assert_eq!((back.partner.id, back.provider.map(|p| p.id)), (inv.partner.id, inv.provider.map(|p| p.id)));
        }
        let own_page = format!(
            "{BASE}/admin-center/partner-invitation?invType=ResellerRelationship&partnerId={}&msppId=0&DAP=false",
            contoso.id
        );
        assert_eq!(parse_link(&own_page, BASE).unwrap().partner.id, contoso.id);
    }

    #[test]
    fn inconsistent_links_are_refused() {
        let [contoso, fabrikam] = &seed::TENANTS;
        let good = Invitation { partner: fabrikam, provider: Some(contoso) }.link();
        for bad in [
            good.replace("DAP=false", "DAP=true"),
            good.replace("msppId=4200002", "msppId=0"),
            good.replace(&format!("indirectCSPId={}", contoso.id), &format!("indirectCSPId={}", fabrikam.id)),
            good.replace("IndirectResellerRelationship", "Something"),
            good.replace("https://admin.microsoft.com", "https://admin.example.com"),
            good.replace(fabrikam.id, "00000000-0000-4000-8000-000000000000"),
            Invitation { partner: contoso, provider: None }.link().replace("msppId=0", "msppId=4100001"),
            "not a link".to_string(),
        ] {
            assert!(parse_link(&bad, BASE).is_err(), "{bad}");
        }
    }
}
