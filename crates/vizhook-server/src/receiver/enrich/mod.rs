//! Enrichment for `vizhook receive`: an event's site name, and for data sources and workbooks
//! their project and owner names, from the configured map of site names or from a Tableau
//! server's REST API (signed in with a personal access token), cached. Never fails a lookup.

mod cache;
mod tableau;
#[cfg(test)]
mod tests;
mod transport;

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::Path,
    sync::Arc,
    time::Duration,
};

use url::Url;

use self::{
    cache::TtlCache,
    tableau::{Kind, Tableau, TableauError},
    transport::Transport,
};
use crate::{
    delivery::http_client::Outbound,
    receiver::{event::InboundEvent, secret},
};

/// How long a failed or empty lookup is remembered (at most `cache_ttl`).
const FAILURE_TTL: Duration = Duration::from_secs(60);
const DEFAULT_API_VERSION: &str = "3.19";
const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);

/// The `[enrich]` table.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichConfig {
    /// Site LUID → site name, consulted first.
    #[serde(default)]
    pub sites: BTreeMap<String, String>,
    #[serde(default)]
    pub tableau: Option<TableauConfig>,
}

/// The `[enrich.tableau]` table: the Tableau server to ask.
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableauConfig {
    /// Base URL, e.g. `https://tableau.example.com`.
    pub server: String,
    /// The content URL of the site to sign in to; "" is the Default site.
    #[serde(default)]
    pub site: String,
    pub pat_name: String,
    /// A secret reference: literal, `env:NAME` or `file:PATH`.
    pub pat_secret: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default = "default_cache_ttl", with = "humantime_serde")]
    pub cache_ttl: Duration,
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_cache_ttl() -> Duration {
    DEFAULT_CACHE_TTL
}

impl fmt::Debug for TableauConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableauConfig")
            .field("server", &self.server)
            .field("site", &self.site)
            .field("pat_name", &self.pat_name)
            .field("pat_secret", &"<redacted>")
            .field("api_version", &self.api_version)
            .field("cache_ttl", &self.cache_ttl)
            .finish()
    }
}

/// A configuration error at its path (`enrich.tableau.server`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for EnrichProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// What enrichment learned about an event; whatever it could not learn is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enrichment {
    pub site_name: Option<String>,
    pub project_name: Option<String>,
    pub owner_name: Option<String>,
}

/// Looks events up. Cheap to clone: clones share their caches and Tableau session.
#[derive(Debug, Clone)]
pub struct Enricher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Lower-case site LUID → name.
    sites: HashMap<String, String>,
    remote: Option<Remote>,
}

/// A Tableau server and what it answered.
#[derive(Debug)]
struct Remote {
    client: Tableau,
    ttl: Duration,
    failure_ttl: Duration,
    site_names: TtlCache<Option<String>>,
    /// Set while listing sites is forbidden or unreadable: sites are then asked one by one.
    no_listing: TtlCache<()>,
    contents: TtlCache<Option<(Option<String>, Option<String>)>>,
    users: TtlCache<Option<String>>,
}

impl Enricher {
    /// Validates `config`; secret references are resolved against `base`, the configuration
    /// file's folder. Every problem is reported, each with its path.
    pub fn build(
        config: &EnrichConfig,
        base: &Path,
        outbound: Outbound,
    ) -> Result<Self, Vec<EnrichProblem>> {
        let mut problems = Vec::new();
        let mut problem = |path: &str, message: String| {
            problems.push(EnrichProblem {
                path: path.to_owned(),
                message,
            });
        };
        let mut sites = HashMap::new();
        for (luid, name) in &config.sites {
            if luid.trim().is_empty() {
                problem("enrich.sites", "a site LUID is empty".to_owned());
            }
            sites.insert(luid.trim().to_ascii_lowercase(), name.clone());
        }
        let mut remote = None;
        if let Some(tableau) = &config.tableau {
            let api = match server_url(&tableau.server) {
                Ok(server) => Some(server),
                Err(message) => {
                    problem("enrich.tableau.server", message);
                    None
                }
            };
            let version = &tableau.api_version;
            let valid_version = version.split_once('.').is_some_and(|(major, minor)| {
                [major, minor]
                    .iter()
                    .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
            });
            if !valid_version {
                problem(
                    "enrich.tableau.api_version",
                    format!("{version:?} is not an API version such as \"3.19\""),
                );
            }
            if tableau.pat_name.trim().is_empty() {
                problem(
                    "enrich.tableau.pat_name",
                    "the token name is empty".to_owned(),
                );
            }
            let secret = secret::resolve(&tableau.pat_secret, base)
                .map_err(|err| problem("enrich.tableau.pat_secret", err.to_string()))
                .ok();
            let transport = Transport::new(outbound)
                .map_err(|message| problem("enrich.tableau", message))
                .ok();
            if let (Some(server), true, Some(secret), Some(transport)) =
                (api, valid_version, secret, transport)
            {
                let api = format!("{}/api/{version}", server.as_str().trim_end_matches('/'));
                remote = Some(Remote {
                    client: Tableau::new(
                        transport,
                        api,
                        tableau.site.clone(),
                        tableau.pat_name.clone(),
                        secret,
                    ),
                    ttl: tableau.cache_ttl,
                    failure_ttl: FAILURE_TTL.min(tableau.cache_ttl),
                    site_names: TtlCache::new(),
                    no_listing: TtlCache::new(),
                    contents: TtlCache::new(),
                    users: TtlCache::new(),
                });
            }
        }
        if problems.is_empty() {
            Ok(Self {
                inner: Arc::new(Inner { sites, remote }),
            })
        } else {
            Err(problems)
        }
    }

    /// What is known about `event`. Never fails: on any error logs a warning (no secrets) and
    /// returns what it knows.
    pub async fn lookup(&self, event: &InboundEvent) -> Enrichment {
        let site = event.site_luid.trim();
        let mut found = Enrichment {
            site_name: self.inner.sites.get(&site.to_ascii_lowercase()).cloned(),
            ..Enrichment::default()
        };
        let Some(remote) = &self.inner.remote else {
            return found;
        };
        if !is_luid(site) {
            return found;
        }
        if found.site_name.is_none() {
            found.site_name = remote.site_name(site).await;
        }
        if let Some(kind) = content_kind(event)
            && is_luid(&event.resource_luid)
        {
            (found.project_name, found.owner_name) =
                remote.content(kind, site, &event.resource_luid).await;
        }
        found
    }
}

impl Remote {
    async fn site_name(&self, site: &str) -> Option<String> {
        let key = site.to_ascii_lowercase();
        if let Some(hit) = self.site_names.get(&key) {
            return hit;
        }
        if self.no_listing.get("").is_none() {
            match self.client.sites().await {
                Ok(sites) => {
                    let mut found = None;
                    for (id, name) in sites {
                        let id = id.to_ascii_lowercase();
                        if id == key {
                            found = Some(name.clone());
                        }
                        self.site_names.put(id, Some(name), self.ttl);
                    }
                    if found.is_none() {
                        self.site_names.put(key, None, self.failure_ttl);
                    }
                    return found;
                }
                Err(
                    err @ (TableauError::Status { status: 403, .. } | TableauError::Shape { .. }),
                ) => {
                    tracing::debug!(error = %err, "cannot list Tableau sites; asking for each site");
                    self.no_listing.put(String::new(), (), self.ttl);
                }
                Err(err) => return self.settle(&self.site_names, key, Err(err), "site names"),
            }
        }
        let answer = self.client.site_name(site).await;
        self.settle(&self.site_names, key, answer, "a site name")
    }

    /// The project name and owner name of a data source or workbook.
    async fn content(&self, kind: Kind, site: &str, id: &str) -> (Option<String>, Option<String>) {
        let key = format!("{kind:?}/{site}/{id}").to_ascii_lowercase();
        let info = match self.contents.get(&key) {
            Some(hit) => hit,
            None => {
                // Content can be read only on the site the session is for.
                match self.client.session().await {
                    Ok(session) if session.site_id.eq_ignore_ascii_case(site) => {
                        let answer = self.client.content(kind, site, id).await;
                        self.settle(&self.contents, key, answer, "a project and owner")
                    }
                    Ok(_) => {
                        tracing::debug!(site, "the event's site is not the site signed in to");
                        self.contents.put(key, None, self.ttl);
                        None
                    }
                    Err(err) => self.settle(&self.contents, key, Err(err), "a project and owner"),
                }
            }
        };
        let Some((project, owner_id)) = info else {
            return (None, None);
        };
        let owner = match owner_id {
            Some(owner) if is_luid(&owner) => self.user_name(site, &owner).await,
            _ => None,
        };
        (project, owner)
    }

    async fn user_name(&self, site: &str, user: &str) -> Option<String> {
        let key = format!("{site}/{user}").to_ascii_lowercase();
        if let Some(hit) = self.users.get(&key) {
            return hit;
        }
        let answer = self.client.user_name(site, user).await;
        self.settle(&self.users, key, answer, "an owner name")
    }

    /// Caches an answer for `ttl`, and an absence or a failure briefly; logs failures.
    fn settle<V: Clone>(
        &self,
        cache: &TtlCache<Option<V>>,
        key: String,
        answer: Result<Option<V>, TableauError>,
        what: &str,
    ) -> Option<V> {
        match answer {
            Ok(Some(value)) => {
                cache.put(key, Some(value.clone()), self.ttl);
                Some(value)
            }
            Ok(None) => {
                cache.put(key, None, self.failure_ttl);
                None
            }
            Err(err) => {
                if matches!(err, TableauError::Paused) {
                    tracing::debug!(error = %err, "skipped looking up {what} in Tableau");
                } else {
                    tracing::warn!(error = %err, "could not look up {what} in Tableau");
                }
                cache.put(key, None, self.failure_ttl);
                None
            }
        }
    }
}

/// The server's base URL: http or https, with a host, without credentials, query or fragment.
fn server_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|err| format!("{raw:?} is not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{raw:?} must be an http or https URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry credentials; use pat_name and pat_secret".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not have a query or fragment"));
    }
    Ok(url)
}

/// Whether `text` can be a LUID in a request path: letters, digits and dashes.
fn is_luid(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The content an event is about, when it is a data source or workbook that still exists.
fn content_kind(event: &InboundEvent) -> Option<Kind> {
    let event_type = event.event_type.to_ascii_lowercase();
    if event_type.ends_with("deleted") {
        return None;
    }
    match event.resource.to_ascii_lowercase().as_str() {
        "datasource" => Some(Kind::Datasource),
        "workbook" => Some(Kind::Workbook),
        // Refresh events name the data source or workbook refreshed.
        "extracts" if event_type.starts_with("datasource") => Some(Kind::Datasource),
        "extracts" if event_type.starts_with("workbook") => Some(Kind::Workbook),
        _ => None,
    }
}
