//! The pages of Add customer: the form, Review, and the confirmation.

use askama::Template;

use super::form::NewCustomerForm;
use crate::domain::FieldError;
use crate::domain::invitation::Invitation;
use crate::web::pages::Layout;
use crate::workflows::{RelatedPartner, SuggestedAddress};

#[derive(Template)]
#[template(path = "new_customer.html")]
pub struct NewCustomerPage {
    pub layout: Layout,
    pub form: NewCustomerForm,
    pub errors: Vec<FieldError>,
    pub resellers: Vec<RelatedPartner>,
    pub suggestion: Option<SuggestedAddress>,
    pub address_message: Option<String>,
    pub refused: Option<String>,
    pub today_utc: String,
    pub countries: &'static [(&'static str, &'static str)],
    pub cultures: &'static [(&'static str, &'static str, &'static str)],
}

impl NewCustomerPage {
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn has_error(&self, field: &str) -> bool {
        self.error_for(field).is_some()
    }
}

#[derive(Template)]
#[template(path = "new_customer_review.html")]
pub struct ReviewPage {
    pub layout: Layout,
    pub form: NewCustomerForm,
    pub domain: String,
    pub country_name: String,
    pub culture_name: String,
    pub reseller_name: Option<String>,
    pub address_note: Option<String>,
}

/// The confirmation. Holds the temporary password for one render; no Debug, no storage.
#[derive(Template)]
#[template(path = "new_customer_done.html")]
pub struct DonePage {
    pub layout: Layout,
    pub company_name: String,
    pub customer_id: Option<String>,
    pub sign_in_name: Option<String>,
    pub password: Option<String>,
    pub attested: bool,
    pub contact_email: String,
    /// What became of the attestation, when it did not simply succeed.
    pub attestation_note: Option<String>,
    pub invitation: Option<Invitation>,
    pub saved_only: bool,
    pub already: Option<String>,
}
