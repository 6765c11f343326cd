//! Chunked uploads (Tableau's `fileUploads`): each upload session is a file in this node's
//! temporary folder that chunks are appended to as they stream in, owned by the user and site
//! that started it, until a publish takes it (`uploadSessionId`) or a day passes unused.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use tempfile::{TempDir, TempPath};
use tokio::io::AsyncWriteExt;
use vizhook_core::{SiteId, UserId};

/// An upload that nobody has added to or published for this long is deleted.
const UNUSED_FOR: Duration = Duration::from_secs(24 * 60 * 60);
/// Unfinished uploads one user may have at once.
pub const MAX_PER_USER: usize = 16;

/// Why an upload call failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No such session for this user on this site (never started, published, or expired).
    #[error("upload session '{0}' could not be found")]
    NotFound(String),
    /// The user already has [`MAX_PER_USER`] unfinished uploads.
    #[error(
        "you have {MAX_PER_USER} unfinished uploads; publish them, or wait a day for them to expire, before starting another"
    )]
    TooMany,
    /// The assembled file would pass `[server] max_upload_bytes`.
    #[error("the uploaded file would be larger than {0} bytes")]
    TooLarge(u64),
    /// The chunk stopped arriving, or its multipart body could not be parsed.
    #[error("the chunk could not be read")]
    Body(#[source] multer::Error),
    /// The temporary folder failed.
    #[error("the upload could not be written to disk")]
    Disk(#[source] std::io::Error),
}

#[derive(Debug)]
struct Session {
    site: SiteId,
    user: UserId,
    path: PathBuf,
    size: u64,
    touched: Instant,
    /// Taken by a publish: an append that waited for the lock meanwhile finds nothing.
    taken: bool,
}

/// The upload sessions of this process. Cheap to share; the folder is made on first use and
/// removed with everything in it when the process exits.
#[derive(Debug, Default)]
pub struct Uploads {
    dir: OnceLock<TempDir>,
    sessions: Mutex<HashMap<String, Entry>>,
}

/// A session with its owner, readable without waiting for an append.
#[derive(Debug)]
struct Entry {
    owner: (SiteId, UserId),
    session: Arc<tokio::sync::Mutex<Session>>,
}

/// A finished upload, taken out of its session by a publish; its file is deleted when this is
/// dropped.
#[derive(Debug)]
pub struct Uploaded {
    pub path: TempPath,
    pub size: u64,
}

impl Uploads {
    fn dir(&self) -> Result<&TempDir, UploadError> {
        if let Some(dir) = self.dir.get() {
            return Ok(dir);
        }
        let made = tempfile::Builder::new()
            .prefix("vizhook-uploads-")
            .tempdir()
            .map_err(UploadError::Disk)?;
        // Another request may have made one meanwhile: its folder wins, this one is removed.
        Ok(self.dir.get_or_init(|| made))
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts an upload session for `user` on `site`: an empty file. Sessions unused for a day
    /// are deleted first.
    pub async fn start(&self, site: SiteId, user: UserId) -> Result<String, UploadError> {
        self.forget_unused();
        let owned = self
            .sessions()
            .values()
            .filter(|entry| entry.owner == (site, user))
            .count();
        if owned >= MAX_PER_USER {
            return Err(UploadError::TooMany);
        }
        let id = uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .to_ascii_uppercase();
        let path = self.dir()?.path().join(&id);
        tokio::fs::File::create(&path)
            .await
            .map_err(UploadError::Disk)?;
        let session = Session {
            site,
            user,
            path,
            size: 0,
            touched: Instant::now(),
            taken: false,
        };
        let entry = Entry {
            owner: (site, user),
            session: Arc::new(tokio::sync::Mutex::new(session)),
        };
        self.sessions().insert(id.clone(), entry);
        Ok(id)
    }

    /// A session by id; callers check its owner once they hold its lock.
    fn find(&self, id: &str) -> Result<Arc<tokio::sync::Mutex<Session>>, UploadError> {
        self.sessions()
            .get(id)
            .map(|entry| entry.session.clone())
            .ok_or_else(|| UploadError::NotFound(id.to_owned()))
    }

    /// Appends one chunk, streamed to disk, and returns the file's size so far. Appends to one
    /// session run one at a time; a chunk that fails half-way is cut off again, so the client
    /// can send it once more.
    pub async fn append(
        &self,
        id: &str,
        site: SiteId,
        user: UserId,
        mut chunk: multer::Field<'_>,
        limit: u64,
    ) -> Result<u64, UploadError> {
        let session = self.find(id)?;
        let mut session = session.lock().await;
        if session.site != site || session.user != user || session.taken {
            return Err(UploadError::NotFound(id.to_owned()));
        }
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&session.path)
            .await
            .map_err(UploadError::Disk)?;
        // A chunk whose request was cut off mid-way (its handler dropped) may have left bytes
        // past the recorded size: they go first.
        let before = session.size;
        file.set_len(before).await.map_err(UploadError::Disk)?;
        let mut size = before;
        let written = async {
            while let Some(bytes) = chunk.chunk().await.map_err(UploadError::Body)? {
                size += bytes.len() as u64;
                if size > limit {
                    return Err(UploadError::TooLarge(limit));
                }
                file.write_all(&bytes).await.map_err(UploadError::Disk)?;
            }
            file.flush().await.map_err(UploadError::Disk)
        }
        .await;
        session.touched = Instant::now();
        if let Err(err) = written {
            file.set_len(before).await.map_err(UploadError::Disk)?;
            return Err(err);
        }
        session.size = size;
        Ok(size)
    }

    /// Takes a finished upload for a publish; the session ends.
    pub async fn take(
        &self,
        id: &str,
        site: SiteId,
        user: UserId,
    ) -> Result<Uploaded, UploadError> {
        let session = self.find(id)?;
        // Waits for an append still under way.
        let mut session = session.lock().await;
        if session.site != site || session.user != user || session.taken {
            return Err(UploadError::NotFound(id.to_owned()));
        }
        session.taken = true;
        if self.sessions().remove(id).is_none() {
            // Another publish took it meanwhile.
            return Err(UploadError::NotFound(id.to_owned()));
        }
        Ok(Uploaded {
            path: TempPath::try_from_path(session.path.clone()).map_err(UploadError::Disk)?,
            size: session.size,
        })
    }

    /// Deletes the sessions unused for a day, and their files.
    fn forget_unused(&self) {
        let mut sessions = self.sessions();
        sessions.retain(|_, entry| match entry.session.try_lock() {
            Ok(s) if s.touched.elapsed() > UNUSED_FOR => {
                let _ = std::fs::remove_file(&s.path);
                false
            }
            _ => true,
        });
    }
}
