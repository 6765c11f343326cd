//! The `Content` aggregate: site content (projects, data sources, workbooks, views,
//! connections, refresh jobs, data labels), the `ContentChange`s that `apply` writes together
//! with the events they fire, and the trait a backend implements for them.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{
    ConnectionId, DatasourceId, JobId, LabelId, ProjectId, SiteId, UserId, ViewId, WorkbookId,
};

use crate::{
    error::StoreResult,
    outbox::{PublishEvent, Published},
};

/// Site content: one write that applies changes with their events, and the reads.
#[async_trait]
pub trait Content: Send + Sync {
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
    /// A data source's or workbook's connections, with their embedded passwords in plain text.
    async fn connections(&self, site: SiteId, owner: ContentRef) -> StoreResult<Vec<Connection>>;
    async fn job(&self, site: SiteId, id: JobId) -> StoreResult<Option<Job>>;
    /// Jobs not finished yet: on one target, or (with `None`) anywhere, for recovery at start-up.
    async fn unfinished_jobs(&self, target: Option<ContentRef>) -> StoreResult<Vec<Job>>;
    /// Labels on the given assets.
    async fn labels(&self, site: SiteId, targets: &[ContentRef]) -> StoreResult<Vec<Label>>;
    async fn label(&self, site: SiteId, id: LabelId) -> StoreResult<Option<Label>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub site_id: SiteId,
    pub name: String,
    pub description: String,
    pub parent_id: Option<ProjectId>,
    pub owner_id: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasource {
    pub id: DatasourceId,
    pub site_id: SiteId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub name: String,
    pub content_url: String,
    /// The published file's type: `tds`, `tdsx`, `hyper`, …
    pub file_type: String,
    pub description: String,
    pub is_certified: bool,
    pub certification_note: String,
    pub has_extracts: bool,
    pub size: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workbook {
    pub id: WorkbookId,
    pub site_id: SiteId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub name: String,
    pub content_url: String,
    pub description: String,
    pub show_tabs: bool,
    pub size: u64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub id: ViewId,
    pub site_id: SiteId,
    pub workbook_id: WorkbookId,
    pub name: String,
    pub content_url: String,
    pub created_at: OffsetDateTime,
}

/// What a connection, job or label belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentRef {
    Datasource(DatasourceId),
    Workbook(WorkbookId),
}

impl ContentRef {
    /// `datasource` or `workbook`, as Tableau's `contentType` spells them.
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Datasource(_) => "datasource",
            Self::Workbook(_) => "workbook",
        }
    }

    pub fn id_string(self) -> String {
        match self {
            Self::Datasource(id) => id.to_string(),
            Self::Workbook(id) => id.to_string(),
        }
    }
}

/// A database connection. The embedded password must be usable to connect, so it is kept as
/// given; it is never shown by the API nor logged, and `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub id: ConnectionId,
    pub site_id: SiteId,
    pub owner: ContentRef,
    /// The connection class: `postgres`, `sqlserver`, `excel-direct`, …
    pub class: String,
    pub server: String,
    pub port: String,
    pub dbname: String,
    pub username: String,
    pub password: Option<String>,
    pub embed_password: bool,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("class", &self.class)
            .field("server", &self.server)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Tableau's job finish codes.
pub const FINISH_SUCCESS: i32 = 0;
pub const FINISH_FAILED: i32 = 1;

/// The constraint of the `Conflict` that [`ContentChange::SaveJob`] fails with when the job is
/// already finished: a job ends once, so that a refresh recovered by two nodes of one
/// database at once fires one Failed event, not two.
pub const FINISHED_JOB: &str = "jobs.completed_at";

/// An extract refresh job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub site_id: SiteId,
    pub target: ContentRef,
    pub target_name: String,
    pub created_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
    pub progress: u8,
    /// `None` while running; `FINISH_SUCCESS` or `FINISH_FAILED` when done.
    pub finish_code: Option<i32>,
    pub notes: String,
}

/// A data label on a data source or workbook. An asset has at most one label per value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub id: LabelId,
    pub site_id: SiteId,
    pub target: ContentRef,
    pub target_name: String,
    pub value: String,
    pub category: String,
    pub message: String,
    pub active: bool,
    pub elevated: bool,
    pub author_id: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A write to site content. `Save*` inserts or replaces by id.
#[derive(Debug, Clone)]
pub enum ContentChange {
    SaveProject(Project),
    /// Deletes a project with everything in it.
    DeleteProject {
        site: SiteId,
        id: ProjectId,
    },
    /// `connections: Some` replaces the data source's connections.
    SaveDatasource {
        datasource: Datasource,
        connections: Option<Vec<Connection>>,
    },
    DeleteDatasource {
        site: SiteId,
        id: DatasourceId,
    },
    /// `views`/`connections: Some` replace the workbook's views/connections.
    SaveWorkbook {
        workbook: Workbook,
        views: Option<Vec<View>>,
        connections: Option<Vec<Connection>>,
    },
    DeleteWorkbook {
        site: SiteId,
        id: WorkbookId,
    },
    DeleteView {
        site: SiteId,
        id: ViewId,
    },
    SaveConnection(Connection),
    /// Inserts a job or records its progress; a job already finished is never changed again
    /// (a `Conflict` on [`FINISHED_JOB`], and nothing of the write is kept).
    SaveJob(Job),
    SaveLabels(Vec<Label>),
    DeleteLabels {
        site: SiteId,
        ids: Vec<LabelId>,
    },
}
