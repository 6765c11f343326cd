//! `Content` in SQLite: `apply` (`write.rs`) writes content changes and the events they fire in
//! one transaction; the reads (`read.rs`) serve the content API. Embedded connection passwords
//! are sealed before a change is queued and unsealed after they are read.

mod read;
pub(crate) mod write;

use async_trait::async_trait;
use vizhook_core::{DatasourceId, JobId, LabelId, ProjectId, SiteId, ViewId, WorkbookId};
use vizhook_store::{
    Connection, Content, ContentChange, ContentRef, Datasource, Job, Label, Project, PublishEvent,
    Published, StoreResult, View, Workbook,
};

use crate::SqliteStore;

#[async_trait]
impl Content for SqliteStore {
    async fn apply(
        &self,
        changes: &[ContentChange],
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let (mut changes, events) = (changes.to_vec(), events.to_vec());
        self.at_rest.seal_changes(&mut changes)?;
        self.writer
            .run(move |conn| Box::pin(write::apply(conn, changes, events)))
            .await
    }

    async fn projects(&self, site: SiteId) -> StoreResult<Vec<Project>> {
        read::projects(&self.reader, site).await
    }

    async fn project(&self, site: SiteId, id: ProjectId) -> StoreResult<Option<Project>> {
        read::project(&self.reader, site, id).await
    }

    async fn datasources(&self, site: SiteId) -> StoreResult<Vec<Datasource>> {
        read::datasources(&self.reader, site).await
    }

    async fn datasource(&self, site: SiteId, id: DatasourceId) -> StoreResult<Option<Datasource>> {
        read::datasource(&self.reader, site, id).await
    }

    async fn workbooks(&self, site: SiteId) -> StoreResult<Vec<Workbook>> {
        read::workbooks(&self.reader, site).await
    }

    async fn workbook(&self, site: SiteId, id: WorkbookId) -> StoreResult<Option<Workbook>> {
        read::workbook(&self.reader, site, id).await
    }

    async fn views(&self, site: SiteId, workbook: Option<WorkbookId>) -> StoreResult<Vec<View>> {
        read::views(&self.reader, site, workbook).await
    }

    async fn view(&self, site: SiteId, id: ViewId) -> StoreResult<Option<View>> {
        read::view(&self.reader, site, id).await
    }

    async fn connections(&self, site: SiteId, owner: ContentRef) -> StoreResult<Vec<Connection>> {
        let mut connections = read::connections(&self.reader, site, owner).await?;
        self.at_rest.unseal_connections(&mut connections)?;
        Ok(connections)
    }

    async fn job(&self, site: SiteId, id: JobId) -> StoreResult<Option<Job>> {
        read::job(&self.reader, site, id).await
    }

    async fn unfinished_jobs(&self, target: Option<ContentRef>) -> StoreResult<Vec<Job>> {
        read::unfinished_jobs(&self.reader, target).await
    }

    async fn labels(&self, site: SiteId, targets: &[ContentRef]) -> StoreResult<Vec<Label>> {
        read::labels(&self.reader, site, targets).await
    }

    async fn label(&self, site: SiteId, id: LabelId) -> StoreResult<Option<Label>> {
        read::label(&self.reader, site, id).await
    }
}
