//! Running `vizhook serve` on PostgreSQL, as a user does: one plain
//! sentence when the server cannot be reached, refuses the user, lacks the database, or holds
//! a schema newer than the binary; and two nodes started at the same moment on an empty
//! database both come up, with the migrations and the first administrator applied once; a node
//! that loses its database stays up, answers `503000`, and resumes when it returns. The
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
    // A URL that does not parse shows no password either.
    for malformed in [
        "postgres://vizhook:secret-password@127.0.0.1:notaport/vizhook",
        "postgres://vizhook:secret-password@127.0.0.1:9/vizhook?sslmode=bogus",
    ] {
        let (status, _, stderr) = run_to_end(serve_on(malformed));
        assert!(!status.success(), "{malformed}");
        assert!(!stderr.contains("secret-password"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one plain sentence: {stderr}");
    }
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

/// A TCP forwarder to the test server that can be cut (every connection dropped, new ones
/// refused) and restored: a database outage as a node sees it.
struct Proxy {
    port: u16,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        use std::sync::{Arc, Mutex, atomic::AtomicBool};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (is_open, all) = (open.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_open.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let upstream = upstream.clone();
                all.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Self { port, open, links }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_database_answers_503_and_work_resumes_when_it_returns() {
    let Some(fresh) =
        testing::fresh_url("losing_the_database_answers_503_and_work_resumes_when_it_returns")
            .await
    else {
        return;
    };
    let mut url = url::Url::parse(&fresh).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(upstream).await;
    url.set_port(Some(proxy.port)).unwrap();
    let server = Server::spawn(serve_on(url.as_str()));
    let (token, site, _) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let webhooks = server.url(&format!("/api/3.24/sites/{site}/webhooks"));
    let get = |path: String| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let answer = client
                .get(path)
                .header("X-Tableau-Auth", token)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            let retry = answer
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, retry, answer.text().await.unwrap())
        }
    };
    assert_eq!(get(webhooks.clone()).await.0, 200);

    proxy.cut();
    let (status, retry, body) = get(webhooks.clone()).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry.as_deref(), Some("5"));
    assert!(
        body.contains(r#"code="503000""#) && body.contains("<summary>"),
        "Tableau's error document: {body}"
    );
    let (health, _, _) = get(server.url("/vizhook/v1/health")).await;
    assert_eq!(
        health, 503,
        "the health check takes the node out of rotation"
    );

    proxy.restore();
    vizhook_test_support::eventually(Duration::from_secs(30), "the database back", || {
        let get = get(webhooks.clone());
        async move { (get.await.0 == 200).then_some(()) }
    })
    .await;
    let logs = server.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(server.stop().success(), "it stops cleanly after the outage");
}
