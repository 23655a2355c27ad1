//! Reading for the customer's page what is not stored: the agreement document link.

use uuid::Uuid;

use super::{WorkflowResult, Workflows};
use crate::domain::Customer;

impl Workflows {
    /// A link to the agreement document in the customer's language and country. Partner
    /// Center's link is valid for five minutes, so it is fetched when the agent asks and
    /// never stored or shown in advance.
    #[tracing::instrument(skip_all, fields(customer_id = %customer.id), err(level = "warn"))]
    pub async fn agreement_document(&self, token: &str, customer: &Customer) -> WorkflowResult<String> {
        let correlation = Uuid::new_v4();
        let template_id = self.templates.get(&self.pc, token, correlation).await?;
        let (language, country) = customer.document_locale();
        // Only links a browser may safely be sent to: see `PartnerCenter::upstream_link`.
        Ok(self.pc.agreement_document(token, &template_id, &language, &country, correlation).await?)
    }
}
