//! JSON codec for the element tree, following the mapping Tableau's JSON responses show: no
//! `tsResponse` wrapper, attributes as properties, child elements as keys, list containers as
//! `{"item": [..]}` (or `{}` when empty), text-only elements as strings.

use serde_json::{Map, Value};

use crate::{
    element::{Attr, Element},
    parse_error::ParseError,
};

/// Parses a JSON request body into a `tsRequest` element. A `{"tsRequest": {..}}` wrapper is
/// accepted too.
pub fn parse(bytes: &[u8]) -> Result<Element, ParseError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|err| ParseError::new(err.to_string()))?;
    let Value::Object(mut map) = value else {
        return Err(ParseError::new("the JSON body must be an object"));
    };
    if map.len() == 1
        && let Some(Value::Object(inner)) = map.remove("tsRequest")
    {
        map = inner;
    }
    let mut root = Element::new("tsRequest");
    fill(&mut root, map);
    Ok(root)
}

fn fill(element: &mut Element, map: Map<String, Value>) {
    for (key, value) in map {
        match value {
            Value::Null => element.attrs.push((key, Attr::Null)),
            Value::Bool(flag) => element.attrs.push((key, Attr::Bool(flag))),
            Value::Number(number) => element.attrs.push((key, Attr::Number(number.to_string()))),
            Value::String(text) => element.attrs.push((key, Attr::Text(text))),
            Value::Object(inner) => element.children.push(child(key, inner)),
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        element.children.push(child(key.clone(), inner));
                    }
                }
            }
            Value::Array(_) => element.attrs.push((key, Attr::List)),
        }
    }
}

fn child(name: String, map: Map<String, Value>) -> Element {
    let mut element = Element::new(name);
    fill(&mut element, map);
    element
}

/// Renders response children as a JSON object (the `tsResponse` level).
pub fn write(children: &[Element]) -> Vec<u8> {
    let object = Value::Object(members(children, &[], None));
    // Serializing a `Value` cannot fail.
    serde_json::to_vec(&object).unwrap_or_default()
}

fn value(element: &Element) -> Value {
    if element.is_list {
        return match element.children.first() {
            None => Value::Object(Map::new()),
            Some(first) => {
                let items = element.children.iter().map(value).collect();
                let mut map = Map::new();
                map.insert(first.name.clone(), Value::Array(items));
                Value::Object(map)
            }
        };
    }
    if element.attrs.is_empty() && element.children.is_empty() {
        return match &element.text {
            Some(text) => Value::String(text.clone()),
            None => Value::Object(Map::new()),
        };
    }
    Value::Object(members(
        &element.children,
        &element.attrs,
        element.text.as_deref(),
    ))
}

/// Text first (as `value`), then children (a repeated name becomes an array), then attributes:
/// the key order Tableau's own JSON responses show.
fn members(
    children: &[Element],
    attrs: &[(String, Attr)],
    text: Option<&str>,
) -> Map<String, Value> {
    let mut map = Map::new();
    if let Some(text) = text {
        map.insert("value".to_owned(), Value::String(text.to_owned()));
    }
    for child in children {
        let rendered = value(child);
        match map.get_mut(&child.name) {
            Some(Value::Array(items)) => items.push(rendered),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, rendered]);
            }
            None => {
                map.insert(child.name.clone(), rendered);
            }
        }
    }
    for (key, attr) in attrs {
        let rendered = match attr {
            Attr::Text(text) => Value::String(text.clone()),
            Attr::Bool(flag) => Value::Bool(*flag),
            Attr::Number(number) => serde_json::from_str(number).unwrap_or(Value::Null),
            Attr::Null | Attr::List => Value::Null,
        };
        map.insert(key.clone(), rendered);
    }
    map
}
