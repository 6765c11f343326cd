//! `Sites` in SQLite: the `sites` table (`site.rs`) and a site's users (`users.rs`). Every
//! write that fires events writes them in its own transaction, through the outbox's `publish`.

pub(crate) mod site;
mod users;

use async_trait::async_trait;
use vizhook_core::{ContentUrl, SiteId, UserId};
use vizhook_store::{
    NewSiteUser, Project, PublishEvent, Published, Site, SiteUser, SiteUserUpdate, Sites,
    StoreResult,
};

use crate::SqliteStore;

#[async_trait]
impl Sites for SqliteStore {
    async fn create_site(
        &self,
        site: &Site,
        default_project: &Project,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let (site, project, events) = (site.clone(), default_project.clone(), events.to_vec());
        self.writer
            .run(move |conn| Box::pin(site::create(conn, site, project, events)))
            .await
    }

    async fn sites(&self) -> StoreResult<Vec<Site>> {
        site::all(&self.reader).await
    }

    async fn site(&self, id: SiteId) -> StoreResult<Option<Site>> {
        site::by_id(&self.reader, id).await
    }

    async fn site_by_content_url(&self, content_url: &ContentUrl) -> StoreResult<Option<Site>> {
        site::by_content_url(&self.reader, content_url).await
    }

    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>> {
        site::by_name(&self.reader, name).await
    }

    async fn update_site(
        &self,
        site: &Site,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let (site, events) = (site.clone(), events.to_vec());
        self.writer
            .run(move |conn| Box::pin(site::update(conn, site, events)))
            .await
    }

    async fn delete_site(
        &self,
        id: SiteId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>> {
        let events = events.to_vec();
        self.writer
            .run(move |conn| Box::pin(site::delete(conn, id, events)))
            .await
    }

    async fn add_user(&self, new: &NewSiteUser) -> StoreResult<SiteUser> {
        let new = new.clone();
        self.writer
            .run(move |conn| Box::pin(users::add_user(conn, new)))
            .await
    }

    async fn users(&self, site: SiteId) -> StoreResult<Vec<SiteUser>> {
        users::users(&self.reader, site).await
    }

    async fn user(&self, site: SiteId, id: UserId) -> StoreResult<Option<SiteUser>> {
        users::user(&self.reader, site, id).await
    }

    async fn update_user(
        &self,
        update: &SiteUserUpdate,
        events: &[PublishEvent],
    ) -> StoreResult<(SiteUser, Vec<Published>)> {
        let (update, events) = (update.clone(), events.to_vec());
        self.writer
            .run(move |conn| Box::pin(users::update_user(conn, update, events)))
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
            .run(move |conn| Box::pin(users::remove_user(conn, site, id, events)))
            .await
    }
}
