//! One receiver per SQLite inbox: `vizhook receive` holds an exclusive lock on a file beside
//! the database for as long as it runs, because the inbox's de-duplication keys live in that
//! process's memory and a second process on the same file would not see them.

use std::{
    fs::{File, OpenOptions},
    path::PathBuf,
};

use anyhow::{Context, bail};
use rustix::{fs::FlockOperation, io::Errno};

/// The lock, released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub(crate) struct InboxLock {
    _file: File,
}

/// Takes the lock of the SQLite inbox at `database` (a `sqlite:` URL); `None` for other
/// databases and for in-memory SQLite.
pub(crate) fn lock(database: &str) -> anyhow::Result<Option<InboxLock>> {
    if !database.starts_with("sqlite:") {
        return Ok(None);
    }
    let Some(path) = vizhook_store_sqlite::database_file(database) else {
        return Ok(None);
    };
    let mut name = path.clone().into_os_string();
    name.push("-receive.lock");
    let lock_path = PathBuf::from(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("could not open the inbox lock {}", lock_path.display()))?;
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(InboxLock { _file: file })),
        Err(Errno::WOULDBLOCK) => bail!(
            "another `vizhook receive` is using the inbox {}: one SQLite inbox belongs to one receiver process, because its de-duplication keys live in that process's memory",
            path.display()
        ),
        Err(err) => {
            Err(err).with_context(|| format!("could not lock the inbox {}", lock_path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_the_file_sqlite_opens() {
        let file = |url| vizhook_store_sqlite::database_file(url);
        assert_eq!(
            file("sqlite:///var/lib/vizhook/inbox.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/vizhook/inbox.db"))
        );
        assert_eq!(file("sqlite:inbox.db"), Some(PathBuf::from("inbox.db")));
        assert_eq!(
            file("sqlite:///srv/my%20inbox.db"),
            Some(PathBuf::from("/srv/my inbox.db"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://inbox.db?mode=memory"), None);
        assert!(lock("postgres://localhost/test").unwrap().is_none());
    }

    #[test]
    fn a_second_lock_on_one_inbox_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
        let first = lock(&url).unwrap();
        assert!(first.is_some());
        let err = lock(&url).unwrap_err().to_string();
        assert!(
            err.contains("another `vizhook receive` is using the inbox"),
            "{err}"
        );
        drop(first);
        assert!(lock(&url).unwrap().is_some());
    }
}
