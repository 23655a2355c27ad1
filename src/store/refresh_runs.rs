//! Refreshes of a partner's whole portfolio, in the database: one running per partner at
//! most (a unique index), held by one instance at a time (a lease it renews), with where
//! it stands (phase, cursor, counts, errors so far), so that every instance shows the
//! same progress and another instance continues a run whose holder stopped.
//! docs/refresh.md describes the run.

use chrono::{DateTime, Duration, Utc};

use super::rows::RowRef;
use super::{Store, StoreError, StoreResult, parse_timestamp, timestamp};

/// How far a run has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunPhase {
    /// Reading the customer list, page by page.
    Customers,
    /// Reading the agreement-records listing, page by page.
    Records,
    /// Reading, per customer, what the listing does not tell, and storing each status.
    Details,
}

impl RunPhase {
    pub fn key(self) -> &'static str {
        match self {
            RunPhase::Customers => "customers",
            RunPhase::Records => "records",
            RunPhase::Details => "details",
        }
    }

    fn parse(s: &str) -> StoreResult<RunPhase> {
        match s {
            "customers" => Ok(RunPhase::Customers),
            "records" => Ok(RunPhase::Records),
            "details" => Ok(RunPhase::Details),
            other => Err(StoreError::Corrupt(format!("refresh phase {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Read to the end; `failed` customers could not be read.
    Finished,
    /// Given up before the end, for `stop_reason`.
    Stopped,
}

impl RunState {
    pub fn key(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Stopped => "stopped",
        }
    }

    fn parse(s: &str) -> StoreResult<RunState> {
        match s {
            "running" => Ok(RunState::Running),
            "finished" => Ok(RunState::Finished),
            "stopped" => Ok(RunState::Stopped),
            other => Err(StoreError::Corrupt(format!("refresh state {other:?}"))),
        }
    }
}

/// A refresh of one partner's customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRun {
    pub run_id: String,
    pub tenant_id: String,
    pub state: RunState,
    pub started_at: DateTime<Utc>,
    pub started_by_name: Option<String>,
    /// Started by the schedule rather than by an agent.
    pub scheduled: bool,
    pub phase: RunPhase,
    /// Where the phase goes on (the next page), as the runner wrote it.
    pub cursor: Option<String>,
    /// False once Partner Center said it does not offer the agreement-records listing.
    pub listing: bool,
    pub total: i64,
    pub done: i64,
    pub failed: i64,
    /// Partner Center calls made so far.
    pub calls: i64,
    /// The portal's sentences for what went wrong so far.
    pub errors: Vec<String>,
    pub stop_reason: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The time left is estimated from the pace since this moment and this count.
    pub pace_since: DateTime<Utc>,
    pub pace_done: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// The columns `run_of` reads.
const RUN_COLUMNS: &str = "run_id, tenant_id, state, started_at, started_by_name, scheduled, phase, cursor, listing, \
     total, done, failed, calls, errors, stop_reason, finished_at, pace_since, pace_done, lease_owner, lease_until";

fn time(r: RowRef<'_>, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    r.try_get::<Option<String>, _>(column)?.as_deref().map(parse_timestamp).transpose()
}

fn run_of(r: RowRef<'_>) -> StoreResult<RefreshRun> {
    let errors: String = r.try_get("errors")?;
    Ok(RefreshRun {
        run_id: r.try_get("run_id")?,
        tenant_id: r.try_get("tenant_id")?,
        state: RunState::parse(&r.try_get::<String, _>("state")?)?,
        started_at: parse_timestamp(&r.try_get::<String, _>("started_at")?)?,
        started_by_name: r.try_get("started_by_name")?,
        scheduled: r.try_get::<i64, _>("scheduled")? != 0,
        phase: RunPhase::parse(&r.try_get::<String, _>("phase")?)?,
        cursor: r.try_get("cursor")?,
        listing: r.try_get::<i64, _>("listing")? != 0,
        total: r.try_get("total")?,
        done: r.try_get("done")?,
        failed: r.try_get("failed")?,
        calls: r.try_get("calls")?,
        errors: serde_json::from_str(&errors).map_err(|e| StoreError::Corrupt(format!("refresh errors: {e}")))?,
        stop_reason: r.try_get("stop_reason")?,
        finished_at: time(r, "finished_at")?,
        pace_since: parse_timestamp(&r.try_get::<String, _>("pace_since")?)?,
        pace_done: r.try_get("pace_done")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: time(r, "lease_until")?,
    })
}

/// Who starts a run, and which instance will hold it.
pub struct NewRun<'a> {
    pub tenant_id: &'a str,
    pub started_by_name: Option<&'a str>,
    pub scheduled: bool,
    pub owner: &'a str,
    pub lease: Duration,
}

/// What one step of a run moved: added to the counts, and where the phase now stands.
#[derive(Debug, Default)]
pub struct Step<'a> {
    pub phase: Option<RunPhase>,
    /// The new cursor (Some(None) clears it).
    pub cursor: Option<Option<&'a str>>,
    pub listing: Option<bool>,
    pub calls: i64,
    pub errors: Option<&'a [String]>,
}

impl Store {
    /// Starts a run for the tenant, held by `owner`; None when one is running already
    /// (on this instance or another). What the previous run left to read is forgotten.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant_id = %n.tenant_id), err)]
    pub async fn refresh_run_start(&self, n: &NewRun<'_>) -> StoreResult<Option<RefreshRun>> {
        let (run_id, now) = (uuid::Uuid::new_v4().to_string(), Utc::now());
        let mut tx = self.pool().begin().await?;
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO refresh_runs ({RUN_COLUMNS}) VALUES ($1, $2, 'running', $3, $4, $5, 'customers', NULL, 1, \
             0, 0, 0, 0, '[]', NULL, NULL, $3, 0, $6, $7) RETURNING {RUN_COLUMNS}"
        ));
        let inserted = sqlx::query(sql)
            .bind(&run_id)
            .bind(n.tenant_id)
            .bind(timestamp(now))
            .bind(n.started_by_name)
            .bind(i64::from(n.scheduled))
            .bind(n.owner)
            .bind(timestamp(now + n.lease))
            .fetch_one(&mut *tx)
            .await;
        let row = match inserted {
            Ok(row) => row,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        sqlx::query("DELETE FROM refresh_items WHERE tenant_id = $1").bind(n.tenant_id).execute(&mut *tx).await?;
        tx.commit().await?;
        run_of((&row).into()).map(Some)
    }

    /// The tenant's latest run, running or not.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_run_latest(&self, tenant_id: &str) -> StoreResult<Option<RefreshRun>> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM refresh_runs WHERE tenant_id = $1 ORDER BY started_at DESC LIMIT 1");
        self.read_row(&sql, &[tenant_id.into()], run_of).await
    }

    /// The tenant's latest run that read every customer to the end (some may have failed):
    /// the last complete refresh, with how many customers it could not read.
    #[tracing::instrument(level = "debug", skip_all, fields(%tenant_id), err)]
    pub async fn refresh_run_last_finished(&self, tenant_id: &str) -> StoreResult<Option<RefreshRun>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM refresh_runs WHERE tenant_id = $1 AND state = 'finished' ORDER BY started_at DESC LIMIT 1"
        ));
        let row = sqlx::query(sql).bind(tenant_id).fetch_optional(&mut *self.reader().await?).await?;
        row.as_ref().map(|r| run_of(r.into())).transpose()
    }

    /// Running runs nobody holds (their holder stopped, or let the lease run out).
    #[tracing::instrument(level = "debug", skip_all, err)]
    pub async fn refresh_runs_abandoned(&self) -> StoreResult<Vec<RefreshRun>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM refresh_runs WHERE state = 'running' AND (lease_until IS NULL OR lease_until < $1)"
        ));
        let rows = sqlx::query(sql).bind(timestamp(Utc::now())).fetch_all(&mut *self.reader().await?).await?;
        rows.iter().map(|r| run_of(r.into())).collect()
    }

    /// Takes over a running run whose lease has run out (never one held by anybody, this
    /// instance included: its runner is alive); the time left is estimated afresh from here.
    #[tracing::instrument(level = "debug", skip_all, fields(%run_id, %owner), err)]
    pub async fn refresh_run_claim(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
    ) -> StoreResult<Option<RefreshRun>> {
        let now = Utc::now();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE refresh_runs SET lease_owner = $1, lease_until = $2, pace_since = $3, pace_done = done \
             WHERE run_id = $4 AND state = 'running' AND (lease_until IS NULL OR lease_until < $3) \
             RETURNING {RUN_COLUMNS}"
        ));
        let row = sqlx::query(sql)
            .bind(owner)
            .bind(timestamp(now + lease))
            .bind(timestamp(now))
            .bind(run_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| run_of(r.into())).transpose()
    }

    /// Keeps holding the run; false when `owner` no longer holds it.
    #[tracing::instrument(level = "debug", skip_all, fields(%run_id, %owner), err)]
    pub async fn refresh_run_renew(&self, run_id: &str, owner: &str, lease: Duration) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_runs SET lease_until = $1 WHERE run_id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(timestamp(Utc::now() + lease))
        .bind(run_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a step of the run; false when `owner` no longer holds it.
    #[tracing::instrument(level = "debug", skip_all, fields(%run_id, %owner), err)]
    pub async fn refresh_run_step(&self, run_id: &str, owner: &str, step: &Step<'_>) -> StoreResult<bool> {
        let mut conn = self.pool().acquire().await?;
        step_on(&mut conn, run_id, owner, step).await
    }

    /// Ends the run (finished or stopped, with the reason); false when `owner` no longer
    /// holds it.
    #[tracing::instrument(level = "debug", skip_all, fields(%run_id, %owner), err)]
    pub async fn refresh_run_end(
        &self,
        run_id: &str,
        owner: &str,
        state: RunState,
        stop_reason: Option<&str>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE refresh_runs SET state = $1, stop_reason = $2, finished_at = $3, lease_owner = NULL, lease_until = NULL \
             WHERE run_id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(state.key())
        .bind(stop_reason)
        .bind(timestamp(Utc::now()))
        .bind(run_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// The update of a step, on a connection or in a transaction; false without the lease.
pub(super) async fn step_on(
    conn: &mut sqlx::AnyConnection,
    run_id: &str,
    owner: &str,
    step: &Step<'_>,
) -> StoreResult<bool> {
    let errors = match step.errors {
        Some(e) => Some(serde_json::to_string(e).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    let done = sqlx::query(
        "UPDATE refresh_runs SET phase = COALESCE($1, phase), cursor = CASE WHEN $2 = 1 THEN $3 ELSE cursor END, \
         listing = COALESCE($4, listing), calls = calls + $5, errors = COALESCE($6, errors), \
         pace_since = CASE WHEN $1 = 'details' AND phase <> 'details' THEN $9 ELSE pace_since END, \
         pace_done = CASE WHEN $1 = 'details' AND phase <> 'details' THEN done ELSE pace_done END \
         WHERE run_id = $7 AND lease_owner = $8 AND state = 'running'",
    )
    .bind(step.phase.map(RunPhase::key))
    .bind(i64::from(step.cursor.is_some()))
    .bind(step.cursor.flatten())
    .bind(step.listing.map(i64::from))
    .bind(step.calls)
    .bind(errors)
    .bind(run_id)
    .bind(owner)
    .bind(timestamp(Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
