//! Places in the configuration file: turns a key path like `route.routes[1].matchers[0]`
//! into the line and column where that value is written, using the spans of toml's
//! document parser.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::Problem;

/// Line and column (1-based) of a byte offset.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Locates every problem, sorted by place (problems without one last).
pub(super) fn locate_all(text: &str, problems: Vec<(String, String)>) -> Vec<Problem> {
    let document = DeTable::parse(text).ok();
    let mut located: Vec<Problem> = problems
        .into_iter()
        .map(|(path, message)| Problem {
            at: document
                .as_ref()
                .and_then(|doc| span_of(doc.get_ref(), &path))
                .map(|span| line_column(text, span.start)),
            path,
            message,
        })
        .collect();
    located.sort_by_key(|problem| problem.at.unwrap_or((usize::MAX, 0)));
    located
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for index in rest.split('[') {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(index));
            }
        }
    }
    out
}

/// The span of the deepest value on `path` that exists (a missing key points at its table).
fn span_of(document: &DeTable<'_>, path: &str) -> Option<Range<usize>> {
    let mut table = document;
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    let mut best = None;
    for segment in segments(path) {
        let next = match (segment, value.map(|v| v.get_ref())) {
            (Segment::Key(key), None | Some(DeValue::Table(_))) => {
                if let Some(DeValue::Table(inner)) = value.map(|v| v.get_ref()) {
                    table = inner;
                }
                table
                    .iter()
                    .find(|(name, _)| name.get_ref() == key)
                    .map(|(_, v)| v)
            }
            (Segment::Index(index), Some(DeValue::Array(items))) => items.get(index),
            _ => None,
        };
        match next {
            Some(found) => {
                best = Some(found.span());
                value = Some(found);
            }
            None => break,
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_values() {
        let text =
            "a = 1\n[route]\nreceiver = \"x\"\n[[route.routes]]\nmatchers = [\"p\", \"q\"]\n";
        let problems = locate_all(
            text,
            vec![
                ("route.routes[0].matchers[1]".into(), "bad".into()),
                ("route.receiver".into(), "unknown".into()),
                ("nowhere".into(), "?".into()),
            ],
        );
        let places: Vec<_> = problems.iter().map(|p| (p.path.as_str(), p.at)).collect();
        assert_eq!(
            places,
            [
                ("route.receiver", Some((3, 12))),
                ("route.routes[0].matchers[1]", Some((5, 18))),
                ("nowhere", None),
            ]
        );
    }
}
