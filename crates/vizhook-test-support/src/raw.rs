//! Raw HTTP/1.1 over a TCP socket, for what a client library refuses to send or hides: heads
//! hyper cannot parse, oversized heads, a second request on a kept-alive connection, bodies
//! that trickle, and the exact bytes that come back.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// One HTTP/1.1 answer, read from its raw bytes.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawAnswer {
    /// The answer `raw` holds, which must be exactly one message: its body is as long as its
    /// `content-length` says.
    pub fn parse(raw: &str) -> Self {
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no whole head: {raw:?}"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status: {raw:?}"));
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header line");
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let answer = Self {
            status,
            headers,
            body: body.to_owned(),
        };
        let length = answer.header("content-length").unwrap_or_default();
        assert_eq!(length, answer.body.len().to_string(), "{raw:?}");
        answer
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The sentence of receive's `{"error": …}`, which must say that the connection closes.
    pub fn json_error(&self) -> String {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        assert_eq!(self.header("connection"), Some("close"), "{self:?}");
        let value: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {self:?}"));
        value["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error sentence: {self:?}"))
            .to_owned()
    }
}

/// Sends `sent` on `stream` and reads one whole answer (by its `content-length`), leaving the
/// connection open.
pub async fn exchange(stream: &mut TcpStream, sent: &[u8]) -> String {
    stream.write_all(sent).await.expect("write");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .expect("a content-length");
            if body.len() >= length {
                return text;
            }
        }
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("an answer within 10 s")
            .expect("read");
        assert!(n > 0, "closed before a whole answer: {text:?}");
        answer.extend_from_slice(&chunk[..n]);
    }
}

/// Connects to `addr`, writes `sent`, then reads until the server closes the connection and
/// returns what it answered. Panics if the connection is still open after `limit`.
pub async fn until_closed(addr: SocketAddr, sent: &[u8], limit: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(sent).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {limit:?} after {:?}",
        String::from_utf8_lossy(sent)
    );
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether a raw HTTP/1.1 answer says the connection closes after it.
pub fn says_connection_close(answer: &str) -> bool {
    answer
        .to_ascii_lowercase()
        .contains("\r\nconnection: close\r\n")
}

/// Sends `head`, then one more byte of `tail` every `every`, while reading the answer; returns
/// the answer once the server closes the connection. Fails if it is still open after `limit`.
pub async fn trickled(
    addr: SocketAddr,
    head: &[u8],
    tail: &[u8],
    every: Duration,
    limit: Duration,
) -> String {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head).await.expect("write");
    let tail = tail.to_vec();
    let trickle = tokio::spawn(async move {
        for byte in tail {
            tokio::time::sleep(every).await;
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
        }
        // Keep the connection open: only the server may close it.
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, reader.read_to_end(&mut answer)).await;
    trickle.abort();
    assert!(
        read.is_ok(),
        "the server kept a trickling connection open for {limit:?}"
    );
    String::from_utf8_lossy(&answer).into_owned()
}
