//! The Tableau files tests publish (`fixtures/`: data sources and workbooks whose connections
//! point at the test's PostgreSQL), and publish bodies built the way tableauserverclient builds
//! them.

/// A Tableau file from this crate's `fixtures/`, with its `SERVER`, `PORT`, `DBNAME` and
/// `USER` placeholders filled in.
pub fn fixture(name: &str, server: &str, port: u16) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("fixture {}: {err}", path.display()))
        .replace("'SERVER'", &format!("'{server}'"))
        .replace("'PORT'", &format!("'{port}'"))
        .replace("'DBNAME'", "'test'")
        .replace("'USER'", "'postgres'")
        .into_bytes()
}

/// A `multipart/mixed` publish body as tableauserverclient builds it: `request_payload` and
/// the file part `file_part` (`tableau_datasource` or `tableau_workbook`). Returns the content
/// type and the body.
pub fn multipart(
    payload: &str,
    file_part: &str,
    file_name: &str,
    file: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "vizhook-test-boundary-7c9e";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"request_payload\"\r\nContent-Type: text/xml\r\n\r\n{payload}\r\n").as_bytes());
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{file_part}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/mixed; boundary={boundary}"), body)
}
