//! The format-neutral document model. Tableau's JSON is a mechanical view of its XML
//! (attributes become properties, child elements become keys), so requests are parsed into,
//! and responses built as, one tree that the XML and JSON codecs translate.

/// An attribute value. Requests only ever carry text; responses may carry booleans, which JSON
/// renders as `true`/`false` and XML as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    Text(String),
    Bool(bool),
}

impl Attr {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Text(text) => text,
            Self::Bool(true) => "true",
            Self::Bool(false) => "false",
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

    /// The attribute `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
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
