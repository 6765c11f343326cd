//! Rules of a site's content that need no storage: the content URL Tableau derives from a name,
//! and which project is a site's Default project.

/// The name of the project every site starts with, at the top level.
pub const DEFAULT_PROJECT: &str = "Default";

/// The Default project's description, as Tableau writes it.
pub const DEFAULT_PROJECT_DESCRIPTION: &str =
    "The default project that was automatically created by Tableau.";

/// Whether a project named `name`, at the top level or not (`has_parent`), is its site's
/// Default project: it is found by its name at the top level, so it may be neither renamed, nor
/// moved, nor deleted.
pub fn is_default_project(name: &str, has_parent: bool) -> bool {
    !has_parent && name == DEFAULT_PROJECT
}

/// A content URL from a name, as Tableau derives them: letters, digits, `_` and `-` only, made
/// unique among `taken` (ignoring case) with a numeric suffix.
pub fn content_url(name: &str, taken: &[&str]) -> String {
    let base: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let base = if base.is_empty() {
        "content".to_owned()
    } else {
        base
    };
    let free = |candidate: &str| !taken.iter().any(|t| t.eq_ignore_ascii_case(candidate));
    if free(&base) {
        return base;
    }
    (1..)
        .map(|n| format!("{base}_{n}"))
        .find(|candidate| free(candidate))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_urls_are_alphanumeric_and_unique() {
        assert_eq!(content_url("Sales Data (EMEA)", &[]), "SalesDataEMEA");
        assert_eq!(
            content_url("Sales Data", &["salesdata", "SalesData_1"]),
            "SalesData_2"
        );
        assert_eq!(content_url("🎉", &[]), "content");
    }

    #[test]
    fn the_default_project_is_the_top_level_one_of_that_name() {
        assert!(is_default_project("Default", false));
        assert!(!is_default_project("Default", true));
        assert!(!is_default_project("default", false));
        assert!(!is_default_project("Defaults", false));
    }
}
