//! The embedded SQLite backend of the vizhook store: one file, WAL journal, `synchronous=FULL`
//! for durability, migrations embedded in the binary. Reads use a pool of read-only
//! connections; all writes go through one writer task that group-commits them, and a
//! connection of its own checkpoints the log in the background. With a key ring
//! (`Options::at_rest`) the secret columns are encrypted on write, decrypted on read, and
//! reviewed at open (`rekey.rs`).

#![forbid(unsafe_code)]

mod checkpoint;
mod content;
mod convert;
mod identity;
mod inbox;
mod outbox;
mod rekey;
mod rows;
mod sites;
mod webhooks;
mod writer;

use std::{path::PathBuf, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    ConnectOptions, Connection, SqliteConnection, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use time::OffsetDateTime;
use vizhook_core::{
    AccountId, ContentUrl, DatasourceId, DeliveryId, JobId, LabelId, ProjectId, SiteId, UserId,
    ViewId, Webhook, WebhookId, WorkbookId,
};
use vizhook_store::{
    cipher::{AtRest, CipherError},
    *,
};

use crate::{convert::db_error, writer::Writer};

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("'{url}' is not a usable SQLite database url")]
    InvalidUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not open the SQLite database")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("could not read the inbox's de-duplication keys")]
    Keys(#[source] StoreError),
    /// A stored secret cannot be read with the configured keys; nothing was changed.
    #[error(transparent)]
    Secrets(#[from] CipherError),
    #[error("could not re-encrypt the database's secrets")]
    Reencrypt(#[source] sqlx::Error),
}

/// How to open a store.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Encryption at rest of the secret columns (`webhooks.signing_secret`,
    /// `connections.password`); plain by default.
    pub at_rest: AtRest,
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: Writer,
    /// Inbound events, batched in front of the writer.
    receives: inbox::ReceiveQueue,
    /// Seals the secret columns on write and unseals them on read.
    at_rest: AtRest,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or `sqlite:path`)
    /// and applies pending migrations, without encryption at rest.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, Options::default()).await
    }

    /// Opens the database at `url` with `settings`: after the migrations, the secret columns
    /// are reviewed against the key ring in one transaction (`rekey.rs`), so a store that
    /// opens holds every secret under its primary key, or none encrypted if it has no key.
    pub async fn open_with(url: &str, settings: Options) -> Result<Self, OpenError> {
        let Options { at_rest } = settings;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| OpenError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // The outbox's working set (recent events, pending deliveries and their indexes)
            // stays in memory: 8 MiB of page cache, and reads of checkpointed pages through
            // mmap. Not more: a commit after a page split walks the cache's whole hash table
            // (SQLite parks a page at the lock-byte page number while balancing, and the commit's
            // truncation then walks every bucket), which with 64 MiB was 13 % of the writer's
            // time.
            .pragma("cache_size", "-8192")
            .pragma("mmap_size", "268435456")
            .pragma("temp_store", "memory")
            // The writer checkpoints itself every 16 MiB of WAL, which lets the log start again
            // from its beginning; `checkpoint.rs` has copied most of it by then.
            .pragma("wal_autocheckpoint", "4096")
            // A claim returns hundreds of rows; with sqlx's default of 50 the connection's
            // thread stops every 50 rows until the task reading them catches up.
            .row_buffer_size(1024)
            // Multi-row statements have up to eight shapes each (`rows.rs`): room for all.
            .statement_cache_capacity(512)
            .log_statements(tracing::log::LevelFilter::Trace);

        let mut write_conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("./migrations")
            .run(&mut write_conn)
            .await
            .map_err(OpenError::Migrate)?;
        let rewritten = rekey::review(&mut write_conn, &at_rest).await?;
        if let Some(ring) = at_rest.key_ring()
            && rewritten > 0
        {
            tracing::info!(
                secrets = rewritten,
                key = ring.primary_id(),
                "encrypted the database's secrets with the primary key"
            );
        }

        // Readers keep SQLite's default page cache: every commit by the writer invalidates a
        // reader's cache, and emptying a large one costs more than it saves.
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(
                options
                    .clone()
                    .read_only(true)
                    .pragma("cache_size", "-2000"),
            )
            .await
            .map_err(OpenError::Connect)?;
        let keys = inbox::Keys::load(&mut write_conn)
            .await
            .map_err(OpenError::Keys)?;
        let checkpoints = checkpoint::Checkpoints::spawn(
            SqliteConnection::connect_with(&options.pragma("cache_size", "-2000"))
                .await
                .map_err(OpenError::Connect)?,
            database_file(url).as_deref(),
        );
        let writer = Writer::spawn(write_conn, checkpoints);
        Ok(Self {
            reader,
            receives: inbox::ReceiveQueue::spawn(writer.clone(), keys),
            writer,
            at_rest,
        })
    }

    /// Waits for pending writes to finish and closes the read pool.
    pub async fn close(&self) {
        self.reader.close().await;
    }
}

/// The file a `sqlite:` URL opens, read as [`SqliteStore::open`] reads it (percent-decoded,
/// without its `?options`); `None` for an in-memory database or a URL that does not parse.
pub fn database_file(url: &str) -> Option<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    let in_memory = file.to_string_lossy().starts_with("file:sqlx-in-memory-")
        || url
            .split_once('?')
            .is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=memory"));
    (!in_memory).then(|| file.to_path_buf())
}

/// Checks that a database is reachable with a cheap query; used at start-up.
pub async fn ping(store: &SqliteStore) -> StoreResult<()> {
    let mut conn = store.reader.acquire().await.map_err(db_error)?;
    conn.ping().await.map_err(db_error)
}

#[async_trait]
impl Store for SqliteStore {
    async fn bootstrap(&self, seed: &BootstrapSeed) -> StoreResult<bool> {
        let seed = seed.clone();
        self.writer
            .run(move |conn| Box::pin(identity::bootstrap(conn, seed)))
            .await
    }

    async fn account_by_name(&self, name: &str) -> StoreResult<Option<Account>> {
        identity::account_by_name(&self.reader, name).await
    }

    async fn account_sites(&self, id: AccountId) -> StoreResult<Option<AccountSites>> {
        identity::account_sites(&self.reader, id).await
    }

    async fn access_tokens_named(&self, name: &str) -> StoreResult<Vec<AccessToken>> {
        identity::access_tokens_named(&self.reader, name).await
    }

    async fn start_session(&self, new: &NewSession) -> StoreResult<Session> {
        let new = new.clone();
        self.writer
            .run(move |conn| Box::pin(identity::start_session(conn, new)))
            .await
    }

    async fn session(
        &self,
        token: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        identity::session(&self.reader, token, now).await
    }

    async fn end_session(&self, token: &TokenHash) -> StoreResult<bool> {
        let token = *token;
        self.writer
            .run(move |conn| Box::pin(identity::end_session(conn, token)))
            .await
    }

    async fn create_site(
        &self,
        site: &Site,
        default_project: &Project,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let (site, project, events) = (site.clone(), default_project.clone(), events.to_vec());
        self.writer
            .run(move |conn| Box::pin(sites::create(conn, site, project, events)))
            .await
    }

    async fn sites(&self) -> StoreResult<Vec<Site>> {
        sites::all(&self.reader).await
    }

    async fn site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        sites::by_id(&self.reader, id).await
    }

    async fn site_by_content_url(&self, content_url: &ContentUrl) -> StoreResult<Option<Site>> {
        sites::by_content_url(&self.reader, content_url).await
    }

    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>> {
        sites::by_name(&self.reader, name).await
    }

    async fn update_site(
        &self,
        site: &Site,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let (site, events) = (site.clone(), events.to_vec());
        self.writer
            .run(move |conn| Box::pin(sites::update(conn, site, events)))
            .await
    }

    async fn delete_site(
        &self,
        id: SiteId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let events = events.to_vec();
        self.writer
            .run(move |conn| Box::pin(sites::delete(conn, id, events)))
            .await
    }

    async fn add_user(&self, new: &NewSiteUser) -> StoreResult<SiteUser> {
        let new = new.clone();
        self.writer
            .run(move |conn| Box::pin(identity::add_user(conn, new)))
            .await
    }

    async fn users(&self, site: SiteId) -> StoreResult<Vec<SiteUser>> {
        identity::users(&self.reader, site).await
    }

    async fn user(&self, site: SiteId, id: UserId) -> StoreResult<Option<SiteUser>> {
        identity::user(&self.reader, site, id).await
    }

    async fn update_user(
        &self,
        update: &SiteUserUpdate,
        events: &[PublishEvent],
    ) -> StoreResult<(SiteUser, Vec<Published>)> {
        let (update, events) = (update.clone(), events.to_vec());
        self.writer
            .run(move |conn| Box::pin(identity::update_user(conn, update, events)))
            .await
    }

    async fn remove_user(
        &self,
        site: SiteId,
        id: UserId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let events = events.to_vec();
        self.writer
            .run(move |conn| Box::pin(identity::remove_user(conn, site, id, events)))
            .await
    }

    async fn create_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let webhook = webhook.clone();
        self.writer
            .run(move |conn| Box::pin(webhooks::insert(conn, webhook)))
            .await
    }

    async fn webhooks(&self, site: SiteId) -> StoreResult<Vec<OwnedWebhook>> {
        webhooks::for_site(&self.reader, site).await
    }

    async fn webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<Option<OwnedWebhook>> {
        webhooks::by_id(&self.reader, site, id).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let webhook = webhook.clone();
        self.writer
            .run(move |conn| Box::pin(webhooks::update(conn, webhook)))
            .await
    }

    async fn delete_webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<()> {
        self.writer
            .run(move |conn| Box::pin(webhooks::delete(conn, site, id)))
            .await
    }

    async fn set_signing_secret(
        &self,
        site: SiteId,
        id: WebhookId,
        secret: Option<String>,
    ) -> StoreResult<()> {
        let secret = self
            .at_rest
            .seal(cipher::SecretColumn::WebhookSigningSecret, secret)?;
        self.writer
            .run(move |conn| Box::pin(outbox::set_signing_secret(conn, site, id, secret)))
            .await
    }

    async fn apply(
        &self,
        changes: &[ContentChange],
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let (mut changes, events) = (changes.to_vec(), events.to_vec());
        self.at_rest.seal_changes(&mut changes)?;
        self.writer
            .run(move |conn| Box::pin(content::apply(conn, changes, events)))
            .await
    }

    async fn projects(&self, site: SiteId) -> StoreResult<Vec<Project>> {
        content::projects(&self.reader, site).await
    }

    async fn project(&self, site: SiteId, id: ProjectId) -> StoreResult<Option<Project>> {
        content::project(&self.reader, site, id).await
    }

    async fn datasources(&self, site: SiteId) -> StoreResult<Vec<Datasource>> {
        content::datasources(&self.reader, site).await
    }

    async fn datasource(&self, site: SiteId, id: DatasourceId) -> StoreResult<Option<Datasource>> {
        content::datasource(&self.reader, site, id).await
    }

    async fn workbooks(&self, site: SiteId) -> StoreResult<Vec<Workbook>> {
        content::workbooks(&self.reader, site).await
    }

    async fn workbook(&self, site: SiteId, id: WorkbookId) -> StoreResult<Option<Workbook>> {
        content::workbook(&self.reader, site, id).await
    }

    async fn views(&self, site: SiteId, workbook: Option<WorkbookId>) -> StoreResult<Vec<View>> {
        content::views(&self.reader, site, workbook).await
    }

    async fn view(&self, site: SiteId, id: ViewId) -> StoreResult<Option<View>> {
        content::view(&self.reader, site, id).await
    }

    async fn connections(
        &self,
        site: SiteId,
        owner: ContentRef,
    ) -> StoreResult<Vec<vizhook_store::Connection>> {
        let mut connections = content::connections(&self.reader, site, owner).await?;
        self.at_rest.unseal_connections(&mut connections)?;
        Ok(connections)
    }

    async fn job(&self, site: SiteId, id: JobId) -> StoreResult<Option<Job>> {
        content::job(&self.reader, site, id).await
    }

    async fn unfinished_jobs(&self, target: Option<ContentRef>) -> StoreResult<Vec<Job>> {
        content::unfinished_jobs(&self.reader, target).await
    }

    async fn labels(&self, site: SiteId, targets: &[ContentRef]) -> StoreResult<Vec<Label>> {
        content::labels(&self.reader, site, targets).await
    }

    async fn label(&self, site: SiteId, id: LabelId) -> StoreResult<Option<Label>> {
        content::label(&self.reader, site, id).await
    }

    async fn publish_events(&self, events: &[PublishEvent]) -> StoreResult<Vec<Published>> {
        let events = events.to_vec();
        self.writer
            .run(move |conn| Box::pin(async move { outbox::publish(conn, &events).await }))
            .await
    }

    async fn publish_leasing(
        &self,
        events: &[PublishEvent],
        lease: &ClaimRequest,
    ) -> StoreResult<Publication> {
        let (events, lease, at_rest) = (events.to_vec(), lease.clone(), self.at_rest.clone());
        self.writer
            .run(move |conn| {
                Box::pin(async move {
                    let mut publication =
                        outbox::publish_leasing(conn, &events, Some(&lease)).await?;
                    at_rest.unseal_deliveries(&mut publication.leased)?;
                    Ok(publication)
                })
            })
            .await
    }

    async fn exchange(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
        claim: Option<&ClaimRequest>,
    ) -> StoreResult<Exchange> {
        let (records, failure, claim) = (records.to_vec(), failure.clone(), claim.cloned());
        let at_rest = self.at_rest.clone();
        self.writer
            .run(move |conn| {
                Box::pin(async move {
                    let disabled = outbox::record(conn, records, failure).await?;
                    let mut claimed = match claim {
                        Some(request) => outbox::claim(conn, request).await?,
                        None => Vec::new(),
                    };
                    // Inside the write, so a secret that cannot be read leases nothing.
                    at_rest.unseal_deliveries(&mut claimed)?;
                    Ok(Exchange { disabled, claimed })
                })
            })
            .await
    }

    async fn next_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        outbox::next_due(&self.reader).await
    }

    async fn deliveries(
        &self,
        site: SiteId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        outbox::deliveries(&self.reader, site, webhook, query.clone()).await
    }

    async fn delivery(&self, site: SiteId, id: DeliveryId) -> StoreResult<Option<DeliveryRecord>> {
        outbox::delivery(&self.reader, site, id).await
    }

    async fn redeliver(
        &self,
        site: SiteId,
        id: DeliveryId,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.writer
            .run(move |conn| Box::pin(outbox::redeliver(conn, site, id, now)))
            .await
    }

    async fn prune(&self, before: OffsetDateTime) -> StoreResult<PruneStats> {
        self.writer
            .run(move |conn| Box::pin(outbox::prune(conn, before)))
            .await
    }

    async fn notices(&self, site: SiteId, webhook: Option<WebhookId>) -> StoreResult<Vec<Notice>> {
        outbox::notices(&self.reader, site, webhook).await
    }

    async fn pending_notices(&self, limit: u32) -> StoreResult<Vec<Notice>> {
        outbox::pending_notices(&self.reader, limit).await
    }

    async fn update_notice(&self, update: &NoticeUpdate) -> StoreResult<()> {
        let update = update.clone();
        self.writer
            .run(move |conn| Box::pin(outbox::update_notice(conn, update)))
            .await
    }

    // The receiver's inbox.

    async fn receive(&self, inbound: &Inbound) -> StoreResult<Received> {
        let (received, _) = self.receives.receive(inbound.clone(), None).await?;
        Ok(received)
    }

    async fn receive_leasing(
        &self,
        inbound: &Inbound,
        lease: &TaskClaimRequest,
    ) -> StoreResult<(Received, Vec<ClaimedTask>)> {
        self.receives
            .receive(inbound.clone(), Some(lease.clone()))
            .await
    }

    async fn exchange_tasks(
        &self,
        records: &[TaskRecord],
        claim: Option<&TaskClaimRequest>,
    ) -> StoreResult<Vec<ClaimedTask>> {
        let (records, claim) = (records.to_vec(), claim.cloned());
        self.writer
            .run(move |conn| Box::pin(inbox::exchange(conn, records, claim)))
            .await
    }

    async fn next_task_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        inbox::next_due(&self.reader).await
    }

    async fn inbox(&self, limit: u32) -> StoreResult<Vec<InboxEntry>> {
        inbox::entries(&self.reader, limit).await
    }

    async fn prune_inbox(&self, before: OffsetDateTime) -> StoreResult<u64> {
        self.writer
            .run(move |conn| Box::pin(inbox::prune(conn, before)))
            .await
    }
}
