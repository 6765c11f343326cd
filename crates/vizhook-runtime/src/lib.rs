//! What both roles of vizhook run on, whatever their work: the one outbound HTTP client with
//! its address guard (`outbound`), the mailer (`email`), the durable work engine and its hand-off room
//! (`engine`), the retention ticker (`retention`), the Prometheus recorder (`metrics`), secrets given in configuration
//! (`secret`: literals or `env:`/`file:` references, redacted), and the error-chain formatter.
//! It knows nothing of Tableau, of webhooks or of the store: `vizhook-delivery` and
//! `vizhook-receiver` give it their work. What they serve on is `vizhook-listener`, so that a
//! client of Tableau (`vizhook-tableau`) builds without a web server.

#![forbid(unsafe_code)]

pub mod email;
pub mod engine;
mod error_chain;
pub mod metrics;
pub mod outbound;
mod redact;
pub mod retention;
pub mod secret;

pub use error_chain::ErrorChain;
pub use redact::redact_url;
