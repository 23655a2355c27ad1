//! A partner's own wording of each kind of invitation, per language.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreResult, parse_timestamp, timestamp};
use crate::domain::invitation::{InvitationKind, Wording};

/// A kept wording with who changed it last, and when.
#[derive(Debug, Clone)]
pub struct TemplateRecord {
    pub kind: InvitationKind,
    pub language: String,
    pub wording: Wording,
    pub updated_by_name: String,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The partner's wording of a kind in a language, when it has one.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %language), err)]
    pub async fn invitation_template(
        &self,
        tenant_id: &str,
        kind: InvitationKind,
        language: &str,
    ) -> StoreResult<Option<TemplateRecord>> {
        let row = sqlx::query(
            "SELECT subject, body, updated_by_name, updated_at FROM invitation_templates \
             WHERE tenant_id = $1 AND kind = $2 AND language = $3",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(language)
        .fetch_optional(&mut *self.reader().await?)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(TemplateRecord {
            kind,
            language: language.to_string(),
            wording: Wording { subject: r.try_get(0)?, body: r.try_get(1)? },
            updated_by_name: r.try_get(2)?,
            updated_at: parse_timestamp(&r.try_get::<String, _>(3)?)?,
        }))
    }

    /// Every wording the partner keeps, by kind and language.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn invitation_templates(&self, tenant_id: &str) -> StoreResult<Vec<TemplateRecord>> {
        let rows = sqlx::query(
            "SELECT kind, language, subject, body, updated_by_name, updated_at FROM invitation_templates \
             WHERE tenant_id = $1 ORDER BY kind, language",
        )
        .bind(tenant_id)
        .fetch_all(&mut *self.reader().await?)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(kind) = InvitationKind::parse(&r.try_get::<String, _>(0)?) else { continue };
            out.push(TemplateRecord {
                kind,
                language: r.try_get(1)?,
                wording: Wording { subject: r.try_get(2)?, body: r.try_get(3)? },
                updated_by_name: r.try_get(4)?,
                updated_at: parse_timestamp(&r.try_get::<String, _>(5)?)?,
            });
        }
        Ok(out)
    }

    /// Keeps the partner's wording of a kind in a language, replacing what was there.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %language), err)]
    pub async fn invitation_template_save(
        &self,
        tenant_id: &str,
        kind: InvitationKind,
        language: &str,
        wording: &Wording,
        by_name: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invitation_templates (tenant_id, kind, language, subject, body, updated_by_name, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, kind, language) DO UPDATE SET \
             subject = excluded.subject, body = excluded.body, updated_by_name = excluded.updated_by_name, \
             updated_at = excluded.updated_at",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(language)
        .bind(&wording.subject)
        .bind(&wording.body)
        .bind(by_name)
        .bind(timestamp(Utc::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes the partner's wording of a kind in a language; true when there was one.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id, %language), err)]
    pub async fn invitation_template_remove(
        &self,
        tenant_id: &str,
        kind: InvitationKind,
        language: &str,
    ) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM invitation_templates WHERE tenant_id = $1 AND kind = $2 AND language = $3")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(language)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
