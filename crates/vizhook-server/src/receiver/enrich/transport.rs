//! HTTP for enrichment: POSTs through the shared [`Outbound`] client; GETs through a small
//! client of their own, since `Outbound` has no GET yet (the destination is still checked
//! with the address guard first). When `Outbound::get` exists, `get` becomes one call to it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::HeaderMap;
use url::Url;

use crate::{
    api::error::ErrorChain,
    delivery::http_client::{Outbound, OutboundResponse, SendError, USER_AGENT},
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TIMEOUT: Duration = Duration::from_secs(10);
/// Room for a page of 1000 sites.
const MAX_RESPONSE_BYTES: usize = 4 << 20;

#[derive(Debug, Clone)]
pub(super) struct Transport {
    outbound: Outbound,
    getter: reqwest::Client,
}

impl Transport {
    pub(super) fn new(outbound: Outbound) -> Result<Self, String> {
        let getter = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .map_err(|err| format!("could not build the HTTP client: {}", ErrorChain(&err)))?;
        Ok(Self { outbound, getter })
    }

    pub(super) async fn post(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<OutboundResponse, SendError> {
        self.outbound.post(url, headers, body).await
    }

    pub(super) async fn get(
        &self,
        url: &Url,
        headers: HeaderMap,
    ) -> Result<OutboundResponse, SendError> {
        self.outbound.check_destination(url).await?;
        let started = Instant::now();
        let mut response = self
            .getter
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(|err| {
                if err.is_timeout() {
                    SendError::Timeout(TIMEOUT)
                } else if err.is_connect() {
                    SendError::Connect(ErrorChain(&err).to_string())
                } else {
                    SendError::Other(ErrorChain(&err).to_string())
                }
            })?;
        let status = response.status().as_u16();
        let mut collected = Vec::new();
        while collected.len() < MAX_RESPONSE_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_RESPONSE_BYTES - collected.len();
                    collected.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        Ok(OutboundResponse {
            status,
            body: Bytes::from(collected),
            latency: started.elapsed(),
        })
    }
}
