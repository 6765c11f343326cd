//! Raw HTTP/1.1 for the server's tests: vizhook-test-support's raw client, and reading
//! Tableau's XML error document from a raw answer.

pub use vizhook_test_support::raw::*;

/// Reading Tableau's error document from a raw answer.
pub trait TableauAnswer {
    /// The `code`, `summary` and `detail` of a Tableau XML error document, which must say
    /// that the connection closes.
    fn tableau_error(&self) -> (String, String, String);
}

impl TableauAnswer for RawAnswer {
    fn tableau_error(&self) -> (String, String, String) {
        assert_eq!(
            self.header("content-type"),
            Some("application/xml;charset=utf-8"),
            "{self:?}"
        );
        assert_eq!(self.header("connection"), Some("close"), "{self:?}");
        tableau_error(&self.body)
    }
}

/// The `code`, `summary` and `detail` of a Tableau XML error document.
pub fn tableau_error(body: &str) -> (String, String, String) {
    let root = vizhook_server::api::format::xml::parse(body.as_bytes())
        .unwrap_or_else(|err| panic!("not XML ({err}): {body}"));
    assert_eq!(root.name, "tsResponse", "{body}");
    let error = root
        .find("error")
        .unwrap_or_else(|| panic!("no error: {body}"));
    let text = |name: &str| {
        error
            .find(name)
            .map(|child| child.text_or_empty().to_owned())
            .unwrap_or_else(|| panic!("no {name}: {body}"))
    };
    let code = error.get("code").unwrap_or_default().to_owned();
    (code, text("summary"), text("detail"))
}
