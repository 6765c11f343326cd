//! Sites and site roles: what a content URL may contain and which roles administer a site.

use std::{fmt, str::FromStr};

use crate::DomainError;

/// A site's content URL: the `contentUrl` used at sign-in. Empty means the Default site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentUrl(String);

impl ContentUrl {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let valid = raw.len() <= Self::MAX_LEN
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::InvalidContentUrl(raw.to_owned()))
        }
    }

    /// The Default site's content URL.
    pub fn default_site() -> Self {
        Self(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! site_roles {
    ($($variant:ident),* $(,)?) => {
        /// A user's role on a site, spelled as Tableau's REST API spells it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SiteRole {
            $($variant,)*
        }

        impl SiteRole {
            pub const ALL: &'static [SiteRole] = &[$(Self::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

site_roles!(
    ServerAdministrator,
    SiteAdministratorCreator,
    SiteAdministratorExplorer,
    SiteAdministrator,
    Creator,
    Explorer,
    ExplorerCanPublish,
    Publisher,
    Interactor,
    Viewer,
    ViewerWithPublish,
    ReadOnly,
    Unlicensed,
    UnlicensedWithPublish,
    Guest,
);

impl SiteRole {
    /// Whether the role is one of the site administrator roles (not server administrator).
    /// Transitions into and out of these roles fire AdminPromoted and AdminDemoted.
    pub const fn is_site_admin(self) -> bool {
        matches!(
            self,
            Self::SiteAdministratorCreator
                | Self::SiteAdministratorExplorer
                | Self::SiteAdministrator
        )
    }

    /// Server and site administrators may manage webhooks, users and site settings.
    pub const fn administers_site(self) -> bool {
        matches!(self, Self::ServerAdministrator) || self.is_site_admin()
    }
}

impl fmt::Display for SiteRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SiteRole {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|role| role.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| DomainError::UnknownSiteRole(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_urls() {
        assert_eq!(ContentUrl::parse("").unwrap(), ContentUrl::default_site());
        assert_eq!(
            ContentUrl::parse("Marketing_2-b").unwrap().as_str(),
            "Marketing_2-b"
        );
        for bad in ["has space", "slash/", "ünï", &"x".repeat(256)] {
            assert!(ContentUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn roles_parse_case_insensitively_and_know_admins() {
        assert_eq!(
            "siteadministratorcreator".parse(),
            Ok(SiteRole::SiteAdministratorCreator)
        );
        assert!(SiteRole::SiteAdministratorExplorer.is_site_admin());
        assert!(!SiteRole::ServerAdministrator.is_site_admin());
        assert!(SiteRole::ServerAdministrator.administers_site());
        assert!(!SiteRole::Creator.administers_site());
        assert!("Overlord".parse::<SiteRole>().is_err());
    }
}
