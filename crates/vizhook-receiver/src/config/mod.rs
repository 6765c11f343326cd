//! `vizhook receive`'s configuration: the TOML file's sections, their defaults, and loading,
//! which builds every part (sources, routing tree, actions, enrichment) up front and reports
//! every problem at once, each with its line and column.

mod checks;
mod document;
mod sections;
#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, HashSet},
    fmt,
    path::{Path, PathBuf},
};

use vizhook_runtime::{email::Mailer, outbound::Outbound};

use self::checks::{
    check_command_timeouts, check_delivery, check_durations, check_tls, database_url,
};
pub use self::sections::{
    ActionDelivery, DedupSection, ReceiveConfig, ServerSection, StorageSection,
};
use super::{
    actions::Actions, enrich::Enricher, routing::RouteTree, secret::resolve, source::Source,
};

/// A loaded configuration with every part built. Its `Debug` leaves out the raw configuration,
/// which may hold literal secrets.
pub struct Loaded {
    pub config: ReceiveConfig,
    /// The configuration file's folder: relative paths are relative to it.
    pub base: PathBuf,
    pub sources: Vec<Source>,
    pub tree: RouteTree,
    pub actions: Actions,
    pub enricher: Enricher,
    pub outbound: Outbound,
    pub mailer: Option<Mailer>,
    pub database: String,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("base", &self.base)
            .field("sources", &self.sources)
            .field("database", &vizhook_runtime::redact_url(&self.database))
            .finish_non_exhaustive()
    }
}

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line and column (1-based), when the problem has a place in the file.
    pub at: Option<(usize, usize)>,
    /// The key, like `route.routes[1].matchers[0]`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.at {
            write!(f, "{line}:{column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has {} problem(s):\n{}", file.display(), problems.len(), list(file, problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(file: &Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|problem| format!("  {}:{problem}", file.display()))
        .collect();
    lines.join("\n")
}

/// Reads and builds the configuration file at `path`; `dev` lifts the outbound address guard.
pub fn load(path: &Path, dev: bool) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    load_str(&text, &base, dev).map_err(|problems| LoadError::Invalid {
        file: path.to_owned(),
        problems,
    })
}

/// Builds a configuration from its text; relative paths are relative to `base`.
pub fn load_str(text: &str, base: &Path, dev: bool) -> Result<Loaded, Vec<Problem>> {
    let config: ReceiveConfig = toml::from_str(text).map_err(|err| {
        let at = err
            .span()
            .map(|span| document::line_column(text, span.start));
        vec![Problem {
            at,
            path: String::new(),
            message: err.message().trim().to_owned(),
        }]
    })?;
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut sources = Vec::new();
    let mut paths = HashSet::new();
    if config.source.is_empty() {
        problems.push(("source".into(), "at least one [[source]] is needed".into()));
    }
    for (index, source) in config.source.iter().enumerate() {
        if !paths.insert(format!("/{}", source.path.trim_matches('/'))) {
            problems.push((
                format!("source[{index}].path"),
                "another source has this path".into(),
            ));
        }
        match Source::build(source, base) {
            Ok(built) => sources.push(built),
            Err(found) => problems.extend(
                found
                    .into_iter()
                    .map(|(field, message)| (format!("source[{index}].{field}"), message)),
            ),
        }
    }
    let mut names = HashSet::new();
    for (index, receiver) in config.receiver.iter().enumerate() {
        if !names.insert(receiver.name.as_str()) {
            problems.push((
                format!("receiver[{index}].name"),
                "another receiver has this name".into(),
            ));
        }
    }
    let mut secrets = BTreeMap::new();
    for (name, raw) in &config.secrets {
        match resolve(raw, base) {
            Ok(secret) => {
                secrets.insert(name.clone(), secret);
            }
            Err(err) => problems.push((format!("secrets.{name}"), err.to_string())),
        }
    }
    let tree = RouteTree::build(&config.route, &|name| names.contains(name))
        .map_err(|found| {
            problems.extend(found.into_iter().map(|p| (p.path, p.message)));
        })
        .ok();
    let actions = Actions::build(&config.receiver, &secrets, base)
        .map_err(|found| problems.extend(found.into_iter().map(|p| (p.path, p.message))))
        .ok();
    problems.extend(check_delivery(&config.delivery));
    problems.extend(check_durations(&config));
    for (path, duration) in [
        ("server.read_timeout", config.server.read_timeout),
        ("delivery.max_retry_after", config.delivery.max_retry_after),
    ] {
        if duration.is_zero() {
            problems.push((path.into(), "must be longer than zero".into()));
        }
    }
    problems.extend(
        config
            .server
            .limits()
            .check()
            .into_iter()
            .map(|problem| (format!("server.{}", problem.key()), problem.to_string())),
    );
    problems.extend(check_command_timeouts(&config));
    problems.extend(check_tls(&config.server, base));
    let outbound = Outbound::new(&config.outbound, dev)
        .map_err(|err| problems.push(("outbound".into(), err.to_string())))
        .ok();
    let mut smtp = config.smtp.clone();
    if !smtp.password.is_empty() {
        match resolve(&smtp.password, base) {
            Ok(password) => smtp.password = password.expose().to_owned(),
            Err(err) => problems.push(("smtp.password".into(), err.to_string())),
        }
    }
    let mailer = Mailer::new(&smtp)
        .map_err(|err| problems.push(("smtp".into(), err.to_string())))
        .ok()
        .flatten();
    if mailer.is_none() && actions.as_ref().is_some_and(Actions::needs_smtp) {
        problems.push((
            "smtp.host".into(),
            "an email action needs [smtp] with a host".into(),
        ));
    }
    let enricher = outbound.clone().and_then(|outbound| {
        Enricher::build(&config.enrich, base, outbound)
            .map_err(|found| problems.extend(found.into_iter().map(|p| (p.path, p.message))))
            .ok()
    });
    let database = database_url(&config.storage.database, base)
        .map_err(|message| problems.push(("storage.database".into(), message)))
        .ok();
    match (tree, actions, outbound, enricher, database) {
        (Some(tree), Some(actions), Some(outbound), Some(enricher), Some(database))
            if problems.is_empty() =>
        {
            Ok(Loaded {
                config,
                base: base.to_owned(),
                sources,
                tree,
                actions,
                enricher,
                outbound,
                mailer,
                database,
            })
        }
        _ => Err(document::locate_all(text, problems)),
    }
}
