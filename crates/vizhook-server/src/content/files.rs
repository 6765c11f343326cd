//! Reading published content files: the database connections of data sources (`.tds`, `.tdsx`)
//! and workbooks (`.twb`, `.twbx`), and the view names of workbooks.
//!
//! Documents are streamed with quick-xml (no DOM, no DTD expansion); packaged files are read
//! from memory or from disk, with a size cap on the one document taken out of the archive
//! (`archive.rs`).

use std::collections::HashSet;
use std::io::{Cursor, Read, Seek};

use self::archive::extract_document;
pub use self::{archive::archive_has_extract, error::FileError};

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// The largest document read out of a packaged file: a guard against zip bombs.
const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

/// How much of an element name an error message quotes.
const MAX_QUOTED_NAME_CHARS: usize = 64;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// One database connection found in a data source or workbook file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileConnection {
    /// The connection class, e.g. "postgres", "sqlserver", "excel-direct", "hyper", "textscan".
    pub class: String,
    /// The server address (`server` attribute); empty when the connection has none (files).
    pub server: String,
    /// The port as written (`port` attribute), empty when absent.
    pub port: String,
    /// `dbname` attribute, empty when absent.
    pub dbname: String,
    /// `username` attribute, empty when absent.
    pub username: String,
}

/// What a published file describes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileContents {
    /// The connections, in document order, de-duplicated; never of class `federated`.
    pub connections: Vec<FileConnection>,
    /// For workbooks: the names of worksheets and dashboards, in document order, de-duplicated.
    /// Empty for data sources.
    pub views: Vec<String>,
}

/// Which kind of file, from the `datasourceType` / `workbookType` query parameter or the file
/// name extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A data source document (XML).
    Tds,
    /// A packaged data source: a zip holding one `.tds` and data files.
    Tdsx,
    /// A workbook document (XML).
    Twb,
    /// A packaged workbook: a zip holding one `.twb` and data files.
    Twbx,
    /// A binary extract (`.hyper`, `.tde`, `.parquet`): no connections can be read.
    Extract,
}

impl FileKind {
    /// From an extension or type name such as "tdsx", ".twb", "hyper", "tde", "parquet"
    /// (case-insensitive). None if unknown.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let name = raw.strip_prefix('.').unwrap_or(raw);
        const KINDS: [(&str, FileKind); 7] = [
            ("tds", FileKind::Tds),
            ("tdsx", FileKind::Tdsx),
            ("twb", FileKind::Twb),
            ("twbx", FileKind::Twbx),
            ("hyper", FileKind::Extract),
            ("tde", FileKind::Extract),
            ("parquet", FileKind::Extract),
        ];
        KINDS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|&(_, kind)| kind)
    }

    /// From a file name like "Sales.tdsx".
    pub fn from_file_name(name: &str) -> Option<Self> {
        let (_, extension) = name.trim().rsplit_once('.')?;
        Self::parse(extension)
    }
}

/// Reads the connections (and, for workbooks, view names) of a published file in memory.
pub fn read(kind: FileKind, bytes: &[u8]) -> Result<FileContents, FileError> {
    match kind {
        FileKind::Tds => read_document(bytes, Document::DataSource),
        FileKind::Twb => read_document(bytes, Document::Workbook),
        _ => read_from(kind, Cursor::new(bytes)),
    }
}

/// Reads the same from a file on disk (a chunked upload), holding in memory only the one
/// document, capped as for packaged files.
pub fn read_from<R: Read + Seek>(kind: FileKind, mut source: R) -> Result<FileContents, FileError> {
    match kind {
        FileKind::Tds => read_document(&read_capped(&mut source)?, Document::DataSource),
        FileKind::Twb => read_document(&read_capped(&mut source)?, Document::Workbook),
        FileKind::Tdsx => read_packaged(source, Document::DataSource),
        FileKind::Twbx => read_packaged(source, Document::Workbook),
        FileKind::Extract => Ok(FileContents::default()),
    }
}

fn read_packaged<R: Read + Seek>(source: R, document: Document) -> Result<FileContents, FileError> {
    let xml = extract_document(source, document.extension(), MAX_DOCUMENT_BYTES)?;
    read_document(&xml, document)
}

/// A plain document read whole, refused past [`MAX_DOCUMENT_BYTES`].
fn read_capped(source: impl Read) -> Result<Vec<u8>, FileError> {
    let mut document = Vec::new();
    source
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut document)
        .map_err(|error| FileError::Unreadable(error.to_string()))?;
    if document.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(FileError::TooLarge {
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    Ok(document)
}

/// The two XML document kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Document {
    DataSource,
    Workbook,
}

impl Document {
    fn root(self) -> &'static str {
        match self {
            Self::DataSource => "datasource",
            Self::Workbook => "workbook",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::DataSource => ".tds",
            Self::Workbook => ".twb",
        }
    }
}

/// What an open element is, as far as the elements inside it are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Worksheets,
    Dashboards,
    Other,
}

/// Streams one XML document and collects its connections and views.
fn read_document(bytes: &[u8], document: Document) -> Result<FileContents, FileError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|error| FileError::NotXml(format!("not UTF-8 ({error})")))?;
    let mut reader = Reader::from_str(text);
    let mut collector = Collector::new(document);
    let mut open: Vec<Open> = Vec::new();
    let mut root_seen = false;
    loop {
        let event = reader.read_event().map_err(|error| {
            FileError::NotXml(format!("{error} (at byte {})", reader.error_position()))
        })?;
        match &event {
            Event::Start(element) | Event::Empty(element) if open.is_empty() => {
                if root_seen {
                    return Err(not_xml("more than one root element"));
                }
                root_seen = true;
                let name = element.name();
                if name.as_ref() != document.root() {
                    return Err(FileError::UnexpectedRoot {
                        expected: document.root(),
                        found: name.as_ref().chars().take(MAX_QUOTED_NAME_CHARS).collect(),
                    });
                }
                if matches!(event, Event::Start(_)) {
                    open.push(Open::Other);
                }
            }
            Event::Start(element) => {
                collector.element(element, open.last().copied())?;
                open.push(match element.name().as_ref() {
                    "worksheets" => Open::Worksheets,
                    "dashboards" => Open::Dashboards,
                    _ => Open::Other,
                });
            }
            Event::Empty(element) => collector.element(element, open.last().copied())?,
            Event::End(_) => {
                open.pop();
            }
            Event::DocType(_) => return Err(FileError::DoctypeNotAllowed),
            Event::Text(text) if open.is_empty() && !text.as_ref().trim().is_empty() => {
                return Err(not_xml("text outside the root element"));
            }
            Event::CData(_) | Event::GeneralRef(_) if open.is_empty() => {
                return Err(not_xml("content outside the root element"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(not_xml("no root element"));
    }
    if !open.is_empty() {
        return Err(not_xml("the document ends inside an element"));
    }
    Ok(collector.finish())
}

fn not_xml(reason: &str) -> FileError {
    FileError::NotXml(reason.to_owned())
}

/// Collects connections and views, de-duplicating as it goes.
#[derive(Debug)]
struct Collector {
    document: Document,
    contents: FileContents,
    seen_connections: HashSet<FileConnection>,
    seen_views: HashSet<String>,
}

impl Collector {
    fn new(document: Document) -> Self {
        Self {
            document,
            contents: FileContents::default(),
            seen_connections: HashSet::new(),
            seen_views: HashSet::new(),
        }
    }

    /// Looks at one element below the root; `parent` is the element it is directly inside.
    fn element(&mut self, element: &BytesStart<'_>, parent: Option<Open>) -> Result<(), FileError> {
        match (element.name().as_ref(), parent) {
            ("connection", _) => {
                let [class, server, port, dbname, username] =
                    attributes(element, ["class", "server", "port", "dbname", "username"])?;
                // A federated connection only wraps the real ones (its named-connections).
                if class.is_empty() || class.eq_ignore_ascii_case("federated") {
                    return Ok(());
                }
                let connection = FileConnection {
                    class,
                    server,
                    port,
                    dbname,
                    username,
                };
                if self.seen_connections.insert(connection.clone()) {
                    self.contents.connections.push(connection);
                }
            }
            ("worksheet", Some(Open::Worksheets)) | ("dashboard", Some(Open::Dashboards))
                if self.document == Document::Workbook =>
            {
                let [name] = attributes(element, ["name"])?;
                if !name.is_empty() && self.seen_views.insert(name.clone()) {
                    self.contents.views.push(name);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> FileContents {
        self.contents
    }
}

/// The unescaped values of the attributes named (exactly, prefix included) in `names`; empty
/// for those absent.
fn attributes<const N: usize>(
    element: &BytesStart<'_>,
    names: [&str; N],
) -> Result<[String; N], FileError> {
    let mut values: [String; N] = std::array::from_fn(|_| String::new());
    let bad_attribute = |error: &dyn std::fmt::Display| {
        let element: String = element
            .name()
            .as_ref()
            .chars()
            .take(MAX_QUOTED_NAME_CHARS)
            .collect();
        FileError::NotXml(format!("bad attribute in <{element}>: {error}"))
    };
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|error| bad_attribute(&error))?;
        let key = attribute.key.as_ref();
        if let Some(slot) = names
            .iter()
            .position(|name| *name == key)
            .and_then(|index| values.get_mut(index))
        {
            *slot = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|error| bad_attribute(&error))?
                .into_owned();
        }
    }
    Ok(values)
}

mod archive;
mod error;
#[cfg(test)]
mod tests;
