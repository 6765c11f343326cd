//! `redact_url`: a database URL as it may be shown in logs and errors, without its password.

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`. A URL that does not parse
/// has everything between `://` and the last `@` of its authority hidden, so a malformed URL
/// never shows its password either.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => {
            let Some(start) = url.find("://").map(|i| i + 3) else {
                return url.to_owned();
            };
            let end = url[start..]
                .find(['/', '?'])
                .map_or(url.len(), |i| start + i);
            match url[start..end].rfind('@') {
                Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
                None => url.to_owned(),
            }
        }
    }
}
