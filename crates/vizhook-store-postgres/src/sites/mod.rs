//! `Sites` on PostgreSQL: the `sites` table (`site.rs`) and a site's users (`users.rs`). Each
//! write is one transaction, with the events it fires written in it through the outbox's
//! `publish`; reads run on the pool.

#[cfg(test)]
mod races;
pub(crate) mod site;
mod users;

use async_trait::async_trait;
use vizhook_core::{ContentUrl, SiteId, UserId};
use vizhook_store::{
    NewSiteUser, Project, PublishEvent, Published, Site, SiteUser, SiteUserUpdate, Sites,
    StoreResult,
};

use crate::{PgStore, convert::db_error};

#[async_trait]
impl Sites for PgStore {
    async fn create_site(
        &self,
        site: &Site,
        default_project: &Project,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let published = site::create(&mut tx, &self.wakes, site, default_project, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(published)
    }

    async fn sites(&self) -> StoreResult<Vec<Site>> {
        site::all(&self.pool).await
    }

    async fn site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        site::by_id(&self.pool, id).await
    }

    async fn site_by_content_url(&self, content_url: &ContentUrl) -> StoreResult<Option<Site>> {
        site::by_content_url(&self.pool, content_url).await
    }

    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>> {
        site::by_name(&self.pool, name).await
    }

    async fn update_site(
        &self,
        site: &Site,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let published = site::update(&mut tx, &self.wakes, site, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(published)
    }

    async fn delete_site(
        &self,
        id: SiteId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let published = site::delete(&mut tx, &self.wakes, id, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(published)
    }

    async fn add_user(&self, new: &NewSiteUser) -> StoreResult<SiteUser> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let user = users::add_user(&mut tx, new).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(user)
    }

    async fn users(&self, site: SiteId) -> StoreResult<Vec<SiteUser>> {
        users::users(&self.pool, site).await
    }

    async fn user(&self, site: SiteId, id: UserId) -> StoreResult<Option<SiteUser>> {
        users::user(&self.pool, site, id).await
    }

    async fn update_user(
        &self,
        update: &SiteUserUpdate,
        events: &[PublishEvent],
    ) -> StoreResult<(SiteUser, Vec<Published>)> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let updated = users::update_user(&mut tx, &self.wakes, update, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(updated)
    }

    async fn remove_user(
        &self,
        site: SiteId,
        id: UserId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let published = users::remove_user(&mut tx, &self.wakes, site, id, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(published)
    }
}
