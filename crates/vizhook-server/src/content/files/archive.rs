//! Packaged files (`.tdsx`, `.twbx`) as zip archives: the one document taken out of one,
//! capped against zip bombs, and whether one carries an extract.

use std::io::{Read, Seek};

use super::error::FileError;

/// Whether a packaged file (`.tdsx`, `.twbx`) carries an extract (`.hyper` or `.tde`).
pub fn archive_has_extract<R: Read + Seek>(source: R) -> bool {
    let Ok(archive) = zip::ZipArchive::new(source) else {
        return false;
    };
    (0..archive.len()).any(|index| {
        archive
            .name_for_index(index)
            .and_then(Result::ok)
            .is_some_and(|name| {
                let name = name.to_ascii_lowercase();
                name.ends_with(".hyper") || name.ends_with(".tde")
            })
    })
}

/// Reads into memory the first entry of the zip archive `source` whose name ends with `extension`,
/// refusing one larger than `limit` bytes.
pub(super) fn extract_document<R: Read + Seek>(
    source: R,
    extension: &'static str,
    limit: u64,
) -> Result<Vec<u8>, FileError> {
    let bad_archive = |error: zip::result::ZipError| FileError::BadArchive(error.to_string());
    let mut archive = zip::ZipArchive::new(source).map_err(bad_archive)?;
    let index = (0..archive.len())
        .find(|&index| {
            archive
                .name_for_index(index)
                .and_then(Result::ok)
                .is_some_and(|name| is_document_entry(&name, extension))
        })
        .ok_or(FileError::NoDocumentInArchive {
            expected: extension,
        })?;
    let too_large = FileError::TooLarge { limit };
    let entry = archive.by_index(index).map_err(bad_archive)?;
    if entry.size() > limit {
        return Err(too_large);
    }
    // The declared size may lie: cap what is actually inflated too.
    let mut document = Vec::new();
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut document)
        .map_err(|error| FileError::BadArchive(error.to_string()))?;
    if document.len() as u64 > limit {
        return Err(too_large);
    }
    Ok(document)
}

/// Whether a zip entry name is a document with `extension`, at any depth. macOS resource-fork
/// entries (`__MACOSX/...`, `._Name.tds`) are not documents.
fn is_document_entry(name: &str, extension: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let tail_matches = name
        .len()
        .checked_sub(extension.len())
        .and_then(|start| name.as_bytes().get(start..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(extension.as_bytes()));
    tail_matches && !base.starts_with("._") && !name.starts_with("__MACOSX/")
}
