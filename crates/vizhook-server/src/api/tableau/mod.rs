//! The Tableau REST API surface vizhook serves under `/api/{version}/`: sign-in and server
//! info, sites, users and webhooks. Handlers parse with `wire`, decide with the domain types,
//! and persist through the `Store` trait; none touches SQL.

mod content;
mod datasources;
mod item;
mod jobs;
mod labels;
mod page;
mod projects;
pub(crate) mod session;
mod sites;
mod uploads;
mod users;
mod views;
mod webhooks;
pub mod wire;
mod workbooks;

pub(crate) use sites::default_project;

use axum::Router;

use crate::state::AppState;

/// Routes relative to `/api/{version}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(session::routes())
        .merge(sites::routes())
        .merge(users::routes())
        .merge(webhooks::routes())
        .merge(projects::routes())
        .merge(datasources::routes())
        .merge(workbooks::routes())
        .merge(views::routes())
        .merge(jobs::routes())
        .merge(labels::routes())
        .merge(uploads::routes())
}
