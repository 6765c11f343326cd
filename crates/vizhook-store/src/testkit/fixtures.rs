//! What the conformance checks build their worlds from: a fixed time, fresh ids of any type,
//! and sites, seeds, sessions, users and webhooks to store.

use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;
use vizhook_core::*;

use crate::*;

pub const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

/// Makes a fresh random id of any id type.
macro_rules! new_id {
    () => {
        from_uuid(Uuid::new_v4())
    };
}

/// Lets `new_id!()` produce whichever id type the context asks for.
pub(crate) trait FromUuid {
    fn make(uuid: Uuid) -> Self;
}

macro_rules! impl_from_uuid {
    ($($ty:ty),*) => { $(impl FromUuid for $ty { fn make(uuid: Uuid) -> Self { <$ty>::from_uuid(uuid) } })* };
}
impl_from_uuid!(
    SiteId,
    UserId,
    AccountId,
    WebhookId,
    AccessTokenId,
    EventId,
    ProjectId,
    DatasourceId,
    WorkbookId,
    ViewId,
    ConnectionId,
    JobId,
    LabelId
);

pub(crate) fn from_uuid<T: FromUuid>(uuid: Uuid) -> T {
    T::make(uuid)
}

/// A fresh random id of any id type.
pub(crate) fn fresh<T: FromUuid>() -> T {
    from_uuid(Uuid::new_v4())
}

pub fn site(name: &str, content_url: &str) -> Site {
    Site {
        id: new_id!(),
        name: name.to_owned(),
        content_url: ContentUrl::parse(content_url).unwrap(),
        admin_mode: "ContentAndUsers".to_owned(),
        state: "Active".to_owned(),
        created_at: T0,
        updated_at: T0,
    }
}

/// A site's Default project.
pub fn project_for(site: &Site) -> Project {
    Project {
        id: new_id!(),
        site_id: site.id,
        name: "Default".to_owned(),
        description: String::new(),
        parent_id: None,
        owner_id: new_id!(),
        created_at: T0,
        updated_at: T0,
    }
}

pub fn seed() -> BootstrapSeed {
    let account = Account {
        id: new_id!(),
        name: "admin".to_owned(),
        password_hash: Some("$argon2id$fake".to_owned()),
        server_admin: true,
    };
    let access_token = AccessToken {
        id: new_id!(),
        account_id: account.id,
        name: "ci-token".to_owned(),
        secret_hash: "$argon2id$fake-secret".to_owned(),
        created_at: T0,
    };
    let site = Site {
        name: "Default".to_owned(),
        ..site("Default", "")
    };
    BootstrapSeed {
        default_project: project_for(&site),
        site,
        account,
        user_id: new_id!(),
        access_token: Some(access_token),
        now: T0,
    }
}

pub(crate) fn token(byte: u8) -> TokenHash {
    TokenHash([byte; 32])
}

pub(crate) fn new_session(seed: &BootstrapSeed, site: SiteId, byte: u8) -> NewSession {
    NewSession {
        token: token(byte),
        account_id: seed.account.id,
        site_id: site,
        new_user_id: new_id!(),
        now: T0,
        expires_at: T0 + Duration::hours(4),
    }
}

pub(crate) fn new_user(site: SiteId, name: &str, role: SiteRole) -> NewSiteUser {
    NewSiteUser {
        account_id: new_id!(),
        user_id: new_id!(),
        site_id: site,
        name: name.to_owned(),
        site_role: role,
        auth_setting: "ServerDefault".to_owned(),
        now: T0,
    }
}

pub fn webhook(site: SiteId, owner: UserId, name: &str) -> Webhook {
    Webhook::create(
        NewWebhookContext {
            id: new_id!(),
            site_id: site,
            owner_id: owner,
            now: T0,
        },
        WebhookName::parse(name).unwrap(),
        EventKind::DatasourceRefreshFailed,
        DestinationUrl::parse("https://example.com/hook?key=secret", UrlPolicy::default()).unwrap(),
        StatusPatch::default(),
    )
    .unwrap()
}
