//! Reading for the customer's page what is not stored: the agreement document link.

use uuid::Uuid;

use super::{WorkflowResult, Workflows};
use crate::domain::Customer;
use crate::partner_center::PcError;

impl Workflows {
    /// A link to the agreement document in the customer's language and country. Partner
    /// Center's link is valid for five minutes, so it is fetched when the agent asks and
    /// never stored or shown in advance.
    #[tracing::instrument(skip_all, fields(customer_id = %customer.id), err(level = "warn"))]
    pub async fn agreement_document(&self, token: &str, customer: &Customer) -> WorkflowResult<String> {
        let correlation = Uuid::new_v4();
        let template_id = self.templates.get(&self.pc, token, correlation).await?;
        let (language, country) = customer.document_locale();
        let link = self.pc.agreement_document(token, &template_id, &language, &country, correlation).await?;
        if !(link.starts_with("https://") || link.starts_with("http://")) {
            let detail = "the link is not a web address".to_string();
            return Err(PcError::Decode { what: "agreement document", detail }.into());
        }
        Ok(link)
    }
}
