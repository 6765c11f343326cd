//! The `[enrich]` configuration: the map of site names and the optional Tableau server, with
//! its validation (every problem, each with its path) and defaults.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    path::Path,
    time::Duration,
};

use url::Url;

use crate::secret::{self, Secret};

pub(super) const DEFAULT_API_VERSION: &str = "3.19";
pub(super) const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);

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

/// A validated configuration.
#[derive(Debug)]
pub(super) struct Settings {
    /// Lower-case site LUID → name.
    pub(super) sites: HashMap<String, String>,
    pub(super) tableau: Option<TableauSettings>,
}

#[derive(Debug)]
pub(super) struct TableauSettings {
    /// `{server}/api/{version}`, without a trailing slash.
    pub(super) api: String,
    pub(super) site: String,
    pub(super) pat_name: String,
    pub(super) pat_secret: Secret,
    pub(super) cache_ttl: Duration,
}

/// Validates `config`; secret references are resolved against `base`.
pub(super) fn validate(config: &EnrichConfig, base: &Path) -> Result<Settings, Vec<EnrichProblem>> {
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
        if let (Some(server), true, Some(secret)) = (api, valid_version, secret) {
            let api = format!("{}/api/{version}", server.as_str().trim_end_matches('/'));
            remote = Some(TableauSettings {
                api,
                site: tableau.site.clone(),
                pat_name: tableau.pat_name.clone(),
                pat_secret: secret,
                cache_ttl: tableau.cache_ttl,
            });
        }
    }
    if problems.is_empty() {
        Ok(Settings {
            sites,
            tableau: remote,
        })
    } else {
        Err(problems)
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
