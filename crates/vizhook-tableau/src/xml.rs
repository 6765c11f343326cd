//! XML codec for the element tree: parses `tsRequest` bodies (with or without the Tableau
//! namespace) and writes `tsResponse` documents exactly as Tableau does.

use std::borrow::Cow;

use quick_xml::{
    Reader, Writer, XmlVersion,
    events::{BytesEnd, BytesStart, BytesText, Event},
};

use crate::{
    element::{Attr, Element},
    parse_error::ParseError,
};

/// Deeper nesting than any Tableau request uses; refusing it bounds memory and work.
const MAX_DEPTH: usize = 32;

pub const NAMESPACE: &str = "http://tableau.com/api";

/// Parses an XML document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, ParseError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| ParseError::xml(&reader, err))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::new(format!(
                        "elements are nested deeper than {MAX_DEPTH}"
                    )));
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => attach(&mut stack, &mut root, element(&start)?)?,
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| ParseError::new("unexpected closing tag"))?;
                attach(&mut stack, &mut root, done)?;
            }
            Event::Text(text) => {
                append_text(&mut stack, &text.xml10_content())?;
            }
            Event::GeneralRef(reference) => {
                let resolved = resolve_reference(&reference)?;
                append_text(&mut stack, &resolved)?;
            }
            Event::CData(data) => {
                append_text(&mut stack, &data.xml10_content())?;
            }
            Event::DocType(_) => {
                return Err(ParseError::new(
                    "document type declarations are not accepted",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::new(
            "the document ends before its elements are closed",
        ));
    }
    root.ok_or_else(|| ParseError::new("the document has no root element"))
}

fn element(start: &BytesStart<'_>) -> Result<Element, ParseError> {
    let mut element = Element::new(start.local_name().as_ref());
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| ParseError::new(err.to_string()))?;
        let key = attribute.key;
        if key.as_ref() == "xmlns" || key.prefix().is_some_and(|p| p.as_ref() == "xmlns") {
            continue;
        }
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| ParseError::new(err.to_string()))?;
        element.attrs.push((
            key.local_name().as_ref().to_owned(),
            Attr::Text(value.into_owned()),
        ));
    }
    Ok(element)
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    done: Element,
) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => {
            return Err(ParseError::new(
                "the document has more than one root element",
            ));
        }
    }
    Ok(())
}

fn append_text(stack: &mut [Element], text: &str) -> Result<(), ParseError> {
    match stack.last_mut() {
        Some(current) => {
            current.text.get_or_insert_with(String::new).push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(ParseError::new("text outside the root element")),
    }
}

fn resolve_reference(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, ParseError> {
    if let Some(ch) = reference
        .resolve_char_ref()
        .map_err(|err| ParseError::new(err.to_string()))?
    {
        return Ok(ch.to_string());
    }
    let name = reference.xml10_content();
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| ParseError::new(format!("unknown entity '&{name};'")))
}

/// Writes `children` inside a `tsResponse` with Tableau's namespace and schema location.
pub fn write(children: &[Element], api_version: &str) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::with_capacity(512));
    writer
        .get_mut()
        .extend_from_slice(b"<?xml version='1.0' encoding='UTF-8'?>");
    let schema = format!(
        "{NAMESPACE} https://help.tableau.com/samples/en-us/rest_api/ts-api_{}.xsd",
        api_version.replace('.', "_")
    );
    let root = BytesStart::new("tsResponse").with_attributes([
        ("xmlns", NAMESPACE),
        ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ("xsi:schemaLocation", schema.as_str()),
    ]);
    writer.write_event(Event::Start(root))?;
    for child in children {
        write_element(&mut writer, child)?;
    }
    writer.write_event(Event::End(BytesEnd::new("tsResponse")))?;
    Ok(writer.into_inner())
}

/// `text` with every character XML 1.0 does not allow (control characters other than tab,
/// line feed and carriage return; U+FFFE and U+FFFF) replaced by U+FFFD, so that a name stored
/// with one, or a destination's answer echoed back, cannot make the document unreadable.
fn xml_chars(text: &str) -> Cow<'_, str> {
    let invalid = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if text.contains(invalid) {
        Cow::Owned(text.replace(invalid, "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn write_element(writer: &mut Writer<Vec<u8>>, element: &Element) -> std::io::Result<()> {
    let attrs: Vec<(&str, Cow<'_, str>)> = element
        .attrs
        .iter()
        .filter_map(|(key, value)| Some((key.as_str(), xml_chars(value.text()?))))
        .collect();
    let start = BytesStart::new(element.name.as_str())
        .with_attributes(attrs.iter().map(|(key, value)| (*key, value.as_ref())));
    if element.children.is_empty() && element.text.is_none() {
        return writer.write_event(Event::Empty(start));
    }
    writer.write_event(Event::Start(start))?;
    if let Some(text) = &element.text {
        // Only `<`, `>` and `&` need escaping in text, as Tableau writes it.
        writer.write_event(Event::Text(BytesText::from_escaped(
            quick_xml::escape::partial_escape(xml_chars(text)),
        )))?;
    }
    for child in &element.children {
        write_element(writer, child)?;
    }
    writer.write_event(Event::End(BytesEnd::new(element.name.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_forbids_are_replaced_on_output() {
        let element = Element::new("webhook")
            .attr("name", "ctl\u{1}x\u{FFFF}")
            .child(Element::new("body").text("hello\u{1}\u{0}world\t\n<&"));
        let bytes = write(&[element], "3.24").expect("written");
        let text = String::from_utf8(bytes).expect("UTF-8");
        assert!(
            !text.contains(|c: char| c < ' ' && c != '\t' && c != '\n'),
            "{text:?}"
        );
        assert!(text.contains("name=\"ctl\u{FFFD}x\u{FFFD}\""), "{text}");
        assert!(
            text.contains("<body>hello\u{FFFD}\u{FFFD}world\t\n&lt;&amp;</body>"),
            "{text}"
        );
        let parsed = parse(text.as_bytes()).expect("readable");
        assert_eq!(
            parsed.children[0].attrs[0].1.text().unwrap(),
            "ctl\u{FFFD}x\u{FFFD}"
        );
    }
}
