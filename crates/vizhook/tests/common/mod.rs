//! Runs the `vizhook` binary the way a user does, and a minimal HTTP destination.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part"
)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener},
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
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

/// A destination that answers every request with 200, counts them and keeps their paths and
/// bodies, and their headers in `heads` (in the same order).
pub struct Destination {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<Request>>>,
    pub heads: Arc<Mutex<Vec<Headers>>>,
}

/// A received request's path and body.
pub type Request = (String, Vec<u8>);

/// A received request's headers, names in lower case.
pub type Headers = Vec<(String, String)>;

impl Destination {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (counter, kept, kept_heads) = (hits.clone(), requests.clone(), heads.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if let Some((request, head)) = read_request(&mut stream) {
                    // Headers first: whoever sees the request may look for them.
                    kept_heads.lock().unwrap().push(head);
                    kept.lock().unwrap().push(request);
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    );
                }
            }
        });
        Self {
            addr,
            hits,
            requests,
            heads,
        }
    }

    /// The bodies received on `path`, as JSON.
    pub fn json_on(&self, path: &str) -> Vec<serde_json::Value> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, body)| serde_json::from_slice(body).unwrap())
            .collect()
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }
}

/// Reads one HTTP/1.1 request (headers and a `Content-Length` body): its path and body, and
/// its headers (names in lower case).
fn read_request(stream: &mut std::net::TcpStream) -> Option<(Request, Headers)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let headers: Headers = head
                .lines()
                .skip(1)
                .filter_map(|line| line.split_once(':'))
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .collect();
            let length = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .and_then(|(_, value)| value.parse::<usize>().ok())
                .unwrap_or(0);
            while data.len() < end + 4 + length {
                let n = stream.read(&mut buf).ok()?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_ascii_lowercase();
            return Some(((path, data[end + 4..].to_vec()), headers));
        }
    }
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
