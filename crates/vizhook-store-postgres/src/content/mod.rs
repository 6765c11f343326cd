//! `Content` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{
    ConnectionId, DatasourceId, JobId, LabelId, ProjectId, SiteId, UserId, ViewId, WorkbookId,
};
use vizhook_store::*;

pub(crate) mod write;

use crate::PgStore;

#[async_trait]
impl Content for PgStore {
    async fn apply(
        &self,
        _changes: &[ContentChange],
        _events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        Err(crate::unimplemented("apply"))
    }

    async fn projects(&self, _site: SiteId) -> StoreResult<Vec<Project>> {
        Err(crate::unimplemented("projects"))
    }

    async fn project(&self, _site: SiteId, _id: ProjectId) -> StoreResult<Option<Project>> {
        Err(crate::unimplemented("project"))
    }

    async fn datasources(&self, _site: SiteId) -> StoreResult<Vec<Datasource>> {
        Err(crate::unimplemented("datasources"))
    }

    async fn datasource(
        &self,
        _site: SiteId,
        _id: DatasourceId,
    ) -> StoreResult<Option<Datasource>> {
        Err(crate::unimplemented("datasource"))
    }

    async fn workbooks(&self, _site: SiteId) -> StoreResult<Vec<Workbook>> {
        Err(crate::unimplemented("workbooks"))
    }

    async fn workbook(&self, _site: SiteId, _id: WorkbookId) -> StoreResult<Option<Workbook>> {
        Err(crate::unimplemented("workbook"))
    }

    async fn views(&self, _site: SiteId, _workbook: Option<WorkbookId>) -> StoreResult<Vec<View>> {
        Err(crate::unimplemented("views"))
    }

    async fn view(&self, _site: SiteId, _id: ViewId) -> StoreResult<Option<View>> {
        Err(crate::unimplemented("view"))
    }

    async fn connections(&self, _site: SiteId, _owner: ContentRef) -> StoreResult<Vec<Connection>> {
        Err(crate::unimplemented("connections"))
    }

    async fn job(&self, _site: SiteId, _id: JobId) -> StoreResult<Option<Job>> {
        Err(crate::unimplemented("job"))
    }

    async fn unfinished_jobs(&self, _target: Option<ContentRef>) -> StoreResult<Vec<Job>> {
        Err(crate::unimplemented("unfinished_jobs"))
    }

    async fn labels(&self, _site: SiteId, _targets: &[ContentRef]) -> StoreResult<Vec<Label>> {
        Err(crate::unimplemented("labels"))
    }

    async fn label(&self, _site: SiteId, _id: LabelId) -> StoreResult<Option<Label>> {
        Err(crate::unimplemented("label"))
    }
}
