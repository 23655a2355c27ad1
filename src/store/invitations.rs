//! Invitation emails the portal generated, and what became of them (docs/invitations.md).
//! The kind is stored as `InvitationKind::as_str`; the text never holds a password.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::RowRef;
use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};
use crate::domain::invitation::InvitationKind;

/// An invitation to be kept.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: String,
    pub tenant_id: String,
    pub kind: InvitationKind,
    pub customer_id: Option<String>,
    pub company_name: String,
    pub recipient: String,
    pub link: String,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub submission_id: Option<String>,
    pub with_partner_id: Option<String>,
    pub with_partner_name: Option<String>,
    /// Relationship kind: the indirect reseller the customer will be associated with.
    pub reseller_id: Option<String>,
    pub created_by_oid: String,
    pub created_by_name: String,
}

/// An invitation as read back.
#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub invitation: NewInvitation,
    pub created_at: DateTime<Utc>,
    pub copied_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub send_failure: Option<String>,
    pub reference_note: String,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_customer_id: Option<String>,
}

/// What the agent did with an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationAction {
    Copied,
    Opened,
    Sent,
}

/// The list's filters; None or empty: any.
#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub kind: Option<InvitationKind>,
    pub creator_oid: Option<String>,
    /// A customer id, or words of the company name.
    pub customer: Option<String>,
    pub state: Option<InvitationStateFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStateFilter {
    /// Not accepted yet.
    Waiting,
    Accepted,
    /// Not copied, opened or sent yet.
    NotUsed,
    Sent,
}

/// The key a company name is matched on: lower case, single spaces.
pub fn company_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

const COLUMNS: &str = "id, tenant_id, kind, customer_id, company_name, recipient, link, subject, body, language, \
     submission_id, with_partner_id, with_partner_name, reseller_id, created_by_oid, created_by_name, created_at, copied_at, \
     opened_at, sent_at, send_failure, reference_note, accepted_at, accepted_customer_id";

fn time(r: RowRef<'_>, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    r.try_get::<Option<String>, _>(column)?.map(|t| parse_timestamp(&t)).transpose()
}

fn record<'r>(r: impl Into<RowRef<'r>>) -> StoreResult<InvitationRecord> {
    let r = r.into();
    let kind: String = r.try_get("kind")?;
    let invitation = NewInvitation {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        kind: InvitationKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("invitation kind {kind:?}")))?,
        customer_id: r.try_get("customer_id")?,
        company_name: r.try_get("company_name")?,
        recipient: r.try_get("recipient")?,
        link: r.try_get("link")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        language: r.try_get("language")?,
        submission_id: r.try_get("submission_id")?,
        with_partner_id: r.try_get("with_partner_id")?,
        with_partner_name: r.try_get("with_partner_name")?,
        reseller_id: r.try_get("reseller_id")?,
        created_by_oid: r.try_get("created_by_oid")?,
        created_by_name: r.try_get("created_by_name")?,
    };
    Ok(InvitationRecord {
        invitation,
        created_at: parse_timestamp(&r.try_get::<String, _>("created_at")?)?,
        copied_at: time(r, "copied_at")?,
        opened_at: time(r, "opened_at")?,
        sent_at: time(r, "sent_at")?,
        send_failure: r.try_get("send_failure")?,
        reference_note: r.try_get("reference_note")?,
        accepted_at: time(r, "accepted_at")?,
        accepted_customer_id: r.try_get("accepted_customer_id")?,
    })
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %i.tenant_id, id = %i.id), err)]
    pub async fn invitation_insert(&self, i: &NewInvitation, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invitations (id, tenant_id, kind, customer_id, company_name, company_key, recipient, link, subject, body, \
             language, submission_id, with_partner_id, with_partner_name, reseller_id, created_by_oid, created_by_name, created_at, reference_note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, '')",
        )
        .bind(&i.id)
        .bind(&i.tenant_id)
        .bind(i.kind.as_str())
        .bind(i.customer_id.clone())
        .bind(&i.company_name)
        .bind(company_key(&i.company_name))
        .bind(&i.recipient)
        .bind(&i.link)
        .bind(&i.subject)
        .bind(&i.body)
        .bind(&i.language)
        .bind(i.submission_id.clone())
        .bind(i.with_partner_id.clone())
        .bind(i.with_partner_name.clone())
        .bind(i.reseller_id.clone())
        .bind(&i.created_by_oid)
        .bind(&i.created_by_name)
        .bind(timestamp(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One invitation of the tenant.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn invitation_get(&self, tenant_id: &str, id: &str) -> StoreResult<Option<InvitationRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM invitations WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *self.reader().await?)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// Keeps the text as the agent last had it: recipient, subject and body.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn invitation_update_text(
        &self,
        tenant_id: &str,
        id: &str,
        (to, subject, body): (&str, &str, &str),
    ) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE invitations SET recipient = $1, subject = $2, body = $3 WHERE tenant_id = $4 AND id = $5",
        )
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(tenant_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records what the agent did with the invitation, at `at` (the latest time each).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn invitation_mark(
        &self,
        tenant_id: &str,
        id: &str,
        action: InvitationAction,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = match action {
            InvitationAction::Copied => "UPDATE invitations SET copied_at = $1 WHERE tenant_id = $2 AND id = $3",
            InvitationAction::Opened => "UPDATE invitations SET opened_at = $1 WHERE tenant_id = $2 AND id = $3",
            InvitationAction::Sent => {
                "UPDATE invitations SET sent_at = $1, send_failure = NULL WHERE tenant_id = $2 AND id = $3"
            }
        };
        sqlx::query(sql).bind(timestamp(at)).bind(tenant_id).bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Records why a send failed; the text stays as it was.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn invitation_send_failed(&self, tenant_id: &str, id: &str, why: &str) -> StoreResult<()> {
        sqlx::query("UPDATE invitations SET send_failure = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(why)
            .bind(tenant_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %id), err)]
    pub async fn invitation_note_set(&self, tenant_id: &str, id: &str, note: &str) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE invitations SET reference_note = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(note)
            .bind(tenant_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The customer's newest invitation.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn invitation_latest_for(
        &self,
        tenant_id: &str,
        customer_id: &str,
    ) -> StoreResult<Option<InvitationRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at DESC LIMIT 1"
        );
        self.read_row(&sql, &[tenant_id.into(), customer_id.into()], |r| record(r)).await
    }

    /// One page of the list, newest first, after the (created_at, id) of the last row of
    /// the page before; each filter narrows an index range or is checked on the rows read.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn invitations_page(
        &self,
        tenant_id: &str,
        filter: &InvitationFilter,
        after: Option<(DateTime<Utc>, String)>,
        limit: i64,
    ) -> StoreResult<Vec<InvitationRecord>> {
        let mut clauses = vec!["tenant_id = $1".to_string()];
        let mut binds: Vec<String> = vec![tenant_id.to_string()];
        let bind = |clause: &str, value: String, binds: &mut Vec<String>| {
            binds.push(value);
            clause.replace('?', &format!("${}", binds.len()))
        };
        if let Some(k) = filter.kind {
            clauses.push(bind("kind = ?", k.as_str().into(), &mut binds));
        }
        if let Some(oid) = filter.creator_oid.as_ref().filter(|o| !o.is_empty()) {
            clauses.push(bind("created_by_oid = ?", oid.clone(), &mut binds));
        }
        if let Some(c) = filter.customer.as_ref().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            let by_id = bind("customer_id = ?", c.to_string(), &mut binds);
            let by_name =
                bind("company_key LIKE ? ESCAPE '\\'", format!("%{}%", like_escaped(&company_key(c))), &mut binds);
            clauses.push(format!("({by_id} OR {by_name})"));
        }
        if let Some(state) = filter.state {
            clauses.push(state_clause(state).to_string());
        }
        if let Some((at, id)) = after {
            let at_clause = bind("created_at < ?", timestamp(at), &mut binds);
            let same = bind("created_at = ?", timestamp(at), &mut binds);
            let id_clause = bind("id < ?", id, &mut binds);
            clauses.push(format!("({at_clause} OR ({same} AND {id_clause}))"));
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM invitations WHERE {} ORDER BY created_at DESC, id DESC LIMIT {}",
            clauses.join(" AND "),
            limit.clamp(1, 500)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.clone());
        }
        q.fetch_all(&mut *self.reader().await?).await?.iter().map(record).collect()
    }

    /// Who may have created the tenant's invitations, by name, for the list's filter:
    /// the partner's users who signed in here (a read of that small table, however many
    /// invitations there are).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn invitation_creators(&self, tenant_id: &str) -> StoreResult<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT oid, name FROM partner_users WHERE tenant_id = $1 ORDER BY name, oid LIMIT 1000")
                .bind(tenant_id)
                .fetch_all(&mut *self.reader().await?)
                .await?;
        rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?))).collect()
    }
}

impl Store {
    /// Marks the customer's MCA invitations accepted: admin-center ones when the customer
    /// has accepted directly, acceptance-link ones also when their attestation was
    /// completed (the customer accepted at the link).
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %customer_id), err)]
    pub async fn invitations_note_mca_acceptance(
        &self,
        tenant_id: &str,
        customer_id: &str,
        accepted_directly: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE invitations SET accepted_at = $1, accepted_customer_id = customer_id \
             WHERE tenant_id = $2 AND customer_id = $3 AND accepted_at IS NULL AND ( \
               (kind IN ('admin_center', 'acceptance_link') AND $4 = 1) \
               OR (kind = 'acceptance_link' AND EXISTS (SELECT 1 FROM submissions s \
                   WHERE s.id = invitations.submission_id AND s.tenant_id = invitations.tenant_id AND s.state = 'delivered')))",
        )
        .bind(timestamp(at))
        .bind(tenant_id)
        .bind(customer_id)
        .bind(i64::from(accepted_directly))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Marks the acceptance-link invitations of a submission accepted: its attestation was
    /// completed, so the customer accepted at the link.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %submission_id), err)]
    pub async fn invitations_note_link_accepted(
        &self,
        tenant_id: &str,
        submission_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE invitations SET accepted_at = $1, accepted_customer_id = customer_id \
             WHERE tenant_id = $2 AND submission_id = $3 AND accepted_at IS NULL",
        )
        .bind(timestamp(at))
        .bind(tenant_id)
        .bind(submission_id)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Marks relationship invitations accepted by a customer of the same company name (in
    /// any letter case) that the portal first read after the invitation was made and that
    /// no other invitation has been matched to: each new customer accepts one invitation,
    /// the newest made before it appeared. Returns how many.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn invitations_match_relationships(&self, tenant_id: &str, at: DateTime<Utc>) -> StoreResult<u64> {
        let waiting = sqlx::query(
            "SELECT id, company_name, company_key, created_at, reseller_id FROM invitations \
             WHERE tenant_id = $1 AND kind = 'relationship' AND accepted_at IS NULL ORDER BY created_at DESC, id DESC",
        )
        .bind(tenant_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        let mut matched = 0;
        for row in &waiting {
            let id: String = row.try_get(0)?;
            let (name, key, created): (String, String, String) = (row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            let reseller: Option<String> = row.try_get(4)?;
            let wanted = NewCustomerWanted { name: &name, key: &key, created: &created, reseller: reseller.as_deref() };
            let Some(customer_id) = self.new_customer_named(tenant_id, &wanted).await? else { continue };
            sqlx::query(
                "UPDATE invitations SET accepted_at = $1, accepted_customer_id = $2, customer_id = $2 \
                 WHERE tenant_id = $3 AND id = $4 AND accepted_at IS NULL",
            )
            .bind(timestamp(at))
            .bind(&customer_id)
            .bind(tenant_id)
            .bind(&id)
            .execute(self.pool())
            .await?;
            matched += 1;
        }
        Ok(matched)
    }

    /// A customer of the tenant whose company name has this key, first read after
    /// `created` and not yet matched to an invitation; the lookup reads the
    /// `customers_by_lower_name` index, the key comparison (any letter case) is made here.
    async fn new_customer_named(&self, tenant_id: &str, w: &NewCustomerWanted<'_>) -> StoreResult<Option<String>> {
        let (name, key, created) = (w.name, w.key, w.created);
        let rows = sqlx::query(
            "SELECT c.customer_id, c.company_name FROM customers c \
             WHERE c.tenant_id = $1 AND lower(c.company_name) = lower($2) AND c.first_seen_at > $3 \
             AND COALESCE(c.associated_partner_id, '') = $4 \
             AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.customer_id \
                 AND i.kind = 'relationship' AND i.accepted_at IS NOT NULL) ORDER BY c.first_seen_at, c.customer_id",
        )
        .bind(tenant_id)
        .bind(name.split_whitespace().collect::<Vec<_>>().join(" "))
        .bind(created)
        .bind(w.reseller.unwrap_or(""))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        for r in &rows {
            if company_key(&r.try_get::<String, _>(1)?) == key {
                return Ok(Some(r.try_get(0)?));
            }
        }
        Ok(None)
    }
}

/// The customer a relationship invitation waits for: its company, made after the
/// invitation, with the reseller it was made for (or none).
struct NewCustomerWanted<'a> {
    name: &'a str,
    key: &'a str,
    created: &'a str,
    reseller: Option<&'a str>,
}

fn state_clause(state: InvitationStateFilter) -> &'static str {
    match state {
        InvitationStateFilter::Waiting => "accepted_at IS NULL",
        InvitationStateFilter::Accepted => "accepted_at IS NOT NULL",
        InvitationStateFilter::NotUsed => {
            "copied_at IS NULL AND opened_at IS NULL AND sent_at IS NULL AND accepted_at IS NULL"
        }
        InvitationStateFilter::Sent => "sent_at IS NOT NULL",
    }
}

/// `%`, `_` and the escape character itself, escaped for `LIKE … ESCAPE '\'`.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
