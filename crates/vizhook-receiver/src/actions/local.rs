//! The local actions: a command run without a shell (event in `VIZHOOK_*` variables and the
//! context as JSON on stdin, a timeout that kills it and every process it started, a cap on
//! concurrent runs), and a file that gets one JSON line per notification.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use serde_json::Value;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    sync::Semaphore,
};

use super::{ActionError, CommandConfig, Context, text::one_line};

/// How much of a failed command's stderr is kept for its error.
const STDERR_KEEP: usize = 4096;

pub(super) struct CommandAction {
    program: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    max_concurrent: usize,
    permits: Arc<Semaphore>,
}

impl CommandAction {
    /// How many runs of this command may be in flight at once.
    pub(super) fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// Checks a `command` configuration; each problem names its key. A program path with a
    /// `/` is relative to `base` and must exist; a bare name is looked up in `PATH` when run.
    pub(super) fn new(
        config: &CommandConfig,
        base: &Path,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let program = match config.argv.first().map(String::as_str) {
            None => {
                problems.push(("argv", "must name a program".to_owned()));
                None
            }
            Some("") => {
                problems.push(("argv", "the program must not be empty".to_owned()));
                None
            }
            Some(program) if program.contains('/') => {
                let path = base.join(program);
                if !path.is_file() {
                    problems.push(("argv", format!("{} is not a file", path.display())));
                }
                Some(path)
            }
            Some(program) => Some(PathBuf::from(program)),
        };
        if config.timeout.is_zero() {
            problems.push(("timeout", "must be more than zero".to_owned()));
        }
        if config.max_concurrent == 0 {
            problems.push(("max_concurrent", "must be at least 1".to_owned()));
        }
        match program {
            Some(program) if problems.is_empty() => Ok(Self {
                program,
                args: config.argv[1..].to_vec(),
                timeout: config.timeout,
                max_concurrent: config.max_concurrent,
                permits: Arc::new(Semaphore::new(config.max_concurrent)),
            }),
            _ => Err(problems),
        }
    }

    fn error(&self, reason: String) -> ActionError {
        ActionError::Command {
            program: self.program.display().to_string(),
            reason,
        }
    }

    /// Runs the command once, waiting for a free slot first.
    pub(super) async fn run(&self, ctx: &Context) -> Result<(), ActionError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| self.error("the action is shutting down".to_owned()))?;
        // Only a few harmless variables are inherited: the process's own environment may hold
        // the secrets that `env:` references were read from.
        let inherited = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"]
            .into_iter()
            .filter_map(|name| std::env::var_os(name).map(|value| (name, value)));
        let mut child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(inherited)
            .envs(variables(ctx))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so that a timeout also stops what it started (a script's
            // `curl`, a background job) and not only the process itself.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|err| self.error(format!("cannot start: {err}")))?;
        let group = Group(child.id());
        let mut input = serde_json::to_vec(ctx).unwrap_or_default();
        input.push(b'\n');
        let stdin = child.stdin.take();
        let stderr = child
            .stderr
            .take()
            .map(|stderr| tokio::spawn(read_capped(stderr)));
        let write = async move {
            if let Some(mut stdin) = stdin {
                // A command that ignores its input may exit first: a broken pipe is fine.
                let _ = stdin.write_all(&input).await;
            }
        };
        let wait = async { tokio::join!(write, child.wait()).1 };
        let outcome = tokio::time::timeout(self.timeout, wait).await;
        let status = match outcome {
            Ok(Ok(status)) => status,
            Ok(Err(err)) => return Err(self.error(format!("cannot wait for it: {err}"))),
            Err(_) => {
                drop(group);
                let _ = child.kill().await;
                if let Some(task) = stderr {
                    task.abort();
                }
                return Err(self.error(format!("killed after the {:?} timeout", self.timeout)));
            }
        };
        // It exited by itself: what it left running in the background is its own business.
        group.disarm();
        if status.success() {
            return Ok(());
        }
        // A child of the command may keep stderr open: wait only briefly for the rest.
        let stderr = match stderr {
            Some(task) => match tokio::time::timeout(Duration::from_millis(500), task).await {
                Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                _ => String::new(),
            },
            None => String::new(),
        };
        let mut reason = status.to_string();
        let stderr = one_line(&stderr, 200);
        if !stderr.is_empty() {
            reason.push_str(&format!(", stderr: {stderr}"));
        }
        Err(self.error(reason))
    }
}

/// A command's process group, killed when dropped (a timeout, or the task running the command
/// was dropped) unless disarmed.
struct Group(Option<u32>);

impl Group {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pid = self
            .0
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            // The group may be gone already; there is nothing to do about a failure.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// Reads a stream to its end, keeping its first [`STDERR_KEEP`] bytes.
async fn read_capped(mut stream: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = STDERR_KEEP.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

/// The `VIZHOOK_*` environment of a command (NUL bytes, which no variable can hold, dropped).
fn variables(ctx: &Context) -> Vec<(&'static str, String)> {
    let field = |name: &str| {
        ctx.event
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    [
        ("VIZHOOK_EVENT_TYPE", field("event_type")),
        ("VIZHOOK_RESOURCE", field("resource")),
        ("VIZHOOK_RESOURCE_NAME", field("resource_name")),
        ("VIZHOOK_RESOURCE_LUID", field("resource_luid")),
        ("VIZHOOK_SITE_LUID", field("site_luid")),
        ("VIZHOOK_SITE_NAME", optional(&ctx.site_name)),
        ("VIZHOOK_PROJECT_NAME", optional(&ctx.project_name)),
        ("VIZHOOK_OWNER_NAME", optional(&ctx.owner_name)),
        ("VIZHOOK_CREATED_AT", field("created_at")),
        ("VIZHOOK_NOTICE", ctx.notice.as_str().to_owned()),
        ("VIZHOOK_RECEIVER", ctx.receiver.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.replace('\0', "")))
    .collect()
}

pub(super) struct FileAction {
    path: PathBuf,
}

impl FileAction {
    /// `path` is relative to `base`; its folder must exist.
    pub(super) fn new(path: &Path, base: &Path) -> Result<Self, String> {
        let path = base.join(path);
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() && !parent.is_dir() => {
                Err(format!("the folder {} does not exist", parent.display()))
            }
            _ if path.is_dir() => Err(format!("{} is a folder", path.display())),
            _ => Ok(Self { path }),
        }
    }

    /// Appends the context as one JSON line, in one `write` to a file opened with `O_APPEND`,
    /// so concurrent appends never interleave.
    pub(super) async fn append(&self, ctx: &Context) -> Result<(), ActionError> {
        let mut line = serde_json::to_vec(ctx).unwrap_or_default();
        line.push(b'\n');
        let path = self.path.clone();
        let result = tokio::task::spawn_blocking(move || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?
                .write_all(&line)
        })
        .await;
        let reason = match result {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(err)) => err.to_string(),
            Err(err) => err.to_string(),
        };
        Err(ActionError::File {
            path: self.path.display().to_string(),
            reason,
        })
    }
}
