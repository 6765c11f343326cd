//! `Sites` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{AccountId, ContentUrl, SiteId, SiteRole, UserId};
use vizhook_store::*;

use crate::PgStore;

#[async_trait]
impl Sites for PgStore {
    async fn create_site(
        &self,
        _site: &Site,
        _default_project: &Project,
        _events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        Err(crate::unimplemented("create_site"))
    }

    async fn sites(&self) -> StoreResult<Vec<Site>> {
        Err(crate::unimplemented("sites"))
    }

    async fn site(&self, _id: SiteId) -> StoreResult<Option<Site>> {
        Err(crate::unimplemented("site"))
    }

    async fn site_by_content_url(&self, _content_url: &ContentUrl) -> StoreResult<Option<Site>> {
        Err(crate::unimplemented("site_by_content_url"))
    }

    async fn site_by_name(&self, _name: &str) -> StoreResult<Option<Site>> {
        Err(crate::unimplemented("site_by_name"))
    }

    async fn update_site(
        &self,
        _site: &Site,
        _events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        Err(crate::unimplemented("update_site"))
    }

    async fn delete_site(
        &self,
        _id: SiteId,
        _events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        Err(crate::unimplemented("delete_site"))
    }

    async fn add_user(&self, _new: &NewSiteUser) -> StoreResult<SiteUser> {
        Err(crate::unimplemented("add_user"))
    }

    async fn users(&self, _site: SiteId) -> StoreResult<Vec<SiteUser>> {
        Err(crate::unimplemented("users"))
    }

    async fn user(&self, _site: SiteId, _id: UserId) -> StoreResult<Option<SiteUser>> {
        Err(crate::unimplemented("user"))
    }

    async fn update_user(
        &self,
        _update: &SiteUserUpdate,
        _events: &[PublishEvent],
    ) -> StoreResult<(SiteUser, Vec<Published>)> {
        Err(crate::unimplemented("update_user"))
    }

    async fn remove_user(
        &self,
        _site: SiteId,
        _id: UserId,
        _events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        Err(crate::unimplemented("remove_user"))
    }
}
