//! Site content behind the Tableau API: reading published files, multipart publishing, and
//! extract refreshes that really connect to the content's databases.

pub mod files;
pub mod publish;
pub mod refresh;

/// A content URL from a name, as Tableau derives them: letters and digits only, made unique
/// among `taken` with a numeric suffix.
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
    #[test]
    fn content_urls_are_alphanumeric_and_unique() {
        assert_eq!(
            super::content_url("Sales Data (EMEA)", &[]),
            "SalesDataEMEA"
        );
        assert_eq!(
            super::content_url("Sales Data", &["salesdata", "SalesData_1"]),
            "SalesData_2"
        );
        assert_eq!(super::content_url("🎉", &[]), "content");
    }
}
