//! Starting `vizhook serve` and `vizhook receive` on PostgreSQL, as a user does: one plain
//! sentence when the server cannot be reached, refuses the user, lacks the database, or holds
//! a schema newer than the binary; and two nodes started at the same moment on an empty
//! database both come up, with the migrations and the first administrator applied once. The
//! checks that need a server use `VIZHOOK_TEST_POSTGRES_URL` and are skipped, by name, without.

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::{PAT_NAME, PAT_SECRET, Server, run_to_end, serve_command, sign_in};
use sqlx::Connection;
use vizhook_store_postgres::testing;

fn serve_on(database: &str) -> Command {
    serve_command(
        Path::new("unused"),
        &[
            ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
            ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
        ],
        &["--dev", "--database", database],
    )
}

/// Runs `serve` on `database`, expecting it to stop at once with one sentence containing
/// `expected`.
fn refused(database: &str, expected: &str) {
    let (status, _, stderr) = run_to_end(serve_on(database));
    assert!(!status.success(), "{database}: should fail");
    assert!(
        stderr.contains(expected),
        "expected '{expected}' in:\n{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one plain sentence: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_unreachable_server_is_one_sentence() {
    refused(
        "postgres://vizhook:secret-password@127.0.0.1:9/vizhook",
        "the PostgreSQL server at 127.0.0.1:9 cannot be reached",
    );
    let (_, _, stderr) = run_to_end(serve_on(
        "postgres://vizhook:secret-password@127.0.0.1:9/vizhook",
    ));
    assert!(!stderr.contains("secret-password"), "{stderr}");
}

#[tokio::test]
async fn refused_credentials_missing_database_and_newer_schema_are_one_sentence() {
    let test = "refused_credentials_missing_database_and_newer_schema_are_one_sentence";
    let Some(base) = testing::server_url(test) else {
        return;
    };
    let url = url::Url::parse(&base).unwrap();
    let with = |user: &str, database: &str| {
        let mut other = url.clone();
        other.set_username(user).unwrap();
        other.set_path(&format!("/{database}"));
        other.to_string()
    };
    let database = url.path().trim_start_matches('/').to_owned();
    refused(
        &with("vizhook_no_such_role", &database),
        "refused the credentials of user 'vizhook_no_such_role'",
    );
    refused(
        &with(url.username(), "vizhook_no_such_database"),
        "the PostgreSQL database 'vizhook_no_such_database' does not exist",
    );

    // A schema migrated by a newer binary: this one refuses it and changes nothing.
    let fresh = testing::fresh_url(test).await.unwrap();
    let server = Server::spawn(serve_on(&fresh));
    assert!(server.stop().success());
    let mut conn = sqlx::PgConnection::connect(&fresh).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', true, '\\x00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    refused(
        &fresh,
        "the database's schema (migration 9999) is newer than this vizhook binary",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_together_on_an_empty_database_both_come_up() {
    let Some(fresh) =
        testing::fresh_url("two_nodes_starting_together_on_an_empty_database_both_come_up").await
    else {
        return;
    };
    let (a, b) = (serve_on(&fresh), serve_on(&fresh));
    let a = std::thread::spawn(move || Server::spawn(a));
    let b = std::thread::spawn(move || Server::spawn(b));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let (token, site, _) = sign_in(&a, PAT_NAME, PAT_SECRET).await;
    let listed = reqwest::Client::new()
        .get(b.url(&format!("/api/3.24/sites/{site}/webhooks")))
        .header("X-Tableau-Auth", &token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.status(),
        200,
        "a token of one node works on the other"
    );
    let mut conn = sqlx::PgConnection::connect(&fresh).await.unwrap();
    let sites: i64 = sqlx::query_scalar("SELECT count(*) FROM sites")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(sites, 1, "the Default site was seeded once");
    assert!(a.stop().success());
    assert!(b.stop().success());
}
