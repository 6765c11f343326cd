//! [`OutboundConfig`]: the limits every outbound request has, as `[outbound]` configures them
//! for both roles.

use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// `[outbound]`: timeouts, the response cap, and the private networks operators allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundConfig {
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_response_bytes: usize,
    pub allow_networks: Vec<IpNet>,
}

impl Default for OutboundConfig {
    /// The values of `config/vizhook.default.toml` (a test checks they agree).
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_response_bytes: 65536,
            allow_networks: Vec::new(),
        }
    }
}
