//! One Alertmanager-style label matcher, `label op value`: the four operators `=`, `!=`, `=~`
//! and `!~`, values quoted (`"..."`, with `\"` and `\\` escapes) or bare, regular expressions
//! fully anchored.

use regex::Regex;

use vizhook_tableau::payload::LABELS;

/// A parsed matcher. A label the event lacks (`site_name` before enrichment) matches as "".
#[derive(Debug, Clone)]
pub(super) struct Matcher {
    label: &'static str,
    op: Op,
    value: String,
    /// The anchored regular expression of `=~` and `!~`.
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl Matcher {
    /// Parses `label op value`; the error is a sentence for the operator.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        let name = &text[..name_end];
        if name.is_empty() {
            return Err(format!(
                "expected a label name at the start of {text:?}, as in 'event_type = \"DatasourceRefreshFailed\"'"
            ));
        }
        let rest = text[name_end..].trim_start();
        let (op, rest) = if let Some(rest) = rest.strip_prefix("=~") {
            (Op::Regex, rest)
        } else if let Some(rest) = rest.strip_prefix("!~") {
            (Op::NotRegex, rest)
        } else if let Some(rest) = rest.strip_prefix("!=") {
            (Op::NotEqual, rest)
        } else if let Some(rest) = rest.strip_prefix('=') {
            (Op::Equal, rest)
        } else {
            return Err(format!(
                "expected an operator (=, !=, =~ or !~) after the label {name:?}"
            ));
        };
        let Some(label) = LABELS.iter().copied().find(|known| *known == name) else {
            return Err(format!(
                "unknown label {name:?}; the labels are {}",
                LABELS.join(", ")
            ));
        };
        let value = parse_value(rest.trim())?;
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|err| format!("invalid regular expression {value:?}: {err}"))?,
            ),
            Op::Equal | Op::NotEqual => None,
        };
        Ok(Self {
            label,
            op,
            value,
            regex,
        })
    }

    pub(super) fn label(&self) -> &'static str {
        self.label
    }

    pub(super) fn matches(&self, value: &str) -> bool {
        let regex_matches = || self.regex.as_ref().is_some_and(|re| re.is_match(value));
        match self.op {
            Op::Equal => value == self.value,
            Op::NotEqual => value != self.value,
            Op::Regex => regex_matches(),
            Op::NotRegex => !regex_matches(),
        }
    }
}

/// A quoted value (`\"` and `\\` are escapes, any other backslash is kept, so regular
/// expressions such as `"\d+"` read as written) or a bare one (the rest, trimmed).
fn parse_value(text: &str) -> Result<String, String> {
    let Some(quoted) = text.strip_prefix('"') else {
        if text.contains('"') {
            return Err(format!(
                "unexpected '\"' in the unquoted value {text:?}; quote the whole value"
            ));
        }
        return Ok(text.to_owned());
    };
    let mut value = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let after = chars.as_str().trim();
                if !after.is_empty() {
                    return Err(format!("unexpected {after:?} after the closing quote"));
                }
                return Ok(value);
            }
            '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\')) => value.push(escaped),
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => break,
            },
            other => value.push(other),
        }
    }
    Err("the quoted value has no closing quote".to_owned())
}
