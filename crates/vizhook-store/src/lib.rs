//! The storage boundary of vizhook: one use-case trait that every backend implements, the records
//! it trades in, its error type, and (feature `testkit`) the conformance suite every backend runs.
//!
//! Methods are use cases, not CRUD: anything that must be atomic is one method, so transactions
//! never cross this trait. Time is always an argument so tests control it.

#![forbid(unsafe_code)]

pub mod cipher;
mod content;
mod error;
mod inbox;
mod outbox;
mod records;
#[cfg(feature = "testkit")]
pub mod testkit;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{
    AccountId, ContentUrl, DatasourceId, DeliveryId, JobId, LabelId, ProjectId, SiteId, UserId,
    ViewId, Webhook, WebhookId, WorkbookId,
};

pub use content::*;
pub use error::{StoreError, StoreResult};
pub use inbox::*;
pub use outbox::*;
pub use records::*;

/// Everything vizhook keeps. Implemented by `vizhook-store-sqlite` (embedded, the default) and
/// designed so that a PostgreSQL backend can implement it without touching callers.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Seeds an empty database: the Default site, the first server administrator and their
    /// personal access token, in one transaction. Returns `false` (and changes nothing) when
    /// the database already holds a site.
    async fn bootstrap(&self, seed: &BootstrapSeed) -> StoreResult<bool>;

    // Identity and sessions.

    /// The account with this user name (case-insensitive), if any.
    async fn account_by_name(&self, name: &str) -> StoreResult<Option<Account>>;
    /// The account with this id and every site membership it has (for authorization).
    async fn account_sites(&self, id: AccountId) -> StoreResult<Option<AccountSites>>;
    /// Every personal access token with this name; secrets are checked by the caller.
    async fn access_tokens_named(&self, name: &str) -> StoreResult<Vec<AccessToken>>;
    /// Signs an account in to a site: server administrators become members of any site they
    /// sign in to; the sign-in time is recorded. `NotFound` when the account is not a member.
    async fn start_session(&self, new: &NewSession) -> StoreResult<Session>;
    /// The live session for a token hash at `now`, if any.
    async fn session(&self, token: &TokenHash, now: OffsetDateTime)
    -> StoreResult<Option<Session>>;
    /// Ends a session. Returns whether one existed.
    async fn end_session(&self, token: &TokenHash) -> StoreResult<bool>;

    // Sites.

    /// Creates a site with its Default project, and writes `events`. `Conflict` when the name
    /// or content URL is taken.
    async fn create_site(
        &self,
        site: &Site,
        default_project: &Project,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;
    async fn sites(&self) -> StoreResult<Vec<Site>>;
    async fn site(&self, id: SiteId) -> StoreResult<Option<Site>>;
    async fn site_by_content_url(&self, content_url: &ContentUrl) -> StoreResult<Option<Site>>;
    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>>;
    /// `NotFound` when the site is gone, `Conflict` when the new content URL is taken.
    async fn update_site(
        &self,
        site: &Site,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;
    /// Deletes the site with everything on it (users, sessions, webhooks, content), and writes
    /// `events` (for webhooks on other sites). `NotFound` if absent.
    async fn delete_site(&self, id: SiteId, events: &[PublishEvent])
    -> StoreResult<Vec<Published>>;

    // Users.

    /// Adds a user to a site, creating the account when the name is new (an existing account
    /// added as `ServerAdministrator` becomes a server administrator). `Conflict` when the name
    /// is already a member of the site.
    async fn add_user(&self, new: &NewSiteUser) -> StoreResult<SiteUser>;
    async fn users(&self, site: SiteId) -> StoreResult<Vec<SiteUser>>;
    async fn user(&self, site: SiteId, id: UserId) -> StoreResult<Option<SiteUser>>;
    /// Applies an update to a membership and, for the password, to its account.
    async fn update_user(
        &self,
        update: &SiteUserUpdate,
        events: &[PublishEvent],
    ) -> StoreResult<(SiteUser, Vec<Published>)>;
    /// Removes a user from a site, ending their sessions there. `NotFound` if absent.
    async fn remove_user(
        &self,
        site: SiteId,
        id: UserId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;

    // Webhooks.

    async fn create_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    async fn webhooks(&self, site: SiteId) -> StoreResult<Vec<OwnedWebhook>>;
    async fn webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<Option<OwnedWebhook>>;
    /// `NotFound` when the webhook is gone.
    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    /// `NotFound` when the webhook is gone.
    async fn delete_webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<()>;
    /// Sets (or with `None` removes) a webhook's own signing secret. `NotFound` if absent.
    async fn set_signing_secret(
        &self,
        site: SiteId,
        id: WebhookId,
        secret: Option<String>,
    ) -> StoreResult<()>;

    // Site content.

    /// Applies content changes and writes `events`, all in one transaction.
    async fn apply(
        &self,
        changes: &[ContentChange],
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;
    async fn projects(&self, site: SiteId) -> StoreResult<Vec<Project>>;
    async fn project(&self, site: SiteId, id: ProjectId) -> StoreResult<Option<Project>>;
    async fn datasources(&self, site: SiteId) -> StoreResult<Vec<Datasource>>;
    async fn datasource(&self, site: SiteId, id: DatasourceId) -> StoreResult<Option<Datasource>>;
    async fn workbooks(&self, site: SiteId) -> StoreResult<Vec<Workbook>>;
    async fn workbook(&self, site: SiteId, id: WorkbookId) -> StoreResult<Option<Workbook>>;
    /// A site's views, or one workbook's.
    async fn views(&self, site: SiteId, workbook: Option<WorkbookId>) -> StoreResult<Vec<View>>;
    async fn view(&self, site: SiteId, id: ViewId) -> StoreResult<Option<View>>;
    async fn connections(&self, site: SiteId, owner: ContentRef) -> StoreResult<Vec<Connection>>;
    async fn job(&self, site: SiteId, id: JobId) -> StoreResult<Option<Job>>;
    /// Jobs not finished yet: on one target, or (with `None`) anywhere, for recovery at start-up.
    async fn unfinished_jobs(&self, target: Option<ContentRef>) -> StoreResult<Vec<Job>>;
    /// Labels on the given assets.
    async fn labels(&self, site: SiteId, targets: &[ContentRef]) -> StoreResult<Vec<Label>>;
    async fn label(&self, site: SiteId, id: LabelId) -> StoreResult<Option<Label>>;

    // The outbox.

    /// Writes events and, in the same transaction, one pending delivery per enabled webhook of
    /// the event's site that subscribes to its type.
    async fn publish_events(&self, events: &[PublishEvent]) -> StoreResult<Vec<Published>>;
    /// Publishes like [`publish_events`](Store::publish_events) and, in the same transaction,
    /// leases up to `lease.limit` of the new deliveries (none of `lease.exclude_webhooks`) to
    /// the caller, who sends them without claiming them: they are written with their lease, as a
    /// claim would leave them, and returned ready to send. The others stay due for claims.
    async fn publish_leasing(
        &self,
        events: &[PublishEvent],
        lease: &ClaimRequest,
    ) -> StoreResult<Publication>;
    /// Records attempts and then, if asked, leases due deliveries, in one transaction: the
    /// dispatcher's single round trip (and fsync) per cycle.
    ///
    /// Recording moves each delivery on (delivered, retry at, failed); successes reset their
    /// webhook's count of consecutive failed deliveries, failed deliveries add to it, and a
    /// webhook reaching `failure.disable_after` is disabled with a notice for its owner.
    /// Claiming leases due deliveries of enabled webhooks, oldest first; a delivery whose lease
    /// ran out (its claimer died) is due again.
    async fn exchange(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
        claim: Option<&ClaimRequest>,
    ) -> StoreResult<Exchange>;

    /// Leases due deliveries (an [`exchange`](Store::exchange) that records nothing).
    async fn claim_deliveries(&self, request: &ClaimRequest) -> StoreResult<Vec<ClaimedDelivery>> {
        let failure = FailurePolicy {
            disable_after: 0,
            reason: String::new(),
            now: request.now,
        };
        Ok(self.exchange(&[], &failure, Some(request)).await?.claimed)
    }

    /// Records attempts (an [`exchange`](Store::exchange) that claims nothing).
    async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
    ) -> StoreResult<Vec<DisabledWebhook>> {
        Ok(self.exchange(records, failure, None).await?.disabled)
    }
    /// When the next pending delivery of an enabled webhook falls due, if any.
    async fn next_due(&self) -> StoreResult<Option<OffsetDateTime>>;
    /// A webhook's deliveries, newest first, each with its attempts.
    async fn deliveries(
        &self,
        site: SiteId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    async fn delivery(&self, site: SiteId, id: DeliveryId) -> StoreResult<Option<DeliveryRecord>>;
    /// Schedules a delivery again, now, with a fresh retry schedule. `NotFound` if absent.
    async fn redeliver(&self, site: SiteId, id: DeliveryId, now: OffsetDateTime)
    -> StoreResult<()>;
    /// Deletes finished deliveries (and their attempts) completed before `before`, and events
    /// older than `before` that no longer have a delivery.
    async fn prune(&self, before: OffsetDateTime) -> StoreResult<PruneStats>;

    // Notices.

    /// A site's notices, newest first; only one webhook's when `webhook` is given.
    async fn notices(&self, site: SiteId, webhook: Option<WebhookId>) -> StoreResult<Vec<Notice>>;
    /// Notices whose email is still to be sent, oldest first.
    async fn pending_notices(&self, limit: u32) -> StoreResult<Vec<Notice>>;
    async fn update_notice(&self, update: &NoticeUpdate) -> StoreResult<()>;

    // The receiver's inbox (`vizhook receive`).

    /// Stores an accepted event once, in one transaction: when `dedup_key` or one of
    /// `extra_dedup_keys` is held by an event whose `dedup_until` is still after `received_at`,
    /// returns `Duplicate` (naming the first such holder) and writes nothing. Otherwise writes
    /// the event, takes over all its keys (until `dedup_until`), and for
    /// each planned notification applies [`vizhook_core::notify::decide`] to its group's
    /// stored state at `received_at`, saving the new state and queueing a pending task, due
    /// at once, for each notice.
    async fn receive(&self, inbound: &Inbound) -> StoreResult<Received>;
    /// Receives like [`receive`](Store::receive) and, in the same transaction, leases up to
    /// `lease.limit` of the event's new pending tasks (none of `lease.exclude_receivers`) to
    /// the caller, who runs them without claiming them: they are written with their lease and
    /// one attempt counted, as a claim would leave them, and returned ready to run, in plan
    /// order. A duplicate leases nothing.
    async fn receive_leasing(
        &self,
        inbound: &Inbound,
        lease: &TaskClaimRequest,
    ) -> StoreResult<(Received, Vec<ClaimedTask>)>;
    /// Records finished task attempts and then, if asked, leases due tasks, in one
    /// transaction (the engine's one round trip per cycle). Leased tasks are pending ones due
    /// at `now` of receivers not excluded, oldest first; a task whose lease ran out is due
    /// again. Each lease counts one attempt.
    async fn exchange_tasks(
        &self,
        records: &[TaskRecord],
        claim: Option<&TaskClaimRequest>,
    ) -> StoreResult<Vec<ClaimedTask>>;
    /// When the next pending task falls due (its lease end while leased), if any.
    async fn next_task_due(&self) -> StoreResult<Option<OffsetDateTime>>;
    /// The newest stored inbound events, newest first, each with its tasks.
    async fn inbox(&self, limit: u32) -> StoreResult<Vec<InboxEntry>>;
    /// Deletes inbound events received before `before` whose tasks are all finished, with
    /// their tasks, and de-duplication keys that expired before `before`. Returns how many
    /// events it deleted.
    async fn prune_inbox(&self, before: OffsetDateTime) -> StoreResult<u64>;
}
