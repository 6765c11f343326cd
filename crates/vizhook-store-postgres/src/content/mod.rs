//! `Content` on PostgreSQL: `apply` (`write.rs`, with `save.rs` and `lists.rs`) writes content
//! changes and the events they fire in one transaction; the reads (`read.rs`, rows decoded in
//! `rows.rs`) serve the content API on the pool. Embedded connection passwords are sealed
//! before the transaction begins and unsealed after they are read.

mod lists;
mod read;
mod rows;
mod save;
pub(crate) mod write;

use async_trait::async_trait;
use vizhook_core::{DatasourceId, JobId, LabelId, ProjectId, SiteId, ViewId, WorkbookId};
use vizhook_store::{
    Connection, Content, ContentChange, ContentRef, Datasource, Job, Label, Project, PublishEvent,
    Published, StoreResult, View, Workbook,
};

use crate::{PgStore, convert::db_error};

#[async_trait]
impl Content for PgStore {
    async fn apply(
        &self,
        changes: &[ContentChange],
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let mut changes = changes.to_vec();
        self.at_rest.seal_changes(&mut changes)?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let published = write::apply(&mut tx, &self.wakes, &changes, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(published)
    }

    async fn projects(&self, site: SiteId) -> StoreResult<Vec<Project>> {
        read::projects(&self.pool, site).await
    }

    async fn project(&self, site: SiteId, id: ProjectId) -> StoreResult<Option<Project>> {
        read::project(&self.pool, site, id).await
    }

    async fn datasources(&self, site: SiteId) -> StoreResult<Vec<Datasource>> {
        read::datasources(&self.pool, site).await
    }

    async fn datasource(&self, site: SiteId, id: DatasourceId) -> StoreResult<Option<Datasource>> {
        read::datasource(&self.pool, site, id).await
    }

    async fn workbooks(&self, site: SiteId) -> StoreResult<Vec<Workbook>> {
        read::workbooks(&self.pool, site).await
    }

    async fn workbook(&self, site: SiteId, id: WorkbookId) -> StoreResult<Option<Workbook>> {
        read::workbook(&self.pool, site, id).await
    }

    async fn views(&self, site: SiteId, workbook: Option<WorkbookId>) -> StoreResult<Vec<View>> {
        read::views(&self.pool, site, workbook).await
    }

    async fn view(&self, site: SiteId, id: ViewId) -> StoreResult<Option<View>> {
        read::view(&self.pool, site, id).await
    }

    async fn connections(&self, site: SiteId, owner: ContentRef) -> StoreResult<Vec<Connection>> {
        let mut connections = read::connections(&self.pool, site, owner).await?;
        self.at_rest.unseal_connections(&mut connections)?;
        Ok(connections)
    }

    async fn job(&self, site: SiteId, id: JobId) -> StoreResult<Option<Job>> {
        read::job(&self.pool, site, id).await
    }

    async fn unfinished_jobs(&self, target: Option<ContentRef>) -> StoreResult<Vec<Job>> {
        read::unfinished_jobs(&self.pool, target).await
    }

    async fn labels(&self, site: SiteId, targets: &[ContentRef]) -> StoreResult<Vec<Label>> {
        read::labels(&self.pool, site, targets).await
    }

    async fn label(&self, site: SiteId, id: LabelId) -> StoreResult<Option<Label>> {
        read::label(&self.pool, site, id).await
    }
}
