//! An indirect provider's indirect resellers, for the forms that name one (Add customer,
//! New relationship). Read from Partner Center at most every ten minutes and kept in the
//! database, so that every instance of the portal shares one read (docs/sessions.md,
//! "Several instances").

use chrono::Utc;
use uuid::Uuid;

use super::Workflows;
use crate::domain::{PartnerType, PartnerUser};
use crate::partner_center::RelatedPartner;
use crate::store::KeptReseller;

/// How long a list read from Partner Center is used before it is read again.
const KEPT_FOR: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

impl Workflows {
    /// An indirect provider's indirect resellers (none for other partners), read at most
    /// every ten minutes. Without a token only a recent list is answered.
    #[tracing::instrument(skip_all, fields(tenant_id = %user.tenant_id))]
    pub async fn resellers(&self, user: &PartnerUser, token: Option<&str>) -> Vec<RelatedPartner> {
        if user.partner_type != PartnerType::IndirectProvider {
            return Vec::new();
        }
        if let Some(kept) = self.kept_resellers(user).await {
            return kept;
        }
        match token {
            Some(token) => self.read_resellers(user, token).await,
            None => Vec::new(),
        }
    }

    /// Reads the indirect resellers from Partner Center with the user's token and keeps
    /// them for the next ten minutes; none when they can't be read.
    pub async fn read_resellers(&self, user: &PartnerUser, token: &str) -> Vec<RelatedPartner> {
        match self.pc.indirect_resellers(token, Uuid::new_v4()).await {
            Ok(read) => {
                let kept: Vec<KeptReseller> = read.iter().map(kept).collect();
                if let Err(e) = self.store.reseller_list_keep(&user.tenant_id, &kept, Utc::now()).await {
                    tracing::warn!(error = %e, "could not keep the indirect resellers");
                }
                read
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the indirect resellers");
                Vec::new()
            }
        }
    }

    /// The indirect resellers as kept from the last read, while they are recent enough
    /// to show; `None` when they must be read again (which needs the user's token).
    pub async fn kept_resellers(&self, user: &PartnerUser) -> Option<Vec<RelatedPartner>> {
        match self.store.reseller_list(&user.tenant_id).await {
            Ok(Some(kept)) if Utc::now() - kept.read_at < KEPT_FOR => {
                Some(kept.resellers.into_iter().map(related).collect())
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the kept indirect resellers");
                None
            }
        }
    }
}

fn kept(r: &RelatedPartner) -> KeptReseller {
    KeptReseller { id: r.id.clone(), name: r.name.clone(), mpn_id: r.mpn_id.clone() }
}

fn related(r: KeptReseller) -> RelatedPartner {
    RelatedPartner { id: r.id, name: r.name, mpn_id: r.mpn_id }
}
