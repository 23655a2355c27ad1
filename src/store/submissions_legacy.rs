//! Migration 4: submissions saved before the portal stored the parsed request kept the
//! form's fields as flat text. They are parsed once more, here, into the request they
//! stand for, so that every stored submission reads the same way. A row that the rules
//! refuse stops the migration with its id, rather than being changed or dropped.

use serde::Deserialize;
use sqlx::{AnyConnection, Row};

use super::{StoreError, StoreResult};
use crate::domain::new_customer::{AgreementChoice, NewCustomer, NewCustomerText, PartnerId, optional};
use crate::domain::{AcceptanceDate, AttestationRequest, Contact, Request};

#[derive(Deserialize)]
struct OldPerson {
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    date_agreed: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OldCustomer {
    company_name: String,
    domain_prefix: String,
    country: String,
    address_line1: String,
    address_line2: String,
    city: String,
    state: String,
    postal_code: String,
    culture: String,
    registration_number: String,
    associated_partner_id: String,
}

pub(super) async fn upgrade(conn: &mut AnyConnection) -> StoreResult<()> {
    let rows = sqlx::query("SELECT id, payload, customer_payload FROM submissions").fetch_all(&mut *conn).await?;
    for r in rows {
        let id: String = r.try_get("id")?;
        let payload: String = r.try_get("payload")?;
        let customer: Option<String> = r.try_get("customer_payload")?;
        if serde_json::from_str::<serde_json::Value>(&payload).is_ok_and(|v| v["kind"].is_string()) {
            continue;
        }
        let request = old_request(&payload, customer.as_deref()).map_err(|why| {
            StoreError::Corrupt(format!(
                "submission {id}, saved by an earlier version, can't be read ({why}); correct or delete that row, then start again"
            ))
        })?;
        let text = serde_json::to_string(&request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE submissions SET payload = $1, customer_payload = NULL WHERE id = $2")
            .bind(text)
            .bind(&id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn old_request(payload: &str, customer: Option<&str>) -> Result<Request, String> {
    let p: OldPerson = serde_json::from_str(payload).map_err(|e| e.to_string())?;
    let contact = Contact::parse(&p.first_name, &p.last_name, &p.email, &p.phone)
        .map_err(|e| e.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" "))?;
    let date = match p.date_agreed.trim() {
        "" => None,
        d => Some(d.parse::<chrono::NaiveDate>().map_err(|e| e.to_string()).and_then(AcceptanceDate::try_from)?),
    };
    match customer {
        None => {
            let date = date.ok_or("an attestation without its date")?;
            Ok(Request::Attest(AttestationRequest { contact, date }))
        }
        Some(c) => {
            let c: OldCustomer = serde_json::from_str(c).map_err(|e| e.to_string())?;
            old_customer(c, contact, date).map(|c| Request::CreateCustomer(Box::new(c))).map_err(|e| e.message)
        }
    }
}

fn old_customer(
    c: OldCustomer,
    contact: Contact,
    date: Option<AcceptanceDate>,
) -> Result<NewCustomer, crate::domain::FieldError> {
    let reseller = optional(&c.associated_partner_id, |t| PartnerId::parse("associated_partner_id", t))?;
    let text = NewCustomerText {
        company_name: &c.company_name,
        domain_prefix: &c.domain_prefix,
        country: &c.country,
        address_line1: &c.address_line1,
        address_line2: &c.address_line2,
        city: &c.city,
        state: &c.state,
        postal_code: &c.postal_code,
        culture: &c.culture,
        registration_number: &c.registration_number,
    };
    let agreement = date.map(AgreementChoice::Attest).unwrap_or(AgreementChoice::AdminCenter);
    NewCustomer::assemble(&text, contact, agreement, reseller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_rows_become_the_requests_they_stand_for() {
        let person = r#"{"first_name":"Tania","last_name":"Carr","email":"tania@example.com","phone":"","date_agreed":"2026-11-01"}"#;
        let r = old_request(person, None).unwrap();
        assert_eq!(r.contact().email.as_str(), "tania@example.com");
        let customer = r#"{"company_name":"Contoso","domain_prefix":"contosox","country":"US","address_line1":"1 Main St","address_line2":"","city":"Redmond","state":"WA","postal_code":"98052","culture":"en-US","registration_number":"","associated_partner_id":""}"#;
        let admin_center = person.replace("2026-11-01", "");
        match old_request(&admin_center, Some(customer)).unwrap() {
            Request::CreateCustomer(c) => assert_eq!(c.agreement, AgreementChoice::AdminCenter),
            other => panic!("{other:?}"),
        }
        assert!(old_request(&person.replace("Tania", ""), None).unwrap_err().contains("first name"));
    }
}
