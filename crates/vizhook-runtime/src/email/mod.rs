//! Outbound email: the `[smtp]` configuration and the pooled SMTP mailer vizhook uses to tell a
//! webhook's owner that the webhook was disabled after repeated failed deliveries.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// `[smtp]` configuration.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// SMTP server host name; empty means email is disabled.
    pub host: String,
    pub port: u16,
    /// "none" (plain, for local relays and tests), "starttls" (required STARTTLS), or "tls"
    /// (implicit TLS, usually port 465).
    pub tls: SmtpTls,
    /// Empty means no authentication.
    pub username: String,
    /// Never printed: `Debug` redacts it.
    pub password: String,
    /// The From address, e.g. "vizhook <vizhook@example.com>".
    pub from: String,
    /// Limit on one whole send: connecting, TLS and the SMTP exchange together.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 25,
            tls: SmtpTls::None,
            username: String::new(),
            password: String::new(),
            from: "vizhook <vizhook@localhost>".to_owned(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let password = if self.password.is_empty() {
            ""
        } else {
            "<redacted>"
        };
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &password)
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for local relays and tests.
    None,
    /// Plain connection upgraded with STARTTLS; fails if the server does not offer it.
    Starttls,
    /// Implicit TLS from the first byte (SMTPS, port 465).
    Tls,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("email is not configured (smtp.host is empty)")]
    NotConfigured,
    #[error("'{0}' is not a valid email address")]
    InvalidAddress(String),
    #[error("could not build the email: {0}")]
    Build(String),
    #[error("the SMTP server refused or failed: {0}")]
    Send(String),
}

/// Sends email through one pooled SMTP transport. Clones share the pool.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    port: u16,
    from: Mailbox,
    timeout: Duration,
    builder: AsyncSmtpTransportBuilder,
    /// Built on first use: lettre's pool spawns its cleanup task with `tokio::spawn`, which
    /// panics outside a runtime, so building in `new` would tie `new` to a runtime context.
    /// Emptied after a timed-out send, whose half-finished connection may go back to the pool.
    transport: Mutex<Option<AsyncSmtpTransport<Tokio1Executor>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let slot = self
            .transport
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        // lettre's pool also calls `tokio::spawn` when dropped, which panics without a runtime
        // (e.g. after `main`'s runtime is gone). Leaking it then is harmless: the process or
        // thread is ending and the kernel closes its sockets.
        if let Some(transport) = slot.take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            std::mem::forget(transport);
        }
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.inner.host)
            .field("port", &self.inner.port)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds the transport from config. Returns `Ok(None)` when `host` is empty (email
    /// disabled). Needs no Tokio runtime; the connection pool starts on the first `send`.
    pub fn new(config: &SmtpConfig) -> Result<Option<Self>, EmailError> {
        let host = config.host.trim();
        if host.is_empty() {
            return Ok(None);
        }
        let from = parse_mailbox(&config.from)?;
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|err| EmailError::Build(err.to_string()))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|err| EmailError::Build(err.to_string()))?,
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if !config.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.username.clone(),
                config.password.clone(),
            ));
        }
        Ok(Some(Self {
            inner: Arc::new(Inner {
                host: host.to_owned(),
                port: config.port,
                from,
                timeout: config.timeout,
                builder,
                transport: Mutex::new(None),
            }),
        }))
    }

    /// How long one [`send`](Self::send) may take at most.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Sends one plain-text UTF-8 email. The subject and body may carry user-influenced text
    /// (webhook names): lettre encodes header values, and control characters in the subject
    /// are replaced by spaces beforehand, so a line break can never start a new header.
    ///
    /// The whole send is bounded by `timeout`: lettre's own timeout covers only the TCP
    /// connect, so a server that accepts and then stalls would otherwise hang forever.
    pub async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let message = self.build_message(email)?;
        let transport = self.transport();
        match tokio::time::timeout(self.inner.timeout, transport.send(message)).await {
            Ok(Ok(_response)) => {
                tracing::debug!(host = %self.inner.host, port = self.inner.port, "email sent");
                Ok(())
            }
            Ok(Err(err)) => Err(EmailError::Send(error_chain(&err))),
            Err(_elapsed) => {
                // The cancelled connection may be mid-transaction yet not marked broken, so
                // lettre could hand it out again: start the next send on a fresh pool.
                *self.slot() = None;
                Err(EmailError::Send(format!(
                    "no answer from {}:{} within {:?}",
                    self.inner.host, self.inner.port, self.inner.timeout
                )))
            }
        }
    }

    /// The shared transport, built on first use (inside the runtime that runs `send`).
    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        self.slot()
            .get_or_insert_with(|| self.inner.builder.clone().build())
            .clone()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<AsyncSmtpTransport<Tokio1Executor>>> {
        self.inner
            .transport
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn build_message(&self, email: &Email) -> Result<Message, EmailError> {
        let mut message = Message::builder().from(self.inner.from.clone());
        // One address, or several separated by commas: one message to all of them.
        let to: lettre::message::Mailboxes = email
            .to
            .parse()
            .map_err(|_| EmailError::InvalidAddress(email.to.clone()))?;
        for address in to {
            message = message.to(address);
        }
        message
            .subject(single_line(&email.subject))
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|err| EmailError::Build(err.to_string()))
    }
}

fn parse_mailbox(address: &str) -> Result<Mailbox, EmailError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|_| EmailError::InvalidAddress(address.to_owned()))
}

/// The subject on one line: every control character (CR, LF, tab, ...) becomes a space.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An error and its sources joined with ": ", skipping a source whose text is already included
/// (lettre's `Display` repeats its direct source).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
