//! Runs the `vizhook` binary the way a user does (the HTTP destination is vizhook-test-support's `Recorder`).

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part"
)]

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

pub const PAT_NAME: &str = "ci-token";
pub const PAT_SECRET: &str = "ci-secret-0123456789";

/// A running `vizhook serve` (or `vizhook receive`).
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

/// `vizhook serve` on a random port over `database`, with `env` and extra `args`. Inherited
/// `VIZHOOK_*` variables are removed so the host cannot change the outcome.
pub fn serve_command(database: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
    command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(args);
    if !args.contains(&"--database") {
        command
            .arg("--database")
            .arg(format!("sqlite://{}", database.display()));
    }
    for (name, _) in std::env::vars() {
        if name.starts_with("VIZHOOK_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
}

impl Server {
    /// Starts the server with the CI token as first administrator.
    pub fn start(database: &Path, args: &[&str]) -> Self {
        Self::start_with(
            database,
            &[
                ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
                ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
            ],
            args,
        )
    }

    /// Starts the server and waits for its `listening on` line.
    pub fn start_with(database: &Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        Self::spawn(serve_command(database, env, args))
    }

    /// Starts any long-running vizhook command and waits for its `listening on` line.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vizhook");
        let stdout = collect(child.stdout.take().unwrap(), None);
        let (ready, listening) = mpsc::channel();
        let stderr = collect(child.stderr.take().unwrap(), Some(ready));
        let addr = match listening.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "vizhook did not start; stderr:\n{}",
                    stderr.lock().unwrap().join("\n")
                );
            }
        };
        Self {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn stop(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        wait(&mut self.child, Duration::from_secs(30)).expect("vizhook did not stop after SIGTERM")
    }

    /// Kills the process with SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Collects lines from a pipe; reports the address of the `listening on` line.
fn collect(
    pipe: impl Read + Send + 'static,
    ready: Option<mpsc::Sender<SocketAddr>>,
) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            // Kept before it is announced, so a caller woken by `ready` finds it in the logs.
            sink.lock().unwrap().push(line.clone());
            if let (Some(ready), Some(at)) = (&ready, line.find("listening on http")) {
                let rest = &line[at + "listening on http".len()..];
                let addr = rest
                    .trim_start_matches("s")
                    .trim_start_matches("://")
                    .trim();
                if let Ok(addr) = addr.parse() {
                    let _ = ready.send(addr);
                }
            }
        }
    });
    lines
}

/// Runs the binary to completion with `args` and returns (status, stdout, stderr).
pub fn run_to_end(mut command: Command) -> (ExitStatus, String, String) {
    let output = command.output().expect("run vizhook");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A sign-in request with a personal access token, to the Default site.
pub fn sign_in_body(name: &str, secret: &str) -> String {
    format!(
        r#"<tsRequest><credentials personalAccessTokenName="{name}" personalAccessTokenSecret="{secret}"><site contentUrl="" /></credentials></tsRequest>"#
    )
}

/// Signs in and returns (token, site id, whole answer).
pub async fn sign_in(server: &Server, name: &str, secret: &str) -> (String, String, String) {
    let client = reqwest::Client::new();
    let answer = client
        .post(server.url("/api/3.24/auth/signin"))
        .header("Accept", "application/json")
        .body(sign_in_body(name, secret))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let json: serde_json::Value = answer.json().await.unwrap();
    let credentials = &json["credentials"];
    (
        credentials["token"].as_str().unwrap().to_owned(),
        credentials["site"]["id"].as_str().unwrap().to_owned(),
        json.to_string(),
    )
}

/// Installs `package` (`name@version`) from the npm registry into `target/tmp/<folder>`, once,
/// under an inter-process lock, and returns that folder's `node_modules`.
pub fn npm_install(package: &str, folder: &str) -> std::path::PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(target).unwrap();
    let lock = std::fs::File::create(target.join(format!("{folder}.lock"))).unwrap();
    lock.lock().unwrap();
    let prefix = target.join(folder);
    let marker = prefix.join("installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(package) {
        std::fs::create_dir_all(&prefix).unwrap();
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(package)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            .status()
            .expect("npm is required for this test and was not found");
        assert!(status.success(), "npm install {package} failed");
        std::fs::write(&marker, package).unwrap();
    }
    prefix.join("node_modules")
}
