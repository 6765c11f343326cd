//! The types of Tableau's request attributes and elements, as the REST API's schema gives
//! them, checked on every request document before a handler reads it: a JSON value of the
//! wrong type (a name of `1`, a method of `null`, `isEnabled` of `[]`, a site of `1`) and a
//! second copy of an element that appears once (two `<webhook>`s) are `400`s, not values
//! read leniently or ignored. Names nobody reads are not checked.

use crate::{
    TsError,
    element::{Attr, Element},
};

/// What an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A string.
    Text,
    /// `true` or `false`: a JSON boolean, or the string in any case.
    Flag,
    /// An integer: a JSON number, or a string of digits.
    Integer,
}

/// Every attribute a handler reads, with its type.
const ATTRIBUTES: &[(&str, Value)] = &[
    ("adminMode", Value::Text),
    ("authSetting", Value::Text),
    ("category", Value::Text),
    ("certificationNote", Value::Text),
    ("contentPermissions", Value::Text),
    ("contentType", Value::Text),
    ("contentUrl", Value::Text),
    ("databaseName", Value::Text),
    ("dbName", Value::Text),
    ("description", Value::Text),
    ("email", Value::Text),
    ("event", Value::Text),
    ("fullName", Value::Text),
    ("id", Value::Text),
    ("jwt", Value::Text),
    ("message", Value::Text),
    ("method", Value::Text),
    ("name", Value::Text),
    ("parentProjectId", Value::Text),
    ("password", Value::Text),
    ("personalAccessTokenName", Value::Text),
    ("personalAccessTokenSecret", Value::Text),
    ("serverAddress", Value::Text),
    ("siteRole", Value::Text),
    ("state", Value::Text),
    ("statusChangeReason", Value::Text),
    ("url", Value::Text),
    ("userName", Value::Text),
    ("value", Value::Text),
    ("active", Value::Flag),
    ("elevated", Value::Flag),
    ("embed", Value::Flag),
    ("embedPassword", Value::Flag),
    ("isCertified", Value::Flag),
    ("isEnabled", Value::Flag),
    ("showTabs", Value::Flag),
    ("serverPort", Value::Integer),
];

/// Every element a handler reads, and whether it may appear more than once in its parent.
const ELEMENTS: &[(&str, bool)] = &[
    ("connection", true),
    ("connectionCredentials", false),
    ("connections", false),
    ("content", true),
    ("contentList", false),
    ("credentials", false),
    ("datasource", false),
    ("label", false),
    ("owner", false),
    ("project", false),
    ("site", false),
    ("user", false),
    ("webhook", false),
    ("webhook-destination", false),
    ("webhook-destination-http", false),
    ("webhook-source", false),
    ("workbook", false),
];

/// Attributes that may be `null`, meaning absent, where Tableau reads them so: clients that
/// do not impersonate send `"user": {"id": null}` beside a personal access token.
const NULLABLE: &[(&str, &str)] = &[("user", "id")];

fn attribute(name: &str) -> Option<Value> {
    ATTRIBUTES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, value)| *value)
}

fn element(name: &str) -> Option<bool> {
    ELEMENTS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, repeats)| *repeats)
}

fn refuse(detail: String) -> TsError {
    TsError::bad_request(format!(
        "Payload is either malformed or incomplete: {detail}."
    ))
}

/// Checks a request document against the schema, depth first.
pub fn check(document: &Element) -> Result<(), TsError> {
    for (key, attr) in &document.attrs {
        if element(key).is_some() {
            return Err(refuse(format!(
                "'{key}' must be an object, not {}",
                attr.kind()
            )));
        }
        let Some(expected) = attribute(key) else {
            continue;
        };
        let nullable = NULLABLE.contains(&(document.name.as_str(), key.as_str()));
        check_value(key, expected, attr, nullable)?;
    }
    for (index, child) in document.children.iter().enumerate() {
        if attribute(&child.name).is_some() {
            return Err(refuse(format!(
                "'{}' must be a single value, not an object or a list of objects",
                child.name
            )));
        }
        let repeated = document.children[..index]
            .iter()
            .any(|earlier| earlier.name == child.name);
        if repeated && element(&child.name) == Some(false) {
            return Err(refuse(format!(
                "'{}' must appear only once in '{}'",
                child.name, document.name
            )));
        }
        check(child)?;
    }
    Ok(())
}

fn check_value(key: &str, expected: Value, attr: &Attr, nullable: bool) -> Result<(), TsError> {
    let fits = match (expected, attr) {
        (_, Attr::Null) => nullable,
        (Value::Text, Attr::Text(_)) => true,
        (Value::Flag, Attr::Bool(_)) => true,
        (Value::Flag, Attr::Text(text)) => {
            text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false")
        }
        (Value::Integer, Attr::Number(number)) => number.parse::<u64>().is_ok(),
        (Value::Integer, Attr::Text(text)) => {
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let wanted = match expected {
        Value::Text => "a string",
        Value::Flag => "true or false",
        Value::Integer => "a whole number",
    };
    let got = match attr {
        Attr::Text(text) => format!("'{text}'"),
        other => other.kind().to_owned(),
    };
    Err(refuse(format!("'{key}' must be {wanted}, not {got}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{json, xml};

    fn json_error(body: &str) -> Option<String> {
        check(&json::parse(body.as_bytes()).unwrap())
            .err()
            .map(|err| err.to_string())
    }

    #[test]
    fn json_values_of_the_wrong_type_are_refused() {
        for body in [
            r#"{"webhook": {"name": 1}}"#,
            r#"{"webhook": {"name": true}}"#,
            r#"{"webhook": {"name": ["a"]}}"#,
            r#"{"webhook": {"name": {"x": 1}}}"#,
            r#"{"webhook": {"webhook-destination": {"webhook-destination-http": {"method": null}}}}"#,
            r#"{"webhook": {"webhook-destination": {"webhook-destination-http": {"method": []}}}}"#,
            r#"{"webhook": {"webhook-destination": {"webhook-destination-http": {"method": {}}}}}"#,
            r#"{"webhook": {"isEnabled": []}}"#,
            r#"{"webhook": {"isEnabled": {}}}"#,
            r#"{"webhook": {"isEnabled": ""}}"#,
            r#"{"webhook": {"isEnabled": "yes"}}"#,
            r#"{"credentials": {"site": 1}}"#,
            r#"{"credentials": {"site": null}}"#,
            r#"{"credentials": {"site": []}}"#,
            r#"{"credentials": {"site": "x"}}"#,
            r#"{"webhook": [{"name": "a"}, {"name": "b"}]}"#,
            r#"{"connection": {"serverPort": "54x"}}"#,
            r#"{"connection": {"serverPort": -1}}"#,
        ] {
            assert!(json_error(body).is_some(), "{body} must be refused");
        }
        assert_eq!(
            json_error(r#"{"webhook": {"name": 1}}"#).as_deref(),
            Some(
                "400000 Bad Request: Payload is either malformed or incomplete: 'name' must be a string, not a number."
            )
        );
    }

    #[test]
    fn values_of_the_right_type_pass() {
        for body in [
            r#"{"webhook": {"name": "a", "isEnabled": true, "statusChangeReason": ""}}"#,
            r#"{"webhook": {"isEnabled": "FALSE"}}"#,
            r#"{"credentials": {"site": {"contentUrl": ""}, "user": {"id": null}}}"#,
            r#"{"connection": {"serverPort": 5432}}"#,
            r#"{"connection": {"serverPort": "5432"}}"#,
            r#"{"connections": {"connection": [{"serverAddress": "a"}, {"serverAddress": "b"}]}}"#,
            r#"{"webhook": {"unknownField": null, "other": [1, 2]}}"#,
        ] {
            assert_eq!(json_error(body), None, "{body}");
        }
    }

    #[test]
    fn xml_may_not_repeat_a_single_element() {
        let two = br#"<tsRequest><webhook name="a"/><webhook name="b"/></tsRequest>"#;
        assert!(check(&xml::parse(two).unwrap()).is_err());
        let flag = br#"<tsRequest><webhook isEnabled=""/></tsRequest>"#;
        assert!(check(&xml::parse(flag).unwrap()).is_err());
        let fine = br#"<tsRequest><webhook name="a" isEnabled="true"/></tsRequest>"#;
        assert!(check(&xml::parse(fine).unwrap()).is_ok());
    }
}
