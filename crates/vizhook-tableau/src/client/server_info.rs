//! Which REST API version a server speaks, asked of `serverInfo` before signing in.

use bytes::Bytes;
use http::{
    Method,
    header::{ACCEPT, HeaderMap, HeaderValue},
};
use vizhook_runtime::outbound::Outbound;

use super::session::{ClientError, describe, parse_url, read};
use crate::ApiVersion;

/// What `GET /api/2.4/serverInfo` says about a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub product_version: String,
    pub rest_api_version: ApiVersion,
}

/// Asks `server` (such as `https://tableau.example.com`) which REST API version it speaks,
/// without signing in, at the oldest version every Tableau Server answers, as
/// tableauserverclient does.
pub async fn server_info(outbound: &Outbound, server: &str) -> Result<ServerInfo, ClientError> {
    let server = server.trim_end_matches('/');
    let path = "serverInfo";
    let url = parse_url(&format!("{server}/api/2.4/{path}"), path)?;
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let response = outbound
        .send(
            Method::GET,
            &url,
            headers,
            Bytes::new(),
            outbound.default_timeout(),
        )
        .await?;
    let value = read(&url, &response)?;
    let info = &value["serverInfo"];
    let version = info["restApiVersion"]
        .as_str()
        .or_else(|| info["restApiVersion"]["value"].as_str())
        .unwrap_or_default();
    let rest_api_version = ApiVersion::parse(version).ok_or_else(|| ClientError::Shape {
        what: describe(&url),
        detail: format!("restApiVersion '{version}' is not a REST API version"),
    })?;
    let product = &info["productVersion"];
    Ok(ServerInfo {
        product_version: product
            .as_str()
            .or_else(|| product["value"].as_str())
            .unwrap_or_default()
            .to_owned(),
        rest_api_version,
    })
}
