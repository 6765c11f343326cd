//! `FileError`: why a published file could not be read.

/// Why a published file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The document is not well-formed UTF-8 XML.
    #[error("the file is not a well-formed XML document: {0}")]
    NotXml(String),
    /// The document declares a DTD; DTDs are never expanded, so such files are refused.
    #[error("the file declares a DOCTYPE, which is not allowed")]
    DoctypeNotAllowed,
    /// The root element is not the one this kind of file has.
    #[error("expected a <{expected}> document, found <{found}>")]
    UnexpectedRoot {
        /// The root element this kind of file has (`datasource` or `workbook`).
        expected: &'static str,
        /// The root element found (possibly shortened).
        found: String,
    },
    /// The packaged file is not a readable zip archive.
    #[error("the file is not a readable zip archive: {0}")]
    BadArchive(String),
    /// The packaged file holds no document of the expected kind.
    #[error("the archive contains no {expected} file")]
    NoDocumentInArchive {
        /// The extension looked for, e.g. ".tds".
        expected: &'static str,
    },
    /// The uploaded file could not be read from disk.
    #[error("the uploaded file could not be read: {0}")]
    Unreadable(String),
    /// The document in the packaged file is larger than the limit.
    #[error("the document in the archive is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
}
