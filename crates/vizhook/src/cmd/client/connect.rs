//! Signing in for a client command: the connection options checked, the API version taken
//! from the server's `serverInfo` unless given, a session opened; and every error of the
//! client as one sentence that keeps Tableau's error code.

use std::time::Duration;

use anyhow::{anyhow, bail};
use vizhook_runtime::outbound::{Outbound, OutboundConfig};
use vizhook_tableau::{
    ApiVersion,
    client::{Client, ClientError, Credentials, Hidden, server_info},
};

use crate::cli::Connection;

/// A signed-in client and the LUID of its site.
pub(super) struct Connected {
    pub(super) client: Client,
    pub(super) site_id: String,
    server: String,
}

impl Connected {
    /// `err` as a sentence about this server.
    pub(super) fn explain(&self, err: ClientError) -> anyhow::Error {
        explain(&self.server, err)
    }

    /// Signs out; a failure to is not the command's failure.
    pub(super) async fn close(self) {
        if let Err(err) = self.client.sign_out().await {
            tracing::debug!(error = %err, "sign-out failed");
        }
    }
}

/// Checks the options, negotiates the version and signs in.
pub(super) async fn connect(connection: &Connection) -> anyhow::Result<Connected> {
    let Some(server) = connection
        .server
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        bail!("say which server to talk to: --server URL or TABLEAU_SERVER");
    };
    let server = server.trim_end_matches('/').to_owned();
    match url::Url::parse(&server) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => bail!("--server must be an http:// or https:// address, not '{server}'"),
    }
    let credentials = credentials(connection)?;
    // The person running the command chose the server: private and loopback addresses are
    // theirs to reach, unlike a webhook destination. Lists of deliveries can be large.
    let config = OutboundConfig {
        timeout: Duration::from_secs(60),
        max_response_bytes: 64 << 20,
        ..OutboundConfig::default()
    };
    let outbound = Outbound::new(&config, true)
        .map_err(|err| anyhow!("could not set up the HTTP client: {err}"))?;
    let version = match connection.api_version.as_deref() {
        Some(raw) => ApiVersion::parse(raw)
            .ok_or_else(|| anyhow!("--api-version must look like 3.24, not '{raw}'"))?,
        None => {
            server_info(&outbound, &server)
                .await
                .map_err(|err| explain(&server, err))?
                .rest_api_version
        }
    };
    let site = connection.site.clone().unwrap_or_default();
    let client = Client::new(outbound, &server, version, site, credentials);
    let session = client
        .session()
        .await
        .map_err(|err| explain(&server, err))?;
    Ok(Connected {
        site_id: session.site_id,
        client,
        server,
    })
}

fn credentials(connection: &Connection) -> anyhow::Result<Credentials> {
    let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    match (
        given(&connection.pat_name),
        given(&connection.pat_secret),
        given(&connection.username),
        given(&connection.password),
    ) {
        (Some(name), Some(secret), _, _) => Ok(Credentials::AccessToken {
            name,
            secret: Hidden::new(secret),
        }),
        (None, None, Some(name), Some(password)) => Ok(Credentials::Password {
            name,
            password: Hidden::new(password),
        }),
        (Some(_), None, _, _) => bail!("--pat-name needs --pat-secret (or TABLEAU_PAT_SECRET)"),
        (None, Some(_), _, _) => bail!("--pat-secret needs --pat-name (or TABLEAU_PAT_NAME)"),
        (None, None, Some(_), None) => bail!("--username needs --password (or TABLEAU_PASSWORD)"),
        (None, None, None, Some(_)) => bail!("--password needs --username (or TABLEAU_USERNAME)"),
        (None, None, None, None) => bail!(
            "say how to sign in: a personal access token (--pat-name and --pat-secret, or \
             TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET) or a user name and password (--username \
             and --password, or TABLEAU_USERNAME and TABLEAU_PASSWORD)"
        ),
    }
}

/// One sentence for an error of the client: Tableau's summary, code and detail when the
/// server sent its error document, otherwise what happened to the request.
fn explain(server: &str, err: ClientError) -> anyhow::Error {
    let tableau = err.tableau().map(|e| {
        format!(
            "{} ({}): {}",
            e.summary,
            e.code,
            e.detail.trim_end_matches('.')
        )
    });
    match (&err, tableau) {
        (ClientError::SignInRefused { .. }, Some(tableau)) => {
            anyhow!("{server} refused the sign-in: {tableau}")
        }
        (ClientError::SignInRefused { status, .. }, None) => {
            anyhow!("{server} refused the sign-in with HTTP {status}")
        }
        (ClientError::Status { .. }, Some(tableau)) => anyhow!("{tableau}"),
        (
            ClientError::Status {
                what, status: 404, ..
            },
            None,
        ) if what.contains("/vizhook/") => {
            anyhow!(
                "{server} has no {what} (HTTP 404): events and deliveries are vizhook's own API, \
                 which only vizhook serve has"
            )
        }
        (ClientError::Send(send), _) => anyhow!("could not reach {server}: {send}"),
        _ => anyhow!("{err}"),
    }
}
