//! Where a partner's refresh stands, as every instance reads it from the database: for
//! the progress page, the Customers page's bar and the script that polls it.

use chrono::{DateTime, Utc};

use super::super::{WorkflowResult, Workflows};
use crate::store::{RefreshRun, RunPhase, RunState, ScheduleSkip};

/// A partner's latest refresh, the last complete one, and why a scheduled one did not
/// start. Every sentence is the portal's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshProgress {
    pub running: bool,
    /// Customers listed so far (all of them once the list has been read).
    pub total: i64,
    /// Customers read so far, including those that could not be read.
    pub done: i64,
    pub failed: i64,
    /// What the run is doing, in words.
    pub phase: Option<&'static str>,
    /// Still listing the customers: `total` is how many so far, not the end's.
    pub listing: bool,
    /// Running, but nobody holds it: the instance reading it stopped, and one that looks
    /// for such runs (every `refresh_poll_seconds`) will continue it.
    pub stalled: bool,
    pub started_at: Option<DateTime<Utc>>,
    /// The agent who started it; None for a scheduled refresh.
    pub started_by: Option<String>,
    pub scheduled: bool,
    /// What went wrong so far (the first ones; `failed` counts them all).
    pub errors: Vec<String>,
    /// Why the latest refresh stopped before the end, when it did.
    pub error: Option<String>,
    /// An estimate of the time left, from the pace so far.
    pub seconds_left: Option<i64>,
    /// The last refresh that read every customer to the end.
    pub last_complete: Option<LastComplete>,
    /// Why the last scheduled refresh did not start.
    pub schedule_skip: Option<ScheduleSkip>,
}

/// The last refresh that read to the end, and how many customers it could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastComplete {
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub customers: i64,
    pub failed: i64,
}

impl RefreshProgress {
    /// "done of total" and the time left, in words.
    pub fn left_in_words(&self) -> Option<String> {
        let s = self.seconds_left?;
        let unit = |n: i64, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
        // Rounded up to whole minutes first, so that 59 min 30 s is an hour, not 60 minutes.
        let minutes = (s + 59) / 60;
        Some(match (s, minutes / 60, minutes % 60) {
            (s, ..) if s < 60 => "less than a minute".to_string(),
            (_, 0, m) => format!("about {}", unit(m, "minute")),
            (_, h, 0) => format!("about {}", unit(h, "hour")),
            (_, h, m) => format!("about {} {}", unit(h, "hour"), unit(m, "minute")),
        })
    }
}

fn phase_in_words(run: &RefreshRun) -> &'static str {
    match run.phase {
        RunPhase::Customers => "listing your customers",
        RunPhase::Records => "reading Partner Center's list of agreement records",
        RunPhase::Details => "reading what the list of records does not tell, customer by customer",
    }
}

/// The time left at the pace since `pace_since` (the start, or the takeover by this or
/// another instance); None until a customer has been read at that pace.
fn seconds_left(run: &RefreshRun, now: DateTime<Utc>) -> Option<i64> {
    let read = run.done - run.pace_done;
    let elapsed = (now - run.pace_since).num_milliseconds();
    if run.phase != RunPhase::Details || read <= 0 || elapsed <= 0 {
        return None;
    }
    let left = (run.total - run.done).max(0);
    Some((left as f64 * elapsed as f64 / read as f64 / 1000.0).ceil() as i64)
}

impl RefreshProgress {
    fn of(latest: Option<RefreshRun>, last: Option<RefreshRun>, skip: Option<ScheduleSkip>) -> Self {
        let last_complete = last.map(|r| LastComplete {
            started_at: r.started_at,
            finished_at: r.finished_at,
            customers: r.total,
            failed: r.failed,
        });
        let Some(run) = latest else {
            return RefreshProgress { last_complete, schedule_skip: skip, ..Default::default() };
        };
        let running = run.state == RunState::Running;
        RefreshProgress {
            running,
            total: run.total,
            done: run.done,
            failed: run.failed,
            phase: running.then(|| phase_in_words(&run)),
            listing: running && run.phase == RunPhase::Customers,
            stalled: running && run.lease_until.is_some_and(|until| until < Utc::now()),
            started_at: Some(run.started_at),
            started_by: run.started_by_name.clone(),
            scheduled: run.scheduled,
            seconds_left: if running { seconds_left(&run, Utc::now()) } else { None },
            error: (run.state == RunState::Stopped).then(|| run.stop_reason.clone().unwrap_or_default()),
            errors: run.errors,
            last_complete,
            schedule_skip: skip,
        }
    }
}

impl Workflows {
    /// Where the partner's refresh stands, the same on every instance.
    #[tracing::instrument(skip_all, fields(%tenant_id), err(level = "warn"))]
    pub async fn refresh_progress(&self, tenant_id: &str) -> WorkflowResult<RefreshProgress> {
        let latest = self.store.refresh_run_latest(tenant_id).await?;
        let last = match &latest {
            Some(r) if r.state == RunState::Finished => Some(r.clone()),
            _ => self.store.refresh_run_last_finished(tenant_id).await?,
        };
        let skip = self.store.refresh_schedule_skip(tenant_id).await?;
        Ok(RefreshProgress::of(latest, last, skip))
    }

    /// Where the partner's refresh stands when the latest one is running or stopped before
    /// the end (what the Customers page shows); `None`, from one statement, otherwise.
    pub async fn refresh_progress_if_unfinished(&self, tenant_id: &str) -> WorkflowResult<Option<RefreshProgress>> {
        let latest = self.store.refresh_run_latest(tenant_id).await?;
        if latest.is_none_or(|r| r.state == RunState::Finished) {
            return Ok(None);
        }
        Ok(Some(self.refresh_progress(tenant_id).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(total: i64, done: i64, pace_done: i64, seconds_ago: i64) -> RefreshRun {
        let now = Utc::now();
        RefreshRun {
            run_id: "r".into(),
            tenant_id: "t".into(),
            state: RunState::Running,
            started_at: now,
            started_by_name: None,
            scheduled: false,
            phase: RunPhase::Details,
            cursor: None,
            listing: true,
            total,
            done,
            failed: 0,
            calls: 0,
            errors: Vec::new(),
            stop_reason: None,
            finished_at: None,
            pace_since: now - chrono::Duration::seconds(seconds_ago),
            pace_done,
            lease_owner: None,
            lease_until: None,
        }
    }

    #[test]
    fn the_time_left_follows_the_pace_since_the_takeover() {
        let now = Utc::now();
        // 100 read in 50 s since the takeover: 400 more take 200 s.
        let left = seconds_left(&run(1000, 600, 500, 50), now).unwrap();
        assert!((199..=202).contains(&left), "{left}");
        assert_eq!(seconds_left(&run(1000, 500, 500, 50), now), None, "nothing read at this pace yet");
        let listing = RefreshRun { phase: RunPhase::Customers, ..run(1000, 600, 500, 50) };
        assert_eq!(seconds_left(&listing, now), None, "not while the total is still growing");
    }

    #[test]
    fn time_left_in_words() {
        let p = |s| RefreshProgress { seconds_left: Some(s), ..Default::default() }.left_in_words().unwrap();
        assert_eq!(p(20), "less than a minute");
        assert_eq!(p(61), "about 2 minutes");
        assert_eq!(p(3 * 3600 + 60), "about 3 hours 1 minute");
        assert_eq!(p(60), "about 1 minute");
        assert_eq!(p(3540), "about 59 minutes");
        assert_eq!(p(3541), "about 1 hour");
        assert_eq!(p(7171), "about 2 hours");
        assert_eq!(p(53_964), "about 15 hours");
        assert_eq!(p(3600 + 90), "about 1 hour 2 minutes");
    }
}
