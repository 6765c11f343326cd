//! `Retry-After` (RFC 9110 §10.2.3): a destination's "come back in so long", as a number of
//! seconds or an HTTP date.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, header::RETRY_AFTER};

/// How long `headers` ask to wait from `now`: delta-seconds, or an HTTP date (zero once it has
/// passed). `None` without a header, or with one that is neither.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use http::{HeaderMap, HeaderValue};

    fn after(value: &str, now: SystemTime) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_str(value).unwrap());
        super::retry_after(&headers, now)
    }

    #[test]
    fn seconds_and_http_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21T07:28:00Z
        assert_eq!(after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(after("soon", now), None);
        assert_eq!(after("-5", now), None);
        assert_eq!(super::retry_after(&HeaderMap::new(), now), None);
    }
}
