//! REST API versions (`3.24`): which are served, and the minimum a method needs.

use crate::TsError;

/// A REST API version such as 3.24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    /// The oldest version served: tableauserverclient starts every session at 2.4.
    pub const OLDEST: Self = Self::new(2, 4);
    /// Webhooks arrived in 3.6 (Tableau 2019.4).
    pub const WEBHOOKS: Self = Self::new(3, 6);
    /// Updating a webhook arrived in 3.8 (Tableau 2020.2).
    pub const WEBHOOK_UPDATE: Self = Self::new(3, 8);

    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// `major.minor` with a major version of 2 or 3.
    pub fn parse(raw: &str) -> Option<Self> {
        let (major, minor) = raw.split_once('.')?;
        let all_digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(major) || !all_digits(minor) {
            return None;
        }
        let version = Self::new(major.parse().ok()?, minor.parse().ok()?);
        (matches!(version.major, 2 | 3) && version >= Self::OLDEST).then_some(version)
    }
}

impl ApiVersion {
    /// Refuses a method called below its minimum version the way Tableau refuses a path it
    /// does not know at that version.
    pub fn require(self, minimum: Self, path: &str) -> Result<(), TsError> {
        if self >= minimum {
            Ok(())
        } else {
            Err(TsError::unknown_path(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(ApiVersion::parse("2.4"), Some(ApiVersion::new(2, 4)));
        assert_eq!(ApiVersion::parse("3.10"), Some(ApiVersion::new(3, 10)));
        assert!(ApiVersion::parse("3.10") > ApiVersion::parse("3.9"));
        for bad in [
            "2.3", "1.0", "4.0", "3", "3.", ".9", "3.9.1", "v3.9", "3.x", "3.1000",
        ] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad}");
        }
    }
}
