//! The resources the client covers, each read into a small typed summary: sites, users, data
//! sources and workbooks (one at a time, by id), and webhooks (list, get, create, update,
//! delete, test).

use http::Method;
use serde_json::{Value, json};

use super::session::{Client, ClientError};

const SITES_PAGE_SIZE: usize = 1000;
/// A bound on paging, whatever the server says.
const MAX_SITE_PAGES: usize = 100;

/// A site as the client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSummary {
    pub id: String,
    pub name: String,
    pub content_url: String,
}

/// A user of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub name: String,
    pub full_name: Option<String>,
    pub site_role: String,
}

/// The content types looked up by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKind {
    Datasource,
    Workbook,
}

impl ContentKind {
    fn segment(self) -> &'static str {
        match self {
            Self::Datasource => "datasources",
            Self::Workbook => "workbooks",
        }
    }

    fn element(self) -> &'static str {
        match self {
            Self::Datasource => "datasource",
            Self::Workbook => "workbook",
        }
    }
}

/// A data source or workbook: its project and owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentSummary {
    pub name: Option<String>,
    pub project_name: Option<String>,
    pub owner_id: Option<String>,
}

/// A webhook.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebhookSummary {
    pub id: String,
    pub name: String,
    /// The `event` attribute (`DatasourceRefreshFailed`), or the source name when absent.
    pub event: String,
    pub url: String,
    pub enabled: bool,
    pub status_change_reason: String,
    pub owner_name: String,
}

impl WebhookSummary {
    fn read(value: &Value) -> Self {
        let source = value["webhook-source"]
            .as_object()
            .and_then(|source| source.keys().next().cloned())
            .unwrap_or_default();
        Self {
            id: string(&value["id"]),
            name: string(&value["name"]),
            event: text(&value["event"]).unwrap_or(source),
            url: string(&value["webhook-destination"]["webhook-destination-http"]["url"]),
            enabled: match &value["isEnabled"] {
                Value::Bool(flag) => *flag,
                Value::String(text) => text.eq_ignore_ascii_case("true"),
                _ => true,
            },
            status_change_reason: string(&value["statusChangeReason"]),
            owner_name: string(&value["owner"]["name"]),
        }
    }
}

impl Client {
    /// Every site, paging through `GET /sites` (server administrators only).
    pub async fn sites(&self) -> Result<Vec<SiteSummary>, ClientError> {
        let mut sites = Vec::new();
        for number in 1..=MAX_SITE_PAGES {
            let path = format!("sites?pageSize={SITES_PAGE_SIZE}&pageNumber={number}");
            let page = self.get_json(&path).await?;
            let found = items(&page["sites"]["site"]);
            let count = found.len();
            sites.extend(found.into_iter().filter_map(|site| {
                Some(SiteSummary {
                    id: site["id"].as_str()?.to_owned(),
                    name: site["name"].as_str()?.to_owned(),
                    content_url: string(&site["contentUrl"]),
                })
            }));
            let total = &page["pagination"]["totalAvailable"];
            let total = total
                .as_str()
                .and_then(|t| t.parse::<usize>().ok())
                .or_else(|| total.as_u64().and_then(|t| usize::try_from(t).ok()));
            let done = total.map_or(count < SITES_PAGE_SIZE, |total| {
                number.saturating_mul(SITES_PAGE_SIZE) >= total
            });
            if done || count == 0 {
                break;
            }
        }
        Ok(sites)
    }

    /// One site's name; `None` when it is not found.
    pub async fn site_name(&self, site: &str) -> Result<Option<String>, ClientError> {
        let found = absent_on_404(self.get_json(&format!("sites/{site}")).await)?;
        Ok(found.and_then(|value| text(&value["site"]["name"])))
    }

    /// A data source's or workbook's name, project and owner; `None` when not found.
    pub async fn content(
        &self,
        kind: ContentKind,
        site: &str,
        id: &str,
    ) -> Result<Option<ContentSummary>, ClientError> {
        let path = format!("sites/{site}/{}/{id}", kind.segment());
        let found = absent_on_404(self.get_json(&path).await)?;
        Ok(found.map(|value| {
            let item = &value[kind.element()];
            ContentSummary {
                name: text(&item["name"]),
                project_name: text(&item["project"]["name"]),
                owner_id: text(&item["owner"]["id"]),
            }
        }))
    }

    /// One user of a site; `None` when not found.
    pub async fn user(&self, site: &str, id: &str) -> Result<Option<UserSummary>, ClientError> {
        let found = absent_on_404(self.get_json(&format!("sites/{site}/users/{id}")).await)?;
        Ok(found.map(|value| user(&value["user"])))
    }

    /// The users of a site (the first page of up to 1000).
    pub async fn users(&self, site: &str) -> Result<Vec<UserSummary>, ClientError> {
        let page = self
            .get_json(&format!("sites/{site}/users?pageSize=1000"))
            .await?;
        Ok(items(&page["users"]["user"])
            .into_iter()
            .map(user)
            .collect())
    }

    /// The webhooks of a site.
    pub async fn webhooks(&self, site: &str) -> Result<Vec<WebhookSummary>, ClientError> {
        let list = self.get_json(&format!("sites/{site}/webhooks")).await?;
        Ok(items(&list["webhooks"]["webhook"])
            .into_iter()
            .map(WebhookSummary::read)
            .collect())
    }

    /// One webhook.
    pub async fn webhook(&self, site: &str, id: &str) -> Result<WebhookSummary, ClientError> {
        let found = self
            .get_json(&format!("sites/{site}/webhooks/{id}"))
            .await?;
        Ok(WebhookSummary::read(&found["webhook"]))
    }

    /// Creates a webhook for `event` (any naming style Tableau accepts) POSTing to `url`.
    pub async fn create_webhook(
        &self,
        site: &str,
        name: &str,
        event: &str,
        url: &str,
    ) -> Result<WebhookSummary, ClientError> {
        let body = json!({"webhook": {
            "name": name,
            "event": event,
            "webhook-destination": {"webhook-destination-http": {"method": "POST", "url": url}},
        }});
        let created = self
            .call(Method::POST, &format!("sites/{site}/webhooks"), Some(&body))
            .await?;
        Ok(WebhookSummary::read(&created["webhook"]))
    }

    /// Updates a webhook with the given `webhook` attributes (`{"isEnabled": false}`, ...).
    pub async fn update_webhook(
        &self,
        site: &str,
        id: &str,
        fields: Value,
    ) -> Result<WebhookSummary, ClientError> {
        let body = json!({ "webhook": fields });
        let path = format!("sites/{site}/webhooks/{id}");
        let updated = self.call(Method::PUT, &path, Some(&body)).await?;
        Ok(WebhookSummary::read(&updated["webhook"]))
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, site: &str, id: &str) -> Result<(), ClientError> {
        let path = format!("sites/{site}/webhooks/{id}");
        self.call(Method::DELETE, &path, None).await.map(|_| ())
    }

    /// Tests a webhook: Tableau POSTs an empty payload and reports the destination's status
    /// and body.
    pub async fn test_webhook(&self, site: &str, id: &str) -> Result<(u16, String), ClientError> {
        let result = self
            .get_json(&format!("sites/{site}/webhooks/{id}/test"))
            .await?;
        let result = &result["webhookTestResult"];
        let status = result["status"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| {
                result["status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
            })
            .unwrap_or_default();
        Ok((status, string(&result["body"])))
    }
}

fn user(value: &Value) -> UserSummary {
    UserSummary {
        id: string(&value["id"]),
        name: string(&value["name"]),
        full_name: text(&value["fullName"]),
        site_role: string(&value["siteRole"]),
    }
}

fn absent_on_404(result: Result<Value, ClientError>) -> Result<Option<Value>, ClientError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.status() == Some(404) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A list's items: Tableau writes `[..]`, and a lone item may come as an object.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => Vec::new(),
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn string(value: &Value) -> String {
    text(value).unwrap_or_default()
}
