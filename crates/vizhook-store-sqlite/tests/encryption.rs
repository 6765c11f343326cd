//! Encryption at rest of signing secrets and connection passwords, checked against the SQLite
//! file itself: what the columns hold (read with sqlx, past the store), what the store reads
//! back, and what opening with the right, a wrong, an old or no key does to the file.

use sqlx::{Connection as _, SqliteConnection};
use time::Duration;
use uuid::Uuid;
use vizhook_core::*;
// `Content` names this file's fixture, so the trait is imported without its name.
use vizhook_store::{
    Content as _,
    cipher::{AtRest, CipherError, Key, KeyRing},
    testkit::{T0, seed},
    *,
};
use vizhook_store_sqlite::{OpenError, Options, SqliteStore};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PASSWORD: &str = "correct horse battery staple";

fn key(byte: u8) -> Key {
    Key::from_bytes(&[byte; 32]).unwrap()
}

fn keyed(primary: u8, previous: &[u8]) -> Options {
    let ring = KeyRing::new(key(primary), previous.iter().map(|b| key(*b)).collect());
    Options {
        at_rest: AtRest::keyed(ring),
    }
}

fn plain() -> Options {
    Options::default()
}

/// A database file in a temporary directory.
struct Database {
    _dir: tempfile::TempDir,
    url: String,
}

impl Database {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("secrets.db").display());
        Self { _dir: dir, url }
    }

    async fn open(&self, options: Options) -> Result<SqliteStore, OpenError> {
        SqliteStore::open_with(&self.url, options).await
    }

    /// The secret columns as stored, read past the store.
    async fn raw(&self) -> Raw {
        let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
        let secrets = sqlx::query_scalar("SELECT signing_secret FROM webhooks ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        let passwords = sqlx::query_scalar("SELECT password FROM connections ORDER BY position")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Raw { secrets, passwords }
    }

    async fn execute(&self, statement: &str) {
        let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

/// `webhooks.signing_secret` (by webhook name) and `connections.password` (by position).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Raw {
    secrets: Vec<Option<String>>,
    passwords: Vec<Option<String>>,
}

impl Raw {
    /// The values that are not NULL.
    fn values(&self) -> Vec<&str> {
        self.secrets
            .iter()
            .chain(&self.passwords)
            .flatten()
            .map(String::as_str)
            .collect()
    }

    fn all_under(&self, key_id: &str) -> bool {
        let prefix = format!("vhenc:v1:{key_id}:");
        self.values().iter().all(|v| v.starts_with(&prefix))
    }
}

/// What the fixture wrote.
struct Content {
    site: SiteId,
    signed: WebhookId,
    datasource: DatasourceId,
}

fn webhook(site: SiteId, owner: UserId, name: &str) -> Webhook {
    Webhook::create(
        NewWebhookContext {
            id: WebhookId::from_uuid(Uuid::new_v4()),
            site_id: site,
            owner_id: owner,
            now: T0,
        },
        WebhookName::parse(name).unwrap(),
        EventKind::WorkbookCreated,
        DestinationUrl::parse("https://example.com/hook", UrlPolicy::default()).unwrap(),
        StatusPatch::default(),
    )
    .unwrap()
}

fn connection(site: SiteId, owner: DatasourceId, password: Option<&str>) -> Connection {
    Connection {
        id: ConnectionId::from_uuid(Uuid::new_v4()),
        site_id: site,
        owner: ContentRef::Datasource(owner),
        class: "postgres".to_owned(),
        server: "db.example.com".to_owned(),
        port: "5432".to_owned(),
        dbname: "sales".to_owned(),
        username: "etl".to_owned(),
        password: password.map(str::to_owned),
        embed_password: password.is_some(),
    }
}

/// Seeds a site with a signed and an unsigned webhook, and a data source with a connection
/// that embeds a password and one that does not.
async fn populate(store: &SqliteStore) -> Content {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let site = seed.site.id;
    let signed = webhook(site, seed.user_id, "a-signed");
    store.create_webhook(&signed).await.unwrap();
    store
        .create_webhook(&webhook(site, seed.user_id, "b-unsigned"))
        .await
        .unwrap();
    store
        .set_signing_secret(site, signed.id, Some(SECRET.to_owned()))
        .await
        .unwrap();
    let datasource = Datasource {
        id: DatasourceId::from_uuid(Uuid::new_v4()),
        site_id: site,
        project_id: seed.default_project.id,
        owner_id: seed.user_id,
        name: "Sales".to_owned(),
        content_url: "sales".to_owned(),
        file_type: "tdsx".to_owned(),
        description: String::new(),
        is_certified: false,
        certification_note: String::new(),
        has_extracts: true,
        size: 1,
        created_at: T0,
        updated_at: T0,
    };
    let connections = vec![
        connection(site, datasource.id, Some(PASSWORD)),
        connection(site, datasource.id, None),
    ];
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: datasource.clone(),
                connections: Some(connections),
            }],
            &[],
        )
        .await
        .unwrap();
    Content {
        site,
        signed: signed.id,
        datasource: datasource.id,
    }
}

/// What the store reads back: the signed webhook's secret on a delivery it leases, and the
/// data source's connection passwords.
async fn read_back(
    store: &SqliteStore,
    content: &Content,
) -> (Option<String>, Vec<Option<String>>) {
    let event = PublishEvent {
        event: Event {
            id: EventId::from_uuid(Uuid::new_v4()),
            kind: EventKind::WorkbookCreated,
            resource: EventKind::WorkbookCreated.default_resource(),
            resource_name: "Book".to_owned(),
            site_id: content.site,
            resource_luid: "1".to_owned(),
            created_at: T0,
        },
        payload: b"{}".to_vec(),
    };
    let lease = ClaimRequest {
        now: T0,
        lease_until: T0 + Duration::seconds(30),
        limit: 10,
        exclude: Vec::new(),
    };
    let leased = store
        .publish_leasing(&[event], &lease)
        .await
        .unwrap()
        .leased;
    let secret = leased
        .iter()
        .find(|d| d.webhook_id == content.signed)
        .unwrap()
        .signing_secret
        .clone();
    let passwords = store
        .connections(content.site, ContentRef::Datasource(content.datasource))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.password)
        .collect();
    (secret, passwords)
}

fn plaintext() -> (Option<String>, Vec<Option<String>>) {
    (
        Some(SECRET.to_owned()),
        vec![Some(PASSWORD.to_owned()), None],
    )
}

fn unknown_key(byte: u8) -> CipherError {
    CipherError::UnknownKey {
        key_id: key(byte).id().to_owned(),
    }
}

#[tokio::test]
async fn a_keyed_store_keeps_secrets_encrypted_in_the_file_and_reads_them_in_plain() {
    let db = Database::new();
    let store = db.open(keyed(1, &[])).await.unwrap();
    let content = populate(&store).await;
    let raw = db.raw().await;
    assert_eq!(raw.values().len(), 2, "NULL stays NULL: {raw:?}");
    assert!(raw.all_under(key(1).id()), "{raw:?}");
    for value in raw.values() {
        assert!(!value.contains(SECRET) && !value.contains(PASSWORD));
    }
    assert_eq!(read_back(&store, &content).await, plaintext());

    // An updated connection is encrypted too.
    let mut updated = store
        .connections(content.site, ContentRef::Datasource(content.datasource))
        .await
        .unwrap()
        .remove(1);
    updated.password = Some("new password".to_owned());
    store
        .apply(&[ContentChange::SaveConnection(updated)], &[])
        .await
        .unwrap();
    let raw = db.raw().await;
    assert_eq!(raw.values().len(), 3);
    assert!(raw.all_under(key(1).id()), "{raw:?}");
    assert!(!raw.values().iter().any(|v| v.contains("new password")));
    store.close().await;
    drop(store);

    let store = db.open(keyed(1, &[])).await.unwrap();
    assert_eq!(
        db.raw().await,
        raw,
        "reopening with the same key rewrites nothing"
    );
    let (secret, passwords) = read_back(&store, &content).await;
    assert_eq!(secret.as_deref(), Some(SECRET));
    assert_eq!(
        passwords,
        [Some(PASSWORD.to_owned()), Some("new password".to_owned())]
    );
}

#[tokio::test]
async fn a_wrong_key_or_no_key_fails_to_open_and_changes_nothing() {
    let db = Database::new();
    let store = db.open(keyed(1, &[])).await.unwrap();
    let content = populate(&store).await;
    store.close().await;
    drop(store);
    let before = db.raw().await;

    let err = db.open(keyed(2, &[3])).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::Secrets(e) if *e == unknown_key(1)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the database's secrets were encrypted with key {}, which is not the configured key or one of the previous keys",
            key(1).id()
        )
    );
    assert_eq!(db.raw().await, before);

    let err = db.open(plain()).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::Secrets(CipherError::NoKey { key_id }) if key_id == key(1).id()),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("but no encryption key is configured")
    );
    assert_eq!(db.raw().await, before);

    let store = db.open(keyed(1, &[])).await.unwrap();
    assert_eq!(
        read_back(&store, &content).await,
        plaintext(),
        "the right key still reads"
    );
}

#[tokio::test]
async fn an_altered_value_fails_to_open_and_nothing_is_rewritten() {
    let db = Database::new();
    let store = db.open(keyed(1, &[])).await.unwrap();
    populate(&store).await;
    store.close().await;
    drop(store);
    // One plain value that a successful open would encrypt, and one encrypted value with a
    // character of its ciphertext changed (its tag no longer matches).
    db.execute("UPDATE connections SET password = 'plain one' WHERE password IS NULL")
        .await;
    let stored = db.raw().await.secrets[0].clone().unwrap();
    let at = stored.rfind(':').unwrap() + 20;
    let changed = if &stored[at..=at] == "A" { "B" } else { "A" };
    let altered = format!("{}{changed}{}", &stored[..at], &stored[at + 1..]);
    db.execute(&format!(
        "UPDATE webhooks SET signing_secret = '{altered}' WHERE signing_secret IS NOT NULL"
    ))
    .await;
    let before = db.raw().await;

    let err = db.open(keyed(1, &[])).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::Secrets(CipherError::Undecryptable { key_id, .. }) if key_id == key(1).id()),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("a value of webhooks.signing_secret does not decrypt")
    );
    assert_eq!(
        db.raw().await,
        before,
        "the plain value was not encrypted either"
    );
}

#[tokio::test]
async fn rotation_re_encrypts_everything_under_the_new_key() {
    let db = Database::new();
    let store = db.open(keyed(1, &[])).await.unwrap();
    let content = populate(&store).await;
    store.close().await;
    drop(store);

    let store = db.open(keyed(2, &[1])).await.unwrap();
    let raw = db.raw().await;
    assert_eq!(raw.values().len(), 2);
    assert!(raw.all_under(key(2).id()), "rotated at open: {raw:?}");
    assert_eq!(read_back(&store, &content).await, plaintext());
    store.close().await;
    drop(store);

    let store = db.open(keyed(2, &[])).await.unwrap();
    assert_eq!(
        read_back(&store, &content).await,
        plaintext(),
        "the old key can go"
    );
    store.close().await;
    drop(store);

    let err = db.open(keyed(1, &[])).await.unwrap_err();
    assert!(
        matches!(&err, OpenError::Secrets(e) if *e == unknown_key(2)),
        "{err:?}"
    );
}

#[tokio::test]
async fn plain_rows_are_encrypted_by_the_first_keyed_open() {
    let db = Database::new();
    let store = db.open(plain()).await.unwrap();
    let content = populate(&store).await;
    assert_eq!(
        db.raw().await.values(),
        [SECRET, PASSWORD],
        "no key: stored as given"
    );
    store.close().await;
    drop(store);

    let store = db.open(keyed(1, &[])).await.unwrap();
    let raw = db.raw().await;
    assert_eq!(raw.values().len(), 2);
    assert!(raw.all_under(key(1).id()), "{raw:?}");
    assert_eq!(read_back(&store, &content).await, plaintext());
}

#[tokio::test]
async fn encrypted_rows_with_no_key_configured_are_an_error() {
    let db = Database::new();
    let store = db.open(keyed(1, &[])).await.unwrap();
    populate(&store).await;
    store.close().await;
    drop(store);
    let before = db.raw().await;
    for attempt in [SqliteStore::open(&db.url).await, db.open(plain()).await] {
        let err = attempt.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the database's secrets were encrypted with key {}, but no encryption key is configured",
                key(1).id()
            )
        );
    }
    assert_eq!(db.raw().await, before);
}
