//! Enrichment for `vizhook receive`: an event's site name, and for data sources and workbooks
//! their project and owner names, from the configured map of site names or from a Tableau
//! server's REST API (signed in with a personal access token), cached. Never fails a lookup.

mod cache;
mod config;
#[cfg(test)]
mod tests;

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

pub use self::config::{EnrichConfig, EnrichProblem, TableauConfig};
use tokio_util::task::TaskTracker;
use vizhook_runtime::outbound::Outbound;
use vizhook_tableau::{
    client::{Client, ClientError, ContentKind as Kind, Credentials, Hidden},
    payload::InboundEvent,
};

use self::cache::TtlCache;

/// How long a failed sign-in keeps enrichment from trying again.
const SIGN_IN_PAUSE: Duration = Duration::from_secs(60);

/// How long a failed or empty lookup is remembered (at most `cache_ttl`).
const FAILURE_TTL: Duration = Duration::from_secs(60);

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
    client: Client,
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
        let settings = config::validate(config, base)?;
        let remote = settings.tableau.map(|tableau| Remote {
            client: Client::with_api(
                outbound,
                tableau.api,
                tableau.site,
                Credentials::AccessToken {
                    name: tableau.pat_name,
                    secret: Hidden::new(tableau.pat_secret.expose()),
                },
            )
            .pausing_after_failure(SIGN_IN_PAUSE),
            ttl: tableau.cache_ttl,
            failure_ttl: FAILURE_TTL.min(tableau.cache_ttl),
            site_names: TtlCache::new(),
            no_listing: TtlCache::new(),
            contents: TtlCache::new(),
            users: TtlCache::new(),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                sites: settings.sites,
                remote,
            }),
        })
    }

    /// What is known about `event`. Never fails: on any error logs a warning (no secrets) and
    /// returns what it knows.
    /// [`lookup`](Self::lookup) bounded by `deadline`, for the request path: a slow Tableau
    /// server must not delay the answer to the sender. Past the deadline the lookup goes on in
    /// the background (filling the cache for the next events) and only the static map is used.
    /// The lookup runs on `tasks`, which shutdown waits for.
    pub async fn lookup_within(
        &self,
        event: &InboundEvent,
        deadline: Duration,
        tasks: &TaskTracker,
    ) -> Enrichment {
        if self.inner.remote.is_none() {
            return self.lookup(event).await;
        }
        let (enricher, owned) = (self.clone(), event.clone());
        let lookup = tasks.spawn(async move { enricher.lookup(&owned).await });
        match tokio::time::timeout(deadline, lookup).await {
            Ok(Ok(found)) => found,
            Ok(Err(_)) | Err(_) => {
                tracing::warn!(
                    deadline = ?deadline,
                    "the Tableau lookup did not answer in time; routing with the static site names only"
                );
                Enrichment {
                    site_name: self
                        .inner
                        .sites
                        .get(&event.site_luid.trim().to_ascii_lowercase())
                        .cloned(),
                    ..Enrichment::default()
                }
            }
        }
    }

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
                    for site in sites {
                        let (id, name) = (site.id.to_ascii_lowercase(), site.name);
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
                    err @ (ClientError::Status { status: 403, .. } | ClientError::Shape { .. }),
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
                        let answer = self.client.content(kind, site, id).await.map(|found| {
                            found.map(|content| (content.project_name, content.owner_id))
                        });
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
        let answer = self.client.user(site, user).await.map(|found| {
            found.and_then(|user| {
                user.full_name
                    .filter(|n| !n.is_empty())
                    .or(Some(user.name))
                    .filter(|n| !n.is_empty())
            })
        });
        self.settle(&self.users, key, answer, "an owner name")
    }

    /// Caches an answer for `ttl`, and an absence or a failure briefly; logs failures.
    fn settle<V: Clone>(
        &self,
        cache: &TtlCache<Option<V>>,
        key: String,
        answer: Result<Option<V>, ClientError>,
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
                if matches!(err, ClientError::Paused(_)) {
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
