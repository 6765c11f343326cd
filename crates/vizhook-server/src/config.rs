//! Configuration of `vizhook serve`: the typed settings, and their layering from the embedded
//! default file, an optional file, `VIZHOOK_*` environment variables and command-line flags.

use std::{fmt, net::SocketAddr, path::Path, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
pub use vizhook_delivery::DeliveryConfig;
use vizhook_listener::Limits;
pub use vizhook_runtime::email::{SmtpConfig, SmtpTls};
use vizhook_runtime::outbound::OutboundConfig;
use vizhook_store::cipher::{AtRest, Key, KeyRing};

/// The default configuration, every key documented.
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/vizhook.default.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub encryption: EncryptionConfig,
    pub auth: AuthConfig,
    pub tableau: TableauConfig,
    pub outbound: OutboundConfig,
    pub delivery: DeliveryConfig,
    pub smtp: SmtpConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub dev: bool,
    pub max_body_bytes: usize,
    pub max_publish_bytes: usize,
    /// Largest file a chunked upload (`fileUploads`) assembles.
    pub max_upload_bytes: u64,
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_uri_bytes: usize,
    /// Whether `GET /metrics` serves the Prometheus exposition.
    pub metrics: bool,
}

impl ServerConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            max_header_bytes: self.max_header_bytes,
            max_uri_bytes: self.max_uri_bytes,
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    /// PostgreSQL only: connections in the pool at most.
    pub pool_size: u32,
    /// PostgreSQL only: how long one statement may run.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
}

/// Database URLs may carry a password; only the scheme and host part are shown.
impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

pub use vizhook_runtime::redact_url;

/// Encryption at rest of webhook signing secrets and embedded connection passwords. Each key is
/// a secret reference (`env:NAME`, `file:PATH`) or, discouraged, the key itself.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// The key that encrypts; empty for none.
    pub key: String,
    /// Keys that secrets may still be encrypted with; they only decrypt.
    pub previous_keys: Vec<String>,
}

/// References are shown, keys written in the file are not.
impl fmt::Debug for EncryptionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn shown(raw: &str) -> &str {
            if raw.is_empty() || raw.starts_with("env:") || raw.starts_with("file:") {
                raw
            } else {
                "<redacted>"
            }
        }
        let previous: Vec<&str> = self.previous_keys.iter().map(|k| shown(k)).collect();
        f.debug_struct("EncryptionConfig")
            .field("key", &shown(&self.key))
            .field("previous_keys", &previous)
            .finish()
    }
}

impl EncryptionConfig {
    /// Resolves the keys (relative `file:` paths against `base`) into the store's policy:
    /// plain without a key.
    pub fn at_rest(&self, base: &Path) -> Result<AtRest, ConfigError> {
        let read = |name: String, raw: &str| {
            let secret = vizhook_runtime::secret::resolve(raw, base)
                .map_err(|err| ConfigError::Rule(format!("{name}: {err}")))?;
            Key::parse(secret.expose()).map_err(|err| ConfigError::Rule(format!("{name}: {err}")))
        };
        if self.key.is_empty() {
            if !self.previous_keys.is_empty() {
                return Err(ConfigError::Rule(
                    "encryption.previous_keys only decrypt, so they need encryption.key".into(),
                ));
            }
            return Ok(AtRest::plain());
        }
        let primary = read("encryption.key".into(), &self.key)?;
        let previous = self
            .previous_keys
            .iter()
            .enumerate()
            .map(|(i, raw)| read(format!("encryption.previous_keys[{i}]"), raw))
            .collect::<Result<_, _>>()?;
        Ok(AtRest::keyed(KeyRing::new(primary, previous)))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableauConfig {
    pub product_version: String,
    pub build: String,
    pub rest_api_version: String,
}

/// Values from the command line, which win over every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub dev: bool,
}

/// A configuration that cannot be used, with the offending key or file named.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration")]
    Invalid(#[from] Box<figment::Error>),
    #[error("invalid configuration: {0}")]
    Rule(String),
}

impl Config {
    /// Layers the default file, `file`, the process environment and `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.display().to_string()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(
                Env::prefixed("VIZHOOK_")
                    .filter(|key| key.as_str().contains("__"))
                    .split("__"),
            )
            .merge(
                Env::raw()
                    .only(&["VIZHOOK_LISTEN"])
                    .map(|_| "server.listen".into()),
            )
            .merge(
                Env::raw()
                    .only(&["VIZHOOK_DATABASE_URL"])
                    .map(|_| "database.url".into()),
            );
        if let Some(listen) = overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if overrides.dev {
            figment = figment.merge(Serialized::default("server.dev", true));
        }
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// The built-in defaults alone: what tests start from.
    pub fn defaults() -> Self {
        let config: Config = Figment::from(Toml::string(DEFAULT_CONFIG))
            .extract()
            .unwrap_or_else(|err| {
                unreachable!("the embedded default configuration is invalid: {err}")
            });
        config
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let rule = |message: &str| Err(ConfigError::Rule(message.to_owned()));
        if vizhook_tableau::ApiVersion::parse(&self.tableau.rest_api_version).is_none() {
            return rule("tableau.rest_api_version must look like 3.24");
        }
        if self.auth.session_ttl.is_zero() {
            return rule("auth.session_ttl must be longer than zero");
        }
        if self.outbound.timeout.is_zero() || self.outbound.connect_timeout.is_zero() {
            return rule("outbound.timeout and outbound.connect_timeout must be longer than zero");
        }
        if self.server.read_timeout.is_zero() {
            return rule("server.read_timeout must be longer than zero");
        }
        if self.server.max_body_bytes < 1024 {
            return rule("server.max_body_bytes must be at least 1024");
        }
        if let Some(problem) = self.server.limits().check().first() {
            return rule(&format!("server.{} {problem}", problem.key()));
        }
        self.delivery.validate().map_err(ConfigError::Rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse_and_validate() {
        let config = Config::defaults();
        config.validate().unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database.url, "sqlite://vizhook.db");
        assert_eq!(config.auth.session_ttl, Duration::from_secs(240 * 60));
        assert!(!config.server.dev);
        assert!(config.encryption.key.is_empty() && config.encryption.previous_keys.is_empty());
        assert_eq!(config.server.limits(), Limits::default());
        let outbound = OutboundConfig::default();
        assert_eq!(
            (outbound.connect_timeout, outbound.timeout),
            (config.outbound.connect_timeout, config.outbound.timeout)
        );
        assert_eq!(
            outbound.max_response_bytes,
            config.outbound.max_response_bytes
        );
        assert_eq!(outbound.allow_networks, config.outbound.allow_networks);
    }

    #[test]
    fn encryption_keys_resolve_from_files_and_literals_and_are_checked() {
        use vizhook_store::cipher::SecretColumn::ConnectionPassword;
        let dir = tempfile::tempdir().unwrap();
        let key = Key::generate().unwrap();
        let old = Key::generate().unwrap();
        std::fs::write(dir.path().join("key"), format!("{key}\n")).unwrap();
        let config = |key: &str, previous: &[&str]| EncryptionConfig {
            key: key.to_owned(),
            previous_keys: previous.iter().map(|k| (*k).to_owned()).collect(),
        };

        let none = config("", &[]).at_rest(dir.path()).unwrap();
        assert!(none.key_ring().is_none());
        let from_file = config("file:key", &[&old]).at_rest(dir.path()).unwrap();
        let ring = from_file.key_ring().unwrap();
        assert_eq!(ring.primary_id(), Key::parse(&key).unwrap().id());
        let sealed = AtRest::keyed(KeyRing::new(Key::parse(&old).unwrap(), Vec::new()))
            .seal(ConnectionPassword, Some("pw".into()))
            .unwrap()
            .unwrap();
        assert!(
            ring.open(ConnectionPassword, &sealed).is_ok(),
            "previous keys decrypt"
        );

        let message = |c: EncryptionConfig| c.at_rest(dir.path()).unwrap_err().to_string();
        assert_eq!(
            message(config("env:VIZHOOK_SURELY_UNSET_KEY", &[])),
            "invalid configuration: encryption.key: the environment variable VIZHOOK_SURELY_UNSET_KEY is not set"
        );
        assert!(message(config("file:missing", &[])).contains("cannot read the secret file"));
        assert_eq!(
            message(config(&key, &["AAAA"])),
            "invalid configuration: encryption.previous_keys[0]: an encryption key must be 32 random bytes, and this one is 3 bytes"
        );
        assert!(message(config("", &[&old])).contains("need encryption.key"));

        let shown = format!("{:?}", config(&key, &["env:OLD_KEY"]));
        assert!(!shown.contains(&key), "{shown}");
        assert!(shown.contains("env:OLD_KEY"), "{shown}");
    }

    #[test]
    fn head_limits_hyper_cannot_honour_are_refused() {
        let mut config = Config::defaults();
        config.server.max_header_bytes = 8191;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("server.max_header_bytes must be at least 8192"),
            "{err}"
        );
        let mut config = Config::defaults();
        config.server.max_uri_bytes = 65535;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("server.max_uri_bytes must be from 1 to 65534"),
            "{err}"
        );
    }

    #[test]
    fn database_passwords_are_redacted() {
        let config = DatabaseConfig {
            url: "postgres://vizhook:hunter2@db/vizhook".to_owned(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        for malformed in [
            "postgres://vizhook:hunter2@db:notaport/vizhook",
            "postgres://vizhook:hunter2@db/vizhook?sslmode=bogus",
        ] {
            let shown = redact_url(malformed);
            assert!(
                !shown.contains("hunter2") && shown.contains("@db"),
                "{shown}"
            );
        }
        assert!(shown.contains("postgres://vizhook:***@db/vizhook"));
    }
}
