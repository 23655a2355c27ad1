//! The create-customer step: one `MS-RequestId` for every attempt, so that Partner Center
//! creates one tenant however often a timed-out call is sent again.

use super::outcome::{Outcome, retry_or_fail};
use super::{Delivery, Ids};
use crate::domain::UserTokens;
use crate::domain::new_customer::NewCustomer;
use crate::partner_center::CreatedCustomer;
use crate::store::Submission;

impl Delivery {
    /// Creates the customer and keeps it in the list at once; the outcome when it could not.
    pub(super) async fn create_customer(
        &self,
        sub: &Submission,
        customer: &NewCustomer,
        tokens: &UserTokens,
        ids: Ids,
    ) -> Result<CreatedCustomer, Outcome> {
        match self.pc.create_customer(&tokens.access_token, customer, ids.request, ids.correlation).await {
            Ok(answer) => {
                let created = answer.body;
                if let Err(e) = self.record_new_customer(sub, &created, customer.attests()).await {
                    tracing::error!(error = %e, "could not record the created customer");
                }
                Ok(created)
            }
            Err(e) => Err(match retry_or_fail(e) {
                Outcome::Failed { code, .. } if code.as_deref() == Some("409") => Outcome::Failed {
                    reason: format!(
                        "The domain {} was taken meanwhile. Choose another domain prefix and submit again.",
                        customer.domain_prefix.domain()
                    ),
                    code,
                },
                other => other,
            }),
        }
    }
}
