//! The link a customer opens to accept a reseller relationship, and the Microsoft Customer
//! Agreement with it: `GET /v1/customers/relationshiprequests`. The portal never builds
//! such a link itself; what the link's parameters are taken to mean is written down once,
//! in `docs/partner-center.md`, "Relationship request links".

use serde::Deserialize;
use uuid::Uuid;

use super::{PartnerCenter, PcError, RelatedPartner, enc};

const WHAT: &str = "relationship request";

/// Whose relationship the customer is asked to accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationshipFor {
    /// The signed-in partner's own reseller relationship.
    Own,
    /// An indirect provider inviting for one of its indirect resellers (its tenant id):
    /// sent as `indirectResellerId`.
    ForIndirectReseller(String),
    /// An indirect reseller inviting together with one of its indirect providers (its
    /// tenant id): sent as `indirectCloudSolutionProviderId`.
    WithIndirectProvider(String),
}

impl RelationshipFor {
    /// The request's path with its query, the id URL-encoded.
    fn path(&self) -> String {
        const PATH: &str = "/v1/customers/relationshiprequests";
        match self {
            RelationshipFor::Own => PATH.to_string(),
            RelationshipFor::ForIndirectReseller(id) => format!("{PATH}?indirectResellerId={}", enc(id)),
            RelationshipFor::WithIndirectProvider(id) => format!("{PATH}?indirectCloudSolutionProviderId={}", enc(id)),
        }
    }
}

/// The documented answer, `{"url": …, "attributes": {"objectType": …}}`; only `url` is read.
#[derive(Deserialize)]
struct RelationshipRequestWire {
    #[serde(default)]
    url: Option<String>,
}

impl PartnerCenter {
    /// The invitation link for a reseller relationship, with the signed-in agent's
    /// delegated (App+User) token. The link passes the rule of every upstream link
    /// (`links`); an answer without one is refused as unreadable.
    #[tracing::instrument(skip_all, fields(?r, %correlation_id), err(level = "warn"))]
    pub async fn relationship_request(
        &self,
        token: &str,
        r: &RelationshipFor,
        correlation_id: Uuid,
    ) -> Result<String, PcError> {
        let w: RelationshipRequestWire = self.get(token, &r.path(), WHAT, correlation_id).await?;
        let url = w
            .url
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| PcError::Decode { what: WHAT, detail: "the answer carries no invitation link".into() })?;
        self.upstream_link(WHAT, &url)
    }

    /// The indirect providers of an indirect reseller (its `IsIndirectResellerOf`
    /// relationships), for the reseller to pick whom it invites with.
    #[tracing::instrument(skip_all, fields(%correlation_id), err(level = "warn"))]
    pub async fn indirect_providers(&self, token: &str, correlation_id: Uuid) -> Result<Vec<RelatedPartner>, PcError> {
        self.relationships(token, "IsIndirectResellerOf", correlation_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_sends_its_one_parameter_encoded() {
        assert_eq!(RelationshipFor::Own.path(), "/v1/customers/relationshiprequests");
        assert_eq!(
            RelationshipFor::ForIndirectReseller("fab01ca7-0000-4000-8000-000000000002".into()).path(),
            "/v1/customers/relationshiprequests?indirectResellerId=fab01ca7-0000-4000-8000-000000000002"
        );
        assert_eq!(
            RelationshipFor::WithIndirectProvider("a&b=c d".into()).path(),
            "/v1/customers/relationshiprequests?indirectCloudSolutionProviderId=a%26b%3Dc+d"
        );
    }
}
