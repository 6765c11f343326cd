//! The format-neutral document model. Tableau's JSON is a mechanical view of its XML
//! (attributes become properties, child elements become keys), so requests are parsed into,
//! and responses built as, one tree that the XML and JSON codecs translate.

/// An attribute value. XML carries only text; a JSON request keeps the type each value had,
/// so that the Tableau schema (`api/tableau/wire/schema.rs`) can refuse a value of the wrong
/// type instead of reading `1` or `true` as a name. Responses may carry booleans, which JSON
/// renders as `true`/`false` and XML as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    Text(String),
    Bool(bool),
    /// A JSON number, as written.
    Number(String),
    /// A JSON `null`.
    Null,
    /// A JSON array that is empty or holds anything but objects (arrays of objects become
    /// repeated child elements).
    List,
}

impl Attr {
    /// The value as text: `None` for `null` and lists, which have none.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(text) | Self::Number(text) => Some(text),
            Self::Bool(true) => Some("true"),
            Self::Bool(false) => Some("false"),
            Self::Null | Self::List => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text(_) => "a string",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number",
            Self::Null => "null",
            Self::List => "an array",
        }
    }
}

/// An element: a name, attributes in order, child elements, and optional text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, Attr)>,
    pub children: Vec<Element>,
    pub text: Option<String>,
    /// A container of repeated children (`<webhooks>`): JSON renders it as `{"webhook": [..]}`,
    /// and as `{}` when empty, however many children it has.
    pub is_list: bool,
}

impl Element {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// A list container named `name` holding `items`.
    pub fn list(name: impl Into<String>, items: impl IntoIterator<Item = Element>) -> Self {
        Self {
            name: name.into(),
            children: items.into_iter().collect(),
            is_list: true,
            ..Self::default()
        }
    }

    pub fn attr(mut self, key: &str, value: impl Into<String>) -> Self {
        self.attrs.push((key.to_owned(), Attr::Text(value.into())));
        self
    }

    /// Adds the attribute only when there is a value.
    pub fn opt_attr(self, key: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.attr(key, value),
            None => self,
        }
    }

    pub fn bool_attr(mut self, key: &str, value: bool) -> Self {
        self.attrs.push((key.to_owned(), Attr::Bool(value)));
        self
    }

    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The attribute `key`, if present with a value (a JSON `null` is none).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(name, _)| name == key)
            .and_then(|(_, value)| value.text())
    }

    /// The first child named `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    /// The text of this element, or the empty string.
    pub fn text_or_empty(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }
}
