//! One delivery attempt: build the request (payload, `webhook-id`, optional Standard Webhooks
//! signature), send it through the guarded client, and turn the outcome into an attempt record
//! with the delivery's next state.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};
use time::OffsetDateTime;
use url::Url;
use vizhook_core::{DeliveryPolicy, Next};
use vizhook_store::{AttemptNext, AttemptRecord, ClaimedDelivery};

use vizhook_runtime::outbound::{Outbound, OutboundResponse, json_headers};

use vizhook_tableau::signing::Signer;

/// What every attempt needs besides its delivery.
#[derive(Debug, Clone)]
pub(crate) struct AttemptContext {
    pub(crate) outbound: Outbound,
    pub(crate) policy: DeliveryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) excerpt_bytes: usize,
    /// The server-wide signer, for webhooks without their own secret.
    pub(crate) signer: Option<Signer>,
    pub(crate) destinations: Arc<Destinations>,
}

/// Destination URLs already parsed, by their text: a webhook's URL is parsed once, not at
/// every attempt (parsing was about 5 % of the server's CPU at full delivery rate).
#[derive(Debug, Default)]
pub(crate) struct Destinations(Mutex<HashMap<String, Url>>);

impl Destinations {
    /// URLs kept at most; past that the cache starts again empty.
    const CAPACITY: usize = 4096;

    fn parse(&self, text: &str) -> Result<Url, url::ParseError> {
        if let Some(url) = self
            .0
            .lock()
            .ok()
            .and_then(|known| known.get(text).cloned())
        {
            return Ok(url);
        }
        let url = Url::parse(text)?;
        if let Ok(mut known) = self.0.lock() {
            if known.len() >= Self::CAPACITY {
                known.clear();
            }
            known.insert(text.to_owned(), url.clone());
        }
        Ok(url)
    }
}

/// One attempt's outcome: what is recorded, and until when its destination asked not to be
/// sent more (`429`, or `503` with `Retry-After`), which the engine honours for the webhook.
#[derive(Debug)]
pub(crate) struct Attempted {
    pub(crate) record: AttemptRecord,
    pub(crate) pause_until: Option<OffsetDateTime>,
}

/// Sends one attempt and describes its outcome. Never fails: a failure is an outcome.
pub(crate) async fn attempt(ctx: &AttemptContext, mut delivery: ClaimedDelivery) -> Attempted {
    let started_at = OffsetDateTime::now_utc();
    let outcome = match ctx.destinations.parse(&delivery.url) {
        Ok(url) => {
            let headers = headers(ctx, &delivery, started_at);
            let body = Bytes::from(std::mem::take(&mut delivery.payload));
            ctx.outbound
                .post_with_timeout(&url, headers, body, ctx.timeout)
                .await
                .map_err(|err| err.to_string())
        }
        Err(err) => Err(format!("the stored destination url does not parse: {err}")),
    };
    let latency = OffsetDateTime::now_utc() - started_at;
    let (status, error, excerpt, retry_after) = match &outcome {
        Ok(OutboundResponse {
            status,
            body,
            retry_after,
            ..
        }) => (
            Some(*status),
            None,
            Some(excerpt(body.as_ref(), ctx.excerpt_bytes)),
            *retry_after,
        ),
        Err(error) => (None, Some(error.clone()), None, None),
    };
    let now = OffsetDateTime::now_utc();
    let next = match ctx
        .policy
        .after_attempt(delivery.round_attempt, status, retry_after)
    {
        Next::Delivered => AttemptNext::Delivered,
        Next::RetryAfter(delay) => AttemptNext::RetryAt(now + delay),
        Next::Exhausted => AttemptNext::Failed,
    };
    // The whole webhook is left alone as long as its destination asked (a 429 without
    // Retry-After: not at all, but its concurrency is still halved).
    let pause_until = ctx
        .policy
        .rate_limit
        .pause(status, retry_after)
        .map(|pause| now + pause);
    let record = AttemptRecord {
        delivery_id: delivery.id,
        webhook_id: delivery.webhook_id,
        number: delivery.attempt,
        started_at,
        latency_ms: u32::try_from(latency.whole_milliseconds()).unwrap_or(u32::MAX),
        status,
        error,
        response_excerpt: excerpt,
        next,
    };
    Attempted {
        record,
        pause_until,
    }
}

/// `Content-Type`, the stable `webhook-id` (same on every attempt, for receivers' duplicate
/// filtering) and, when a secret applies, the Standard Webhooks timestamp and signature.
fn headers(ctx: &AttemptContext, delivery: &ClaimedDelivery, now: OffsetDateTime) -> HeaderMap {
    let mut headers = json_headers();
    let id = delivery.id.to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("webhook-id", value);
    }
    let own = delivery
        .signing_secret
        .as_deref()
        .and_then(|secret| Signer::new(secret).ok());
    if let Some(signer) = own.as_ref().or(ctx.signer.as_ref()) {
        let timestamp = now.unix_timestamp();
        let signature = signer.sign(&id, timestamp, &delivery.payload);
        headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert("webhook-signature", value);
        }
    }
    headers
}

/// The first `limit` bytes of a response, cut at a character boundary.
fn excerpt(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= limit {
        return text.into_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn destinations_are_parsed_once_and_errors_are_not_kept() {
        let destinations = super::Destinations::default();
        let url = destinations.parse("https://example.com/hook?a=1").unwrap();
        assert_eq!(url.as_str(), "https://example.com/hook?a=1");
        assert_eq!(
            destinations.parse("https://example.com/hook?a=1").unwrap(),
            url
        );
        assert!(destinations.parse("not a url").is_err());
        let known = destinations.0.lock().unwrap();
        assert_eq!(known.len(), 1, "only the valid URL is kept");
    }

    #[test]
    fn excerpts_cut_at_character_boundaries() {
        assert_eq!(super::excerpt("héllo".as_bytes(), 2), "h");
        assert_eq!(super::excerpt(b"hello", 10), "hello");
        assert_eq!(super::excerpt(b"hello", 3), "hel");
    }
}
