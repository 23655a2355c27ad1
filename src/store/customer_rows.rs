//! The rows a read of customers writes (`customers`, `direct_acceptance`,
//! `partner_attestations`), many to a statement: a statement names as many rows as its
//! values allow, so that loading a large portfolio (the `seed` command) costs a few
//! round trips per thousand customers rather than several per customer. A single
//! customer is written the same way, as a batch of one.

use super::StoreResult;
use super::customers::{search_form, status_change};
use crate::domain::{Attestation, Customer, StatusVerdict};

/// The most values one statement binds: under SQLite's limit (32,766) and PostgreSQL's
/// (65,535).
const MAX_VALUES: usize = 30_000;

/// A value of a written column: text or an integer, either of which may be NULL.
enum Value {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(Some(s.to_string()))
    }
}

/// The marks of the values `first..first + count` of a statement: numbered (`$1`) on
/// PostgreSQL, in order (`?`) on SQLite. sqlx finds a numbered value on SQLite by
/// looking through every name of the statement, which at thousands of values took most
/// of a seed's time.
fn marks(conn: &sqlx::AnyConnection, first: usize, count: usize) -> Vec<String> {
    let in_order = conn.backend_name().eq_ignore_ascii_case("sqlite");
    (first..first + count).map(|n| if in_order { "?".to_string() } else { format!("${n}") }).collect()
}

/// One `INSERT` of many rows: its values and its text, `head` before the rows and
/// `tail` after them.
struct Insert {
    head: String,
    tail: &'static str,
    rows: Vec<String>,
    values: Vec<Value>,
}

impl Insert {
    fn new(head: String, tail: &'static str) -> Insert {
        Insert { head, tail, rows: Vec::new(), values: Vec::new() }
    }

    fn row(&mut self, conn: &sqlx::AnyConnection, values: Vec<Value>) {
        let marks = marks(conn, self.values.len() + 1, values.len());
        self.rows.push(format!("({})", marks.join(", ")));
        self.values.extend(values);
    }

    async fn execute(self, conn: &mut sqlx::AnyConnection) -> StoreResult<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let sql = format!("{} VALUES {} {}", self.head, self.rows.join(", "), self.tail);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in self.values {
            query = match v {
                Value::Text(t) => query.bind(t),
                Value::Int(i) => query.bind(i),
            };
        }
        query.execute(conn).await?;
        Ok(())
    }
}

/// Executes `rows` as inserts of `head` and `tail`, each of at most `MAX_VALUES` values.
async fn insert_all(
    conn: &mut sqlx::AnyConnection,
    (head, tail): (&str, &'static str),
    rows: Vec<Vec<Value>>,
) -> StoreResult<()> {
    let mut insert = Insert::new(head.to_string(), tail);
    for row in rows {
        if insert.values.len() + row.len() > MAX_VALUES {
            std::mem::replace(&mut insert, Insert::new(head.to_string(), tail)).execute(conn).await?;
        }
        insert.row(conn, row);
    }
    insert.execute(conn).await
}

const CUSTOMER_COLUMNS: &str = "INSERT INTO customers (tenant_id, customer_id, company_name, domain, search_text, \
     relationship, commerce_id, billing_json, status, status_reason, read_at, accepted_directly, \
     latest_attestation_on, latest_attestation_by, associated_partner_id, first_seen_at)";

/// What a read replaces of a stored customer; what it does not know (billing, direct
/// acceptance, the reseller) is kept when it is NULL.
fn customer_update() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET company_name = excluded.company_name, \
             domain = excluded.domain, search_text = excluded.search_text, relationship = excluded.relationship, \
             commerce_id = excluded.commerce_id, billing_json = COALESCE(excluded.billing_json, customers.billing_json), \
             {}, status = excluded.status, status_reason = excluded.status_reason, read_at = excluded.read_at, \
             accepted_directly = COALESCE(excluded.accepted_directly, customers.accepted_directly), \
             latest_attestation_on = excluded.latest_attestation_on, latest_attestation_by = excluded.latest_attestation_by, \
             associated_partner_id = COALESCE(excluded.associated_partner_id, customers.associated_partner_id)",
            status_change("customers.", "excluded.status", "excluded.read_at")
        )
    })
}

/// One customer as read: its own row's facts, the status derived from them.
pub(super) struct CustomerRead<'a> {
    pub customer: &'a Customer,
    pub accepted_directly: Option<bool>,
    pub attestations: &'a [Attestation],
    pub verdict: &'a StatusVerdict,
    /// The billing details as stored (JSON), when the read gave them.
    pub billing_json: Option<String>,
}

fn customer_values(tenant_id: &str, read: &CustomerRead<'_>, at: &str) -> Vec<Value> {
    let c = read.customer;
    let latest = Attestation::latest(read.attestations);
    vec![
        tenant_id.into(),
        c.id.as_str().into(),
        c.company_name.as_str().into(),
        c.domain.as_str().into(),
        Value::Text(Some(search_form(&format!("{} {}", c.company_name, c.domain)))),
        Value::Text(c.relationship.clone()),
        Value::Text(c.commerce_id.clone()),
        Value::Text(read.billing_json.clone()),
        read.verdict.status.key().into(),
        read.verdict.reason.as_str().into(),
        at.into(),
        Value::Int(read.accepted_directly.map(i64::from)),
        Value::Text(Some(latest.map(|a| a.date_agreed.to_string()).unwrap_or_default())),
        Value::Text(latest.and_then(|a| a.user_id.clone())),
        Value::Text(c.associated_partner_id.clone()),
        at.into(),
    ]
}

/// The customers' own rows: company, domain, what searches match, billing, status, and
/// what the list shows of acceptance, latest attestation and reseller. The counts and
/// the search index follow by triggers (migration 0012). A customer appears once.
pub(super) async fn upsert_customers(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    reads: &[CustomerRead<'_>],
    at: &str,
) -> StoreResult<()> {
    let rows = reads.iter().map(|r| customer_values(tenant_id, r, at)).collect();
    insert_all(conn, (CUSTOMER_COLUMNS, customer_update()), rows).await
}

/// What Partner Center said of the customers' direct acceptance, where it was read.
pub(super) async fn upsert_direct_acceptance(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    reads: &[CustomerRead<'_>],
    at: &str,
) -> StoreResult<()> {
    let rows = reads
        .iter()
        .filter_map(|r| {
            let signed = r.accepted_directly?;
            Some(vec![tenant_id.into(), r.customer.id.as_str().into(), Value::Int(Some(i64::from(signed))), at.into()])
        })
        .collect();
    let head = "INSERT INTO direct_acceptance (tenant_id, customer_id, is_signed, read_at)";
    let tail =
        "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET is_signed = excluded.is_signed, read_at = excluded.read_at";
    insert_all(conn, (head, tail), rows).await
}

/// Partner attestations of customers, each at its position of its customer's list.
pub(super) async fn insert_attestations(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    attestations: &[(&str, i64, &Attestation)],
    at: &str,
) -> StoreResult<()> {
    let rows = attestations.iter().map(|&(customer_id, position, a)| {
        vec![
            tenant_id.into(),
            customer_id.into(),
            Value::Int(Some(position)),
            a.first_name.as_str().into(),
            a.last_name.as_str().into(),
            a.email.as_str().into(),
            Value::Text(a.phone.clone()),
            Value::Text(Some(a.date_agreed.to_string())),
            Value::Text(a.user_id.clone()),
            Value::Text(a.template_id.clone()),
            at.into(),
        ]
    });
    let rows = rows.collect();
    let head = "INSERT INTO partner_attestations (tenant_id, customer_id, position, first_name, last_name, email, \
         phone, date_agreed, user_id, template_id, read_at)";
    insert_all(conn, (head, ""), rows).await
}

/// Forgets the stored attestations of the customers (before those read are written).
pub(super) async fn delete_attestations(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    customer_ids: &[&str],
) -> StoreResult<()> {
    for chunk in customer_ids.chunks(MAX_VALUES - 1) {
        let mut marks = marks(conn, 1, chunk.len() + 1).into_iter();
        let tenant = marks.next().unwrap_or_default();
        let ids: Vec<String> = marks.map(|m| format!("({m})")).collect();
        // A list of values, not of parameters: PostgreSQL compares each row with every
        // parameter of `IN ($2, $3, …)` in turn, but joins a list of values by a hash.
        let sql = format!(
            "DELETE FROM partner_attestations WHERE tenant_id = {tenant} AND customer_id IN (VALUES {})",
            ids.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant_id);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The customers as read, replacing what was stored of them: their rows, direct
/// acceptance and attestations. A customer appears at most once in `reads`.
pub(super) async fn save_customers(
    conn: &mut sqlx::AnyConnection,
    tenant_id: &str,
    reads: &[CustomerRead<'_>],
    at: &str,
) -> StoreResult<()> {
    upsert_customers(conn, tenant_id, reads, at).await?;
    upsert_direct_acceptance(conn, tenant_id, reads, at).await?;
    let ids: Vec<&str> = reads.iter().map(|r| r.customer.id.as_str()).collect();
    delete_attestations(conn, tenant_id, &ids).await?;
    let mut attestations = Vec::new();
    for r in reads {
        attestations.extend(r.attestations.iter().enumerate().map(|(i, a)| (r.customer.id.as_str(), i as i64, a)));
    }
    insert_attestations(conn, tenant_id, &attestations, at).await
}
