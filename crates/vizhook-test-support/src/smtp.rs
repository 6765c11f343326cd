//! `SmtpSink`: an in-process SMTP server (mailin) on a loopback port that keeps every message
//! with its envelope recipients.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

/// One message as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The envelope's recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent: headers and body.
    pub data: String,
}

/// An SMTP server that accepts every message. Its thread serves until the test process ends
/// (mailin has no shutdown).
#[derive(Debug)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<Mail>>>,
}

/// mailin clones the handler for every connection, so `to` and `current` are per connection
/// while `messages` is shared with the test.
#[derive(Clone, Default)]
struct Capture {
    messages: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    current: Vec<u8>,
    /// How long to wait before accepting each message (a slow mail server).
    delay: Duration,
}

impl Handler for Capture {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.current.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        let mail = Mail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.current)).into_owned(),
        };
        self.messages.lock().unwrap().push(mail);
        response::OK
    }
}

impl SmtpSink {
    /// A plain SMTP server (no TLS) on an ephemeral loopback port.
    pub fn start() -> Self {
        Self::slow(Duration::ZERO)
    }

    /// Like [`start`](Self::start), but each message is accepted only `delay` after its data
    /// ended: a slow mail server, which keeps a send in flight that long.
    pub fn slow(delay: Duration) -> Self {
        let capture = Capture {
            delay,
            ..Capture::default()
        };
        let messages = capture.messages.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Server::new(capture);
        server
            .with_name("test.local")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        // mailin's error type is not `Send`, so it cannot be the thread's return value.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { addr, messages }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Mail> {
        self.messages.lock().unwrap().clone()
    }
}
