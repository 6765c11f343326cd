//! Secrets given in configuration, by both `vizhook serve` (`[encryption]` keys) and `vizhook
//! receive` (tokens, passwords, template secrets): a literal value, or a reference `env:NAME`
//! (an environment variable) or `file:PATH` (a file's contents, trailing newline dropped,
//! relative paths against the configuration file's folder). Resolved once at load time; the
//! resolved value never appears in `Debug` output or logs.

use std::{
    fmt,
    path::{Path, PathBuf},
};

/// A resolved secret. Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A literal secret (for tests and programmatic use).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a secret reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read the secret file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("the secret is empty")]
    Empty,
}

/// Resolves a configured value: `env:NAME`, `file:PATH` (relative to `base`), or a literal.
pub fn resolve(raw: &str, base: &Path) -> Result<Secret, SecretError> {
    let value = if let Some(name) = raw.strip_prefix("env:") {
        std::env::var(name).map_err(|_| SecretError::MissingEnv(name.to_owned()))?
    } else if let Some(path) = raw.strip_prefix("file:") {
        let path = base.join(path);
        let text = std::fs::read_to_string(&path).map_err(|err| SecretError::File {
            path: path.clone(),
            reason: err.to_string(),
        })?;
        text.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        raw.to_owned()
    };
    if value.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(Secret(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_files_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        assert_eq!(resolve("plain", dir.path()).unwrap().expose(), "plain");
        assert_eq!(
            resolve("file:token", dir.path()).unwrap().expose(),
            "s3cret"
        );
        assert!(matches!(
            resolve("file:missing", dir.path()),
            Err(SecretError::File { .. })
        ));
        // PATH is set in every test environment.
        assert!(resolve("env:PATH", dir.path()).is_ok());
        assert_eq!(
            resolve("env:VIZHOOK_SURELY_UNSET_VARIABLE", dir.path()),
            Err(SecretError::MissingEnv(
                "VIZHOOK_SURELY_UNSET_VARIABLE".into()
            ))
        );
        assert_eq!(resolve("", dir.path()), Err(SecretError::Empty));
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(<redacted>)");
    }
}
