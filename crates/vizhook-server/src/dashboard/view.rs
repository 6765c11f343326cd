//! What every signed-in page shows around its content (who is signed in, the site switcher
//! for server administrators, the CSRF token, a notice after an action), and the small
//! formatting helpers the pages share.

use serde::Serialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{auth::Admin, render::DashResult};
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct Me {
    name: String,
    role: &'static str,
    site: String,
}

#[derive(Debug, Serialize)]
struct SiteChoice {
    name: String,
    content_url: String,
    current: bool,
}

/// The page's frame, merged with each page's own context.
pub(super) struct Chrome {
    context: minijinja::Value,
}

impl Chrome {
    pub(super) async fn new(
        state: &AppState,
        admin: &Admin,
        notice: Option<String>,
    ) -> DashResult<Self> {
        let session = &admin.session;
        let sites: Vec<SiteChoice> = if admin.is_server_admin() {
            state
                .store
                .sites()
                .await?
                .into_iter()
                .map(|site| SiteChoice {
                    current: site.id == session.site.id,
                    name: site.name.clone(),
                    content_url: site.content_url.as_str().to_owned(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let me = Me {
            name: session.user.name.clone(),
            role: session.user.site_role.as_str(),
            site: session.site.name.clone(),
        };
        let notice = notice
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(300).collect::<String>());
        Ok(Self {
            context: minijinja::context! {
                me => minijinja::Value::from(minijinja::value::Serde(&me)),
                sites => minijinja::Value::from(minijinja::value::Serde(&sites)),
                notice,
                csrf => admin.csrf.clone(),
            },
        })
    }

    pub(super) fn with(self, page: minijinja::Value) -> minijinja::Value {
        minijinja::context! { ..page, ..self.context }
    }
}

/// `2026-12-07 21:04:05 UTC`: readable on a phone, precise to the second.
pub(super) fn time(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The link to the next older page of the log, keeping the filters.
pub(super) fn older_link(filters: &[(&'static str, String)], before: OffsetDateTime) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in filters {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    query.append_pair("before", &before.format(&Rfc3339).unwrap_or_default());
    format!("/dashboard/deliveries?{}", query.finish())
}
