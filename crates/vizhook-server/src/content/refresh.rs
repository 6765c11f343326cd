//! Extract refreshes: a job that connects to each of the content's database connections (TCP to
//! the server and port for every type, and a real sign-in with the embedded credentials for
//! PostgreSQL) and succeeds or fails for that reason, firing the Started, Succeeded or Failed
//! event. The job record and its events are written together.

use std::time::Duration;

use sqlx::{
    ConnectOptions,
    postgres::{PgConnectOptions, PgSslMode},
};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use vizhook_core::EventKind;
use vizhook_store::{
    Connection, ContentChange, ContentRef, FINISH_FAILED, FINISH_SUCCESS, FINISHED_JOB, Job,
};

use vizhook_runtime::ErrorChain;

use vizhook_delivery::new_event;

use crate::state::AppState;

/// How long one connection check may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a whole refresh may take: past it the job fails, so a job still unfinished this
/// long after it started belongs to no running process (on a database that several nodes
/// share, only such jobs are ended by [`recover`]).
pub const REFRESH_LIMIT: Duration = Duration::from_secs(120);

/// How often [`sweep`] looks for jobs that a process left unfinished.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The events of a refresh of `target`.
fn kinds(target: ContentRef) -> (EventKind, EventKind, EventKind) {
    match target {
        ContentRef::Datasource(_) => (
            EventKind::DatasourceRefreshStarted,
            EventKind::DatasourceRefreshSucceeded,
            EventKind::DatasourceRefreshFailed,
        ),
        ContentRef::Workbook(_) => (
            EventKind::WorkbookRefreshStarted,
            EventKind::WorkbookRefreshSucceeded,
            EventKind::WorkbookRefreshFailed,
        ),
    }
}

/// The event for a job's start (when `finish` is `None`) or its end.
pub fn job_event(job: &Job, finish: Option<i32>) -> vizhook_store::PublishEvent {
    let (started, succeeded, failed) = kinds(job.target);
    let kind = match finish {
        None => started,
        Some(FINISH_SUCCESS) => succeeded,
        Some(_) => failed,
    };
    new_event(job.site_id, kind, &job.target_name, &job.target.id_string())
}

/// Runs a started job to its end in the background and records the outcome with its event.
/// It runs under the state's task tracker, so shutdown waits for it (within a bound; a job a
/// shutdown cut short is ended by [`recover`] at the next start).
pub fn spawn(state: AppState, job: Job, connections: Vec<Connection>) {
    let tasks = state.tasks.clone();
    tasks.spawn(async move {
        let outcome = match tokio::time::timeout(REFRESH_LIMIT, probe_all(&connections)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "the refresh took longer than {} seconds",
                REFRESH_LIMIT.as_secs()
            )),
        };
        finish(&state, job, outcome).await;
    });
}

/// Ends jobs a process left running (it crashed or was killed mid-refresh): they fail, with
/// their Failed event, so that no job stays running forever. Only jobs started longer than
/// [`REFRESH_LIMIT`] ago (and a minute's grace, for clocks) are ended: a younger one may be
/// running on another node of a shared database. [`sweep`] comes back for the rest.
pub async fn recover(state: &AppState) {
    let limit =
        time::Duration::try_from(REFRESH_LIMIT + SWEEP_INTERVAL).unwrap_or(time::Duration::MINUTE);
    let cutoff = OffsetDateTime::now_utc() - limit;
    match state.store.unfinished_jobs(None).await {
        Ok(jobs) => {
            let abandoned = jobs
                .into_iter()
                .filter(|job| job.started_at.unwrap_or(job.created_at) < cutoff);
            for job in abandoned {
                tracing::warn!(job = %job.id, target = %job.target_name, "ending a refresh that no process is running any more");
                finish(
                    state,
                    job,
                    Err("the refresh was interrupted: vizhook stopped while it ran".to_owned()),
                )
                .await;
            }
        }
        Err(err) => {
            tracing::error!(error = %ErrorChain(&err), "could not look for interrupted refresh jobs")
        }
    }
}

/// Runs [`recover`] every minute until `shutdown`, so that a job a killed process left
/// behind is ended within [`REFRESH_LIMIT`] and two minutes.
pub async fn sweep(state: AppState, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SWEEP_INTERVAL) => recover(&state).await,
        }
    }
}

/// Records a job's end (`Err` carries the reason for the job's notes) with its event.
pub async fn finish(state: &AppState, mut job: Job, outcome: Result<(), String>) {
    let now = OffsetDateTime::now_utc();
    job.completed_at = Some(now);
    job.progress = 100;
    match outcome {
        Ok(()) => job.finish_code = Some(FINISH_SUCCESS),
        Err(reason) => {
            job.finish_code = Some(FINISH_FAILED);
            job.notes = reason;
        }
    }
    let event = job_event(&job, job.finish_code);
    let job_id = job.id;
    tracing::info!(job = %job.id, target = %job.target_name, finish_code = ?job.finish_code, "refresh finished");
    match state
        .store
        .apply(&[ContentChange::SaveJob(job)], &[event])
        .await
    {
        Ok(published) => state.after_publish(&published),
        // Another node of a shared database ended it first (it recovered the job too).
        Err(err) if err.is_conflict_on(FINISHED_JOB) => {
            tracing::info!(job = %job_id, "the refresh was already ended by another process")
        }
        Err(err) => {
            tracing::error!(error = %ErrorChain(&err), "could not record the end of a refresh job")
        }
    }
}

/// Checks every connection in turn; the first failure is the refresh's failure.
pub async fn probe_all(connections: &[Connection]) -> Result<(), String> {
    for connection in connections {
        probe(connection).await?;
    }
    Ok(())
}

fn default_port(class: &str) -> Option<u16> {
    Some(match class {
        "postgres" | "greenplum" => 5432,
        "redshift" => 5439,
        "sqlserver" | "azure_sql_dw" => 1433,
        "mysql" | "mariadb" | "memsql" => 3306,
        "oracle" => 1521,
        "snowflake" | "bigquery" | "databricks" | "webdata-direct" | "odata" => 443,
        _ => return None,
    })
}

async fn probe(connection: &Connection) -> Result<(), String> {
    let server = connection.server.trim();
    if server.is_empty() {
        // File-based connections (extracts, Excel, text) have nothing to reach.
        return Ok(());
    }
    let port = match connection.port.trim() {
        "" => default_port(&connection.class).ok_or_else(|| {
            format!(
                "the {} connection to {server} has no port",
                connection.class
            )
        })?,
        raw => raw.parse::<u16>().map_err(|_| {
            format!("the port '{raw}' of the connection to {server} is not a number")
        })?,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((server, port))).await {
        Ok(Ok(_stream)) => {}
        Ok(Err(err)) => {
            return Err(format!(
                "could not connect to {server}:{port} ({}): {err}",
                connection.class
            ));
        }
        Err(_) => {
            return Err(format!(
                "could not connect to {server}:{port} ({}): timed out",
                connection.class
            ));
        }
    }
    if connection.class == "postgres" {
        sign_in_postgres(connection, server, port).await?;
    }
    Ok(())
}

/// Signs in with the connection's user name and, if embedded, its password.
async fn sign_in_postgres(connection: &Connection, server: &str, port: u16) -> Result<(), String> {
    let user = if connection.username.is_empty() {
        "postgres"
    } else {
        connection.username.as_str()
    };
    let mut options = PgConnectOptions::new()
        .host(server)
        .port(port)
        .username(user)
        .ssl_mode(PgSslMode::Prefer)
        .application_name("vizhook-refresh")
        .disable_statement_logging();
    if !connection.dbname.is_empty() {
        options = options.database(&connection.dbname);
    }
    if let (true, Some(password)) = (connection.embed_password, connection.password.as_deref()) {
        options = options.password(password);
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        }
        Ok(Err(err)) => Err(format!(
            "PostgreSQL sign-in to {server}:{port} as '{user}' failed: {err}"
        )),
        Err(_) => Err(format!(
            "PostgreSQL sign-in to {server}:{port} as '{user}' timed out"
        )),
    }
}
