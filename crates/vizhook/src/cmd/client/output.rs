//! What the client commands print: aligned tables (tabwriter's elastic tabstops) and
//! `key: value` blocks for people, pretty JSON with `--json` for scripts.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

/// Rows of cells under a header, aligned into columns.
pub(super) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(super) fn new(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    pub(super) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(super) fn render(&self) -> anyhow::Result<String> {
        let mut writer = tabwriter::TabWriter::new(Vec::new()).padding(2);
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|cell| one_line(cell)).collect();
            writeln!(writer, "{}", cells.join("\t")).context("could not format a table")?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|err| anyhow::anyhow!("could not format a table: {err}"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// `key: value` lines with the values aligned.
pub(super) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(key, _)| key.len()).max().unwrap_or(0) + 1;
    pairs
        .iter()
        .map(|(key, value)| format!("{:width$} {}\n", format!("{key}:"), one_line(value)))
        .collect()
}

/// Tabs and line breaks would break the columns.
fn one_line(cell: &str) -> String {
    cell.replace(['\t', '\n', '\r'], " ")
}

/// Prints `value` as pretty JSON.
pub(super) fn json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("could not write JSON")?;
    print(&format!("{text}\n"))
}

/// Writes the command's output to stdout.
pub(super) fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("could not write to stdout")
}

/// A note for people, on stderr, so that stdout stays the command's data.
pub(super) fn note(text: &str) {
    eprintln!("{text}");
}
