//! Reading the response heads hyper writes: how long each message is (so that the next head is
//! found), and whether a head is one of hyper's own refusals (a `400`, `414` or `431` with
//! `content-length: 0` and nothing but `date` and `connection` beside it).

use super::{limits::Refusal, owed::Expect};

/// The longest response head followed; after a longer one the connection is passed through.
const MAX_HEAD: usize = 64 * 1024;

/// Where the byte stream of responses stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// At the start of a response head.
    Boundary,
    /// Inside a message, with this many of its bytes still to come.
    Inside(u64),
    /// After a response whose end its head does not tell (chunked, close-delimited, an
    /// upgrade): the rest of the connection passes through untouched.
    Opaque,
}

/// A whole response head at the start of a buffer.
#[derive(Debug)]
pub(crate) struct Head<'a> {
    /// Its length, with the blank line that ends it.
    pub(crate) len: usize,
    pub(crate) status: u16,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub(crate) version: &'a [u8],
    pub(crate) date: Option<&'a [u8]>,
    content_length: Option<u64>,
    transfer_encoding: bool,
    /// No header besides `content-length`, `date` and `connection`.
    bare: bool,
}

impl<'a> Head<'a> {
    /// The head at the start of `buf`, if `buf` holds all of it and it reads as a response head.
    pub(crate) fn parse(buf: &'a [u8]) -> Option<Self> {
        let searched = &buf[..buf.len().min(MAX_HEAD)];
        let end = searched.windows(4).position(|four| four == b"\r\n\r\n")?;
        let mut lines = buf[..end]
            .split(|&byte| byte == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
        let (version, rest) = split_once(lines.next()?, b' ')?;
        let code = rest.get(..3)?;
        if !version.starts_with(b"HTTP/")
            || !code.iter().all(u8::is_ascii_digit)
            || rest.get(3).is_some_and(|&byte| byte != b' ')
        {
            return None;
        }
        let status = code
            .iter()
            .fold(0u16, |status, digit| status * 10 + u16::from(digit - b'0'));
        let mut head = Head {
            len: end + 4,
            status,
            version,
            date: None,
            content_length: None,
            transfer_encoding: false,
            bare: true,
        };
        for line in lines {
            let (name, value) = split_once(line, b':')?;
            let value = value.trim_ascii();
            if name.eq_ignore_ascii_case(b"content-length") {
                let length = std::str::from_utf8(value).ok()?.parse::<u64>().ok()?;
                if head.content_length.is_some_and(|seen| seen != length) {
                    return None;
                }
                head.content_length = Some(length);
            } else if name.eq_ignore_ascii_case(b"date") {
                head.date = Some(value);
            } else if !name.eq_ignore_ascii_case(b"connection") {
                head.bare = false;
                head.transfer_encoding |= name.eq_ignore_ascii_case(b"transfer-encoding");
            }
        }
        Some(head)
    }

    /// A 1xx other than `101 Switching Protocols`: hyper's `100 Continue`, which answers no
    /// request by itself.
    pub(crate) fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The refusal this head would be if hyper wrote it on its own.
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        if !self.bare || self.content_length.is_some_and(|length| length != 0) {
            return None;
        }
        Refusal::of_status(self.status)
    }

    /// Where the stream stands right after this head's message begins, for a response to a
    /// request that expects `expect`.
    pub(crate) fn framing(&self, expect: Expect) -> Framing {
        let head = self.len as u64;
        match (self.status, expect) {
            (101, _) | (200..=299, Expect::Tunnel) => Framing::Opaque,
            (100..=199 | 204 | 304, _) | (_, Expect::NoBody) => Framing::Inside(head),
            _ if self.transfer_encoding => Framing::Opaque,
            _ => self
                .content_length
                .and_then(|length| head.checked_add(length))
                .map_or(Framing::Opaque, Framing::Inside),
        }
    }
}

fn split_once(line: &[u8], at: u8) -> Option<(&[u8], &[u8])> {
    let index = line.iter().position(|&byte| byte == at)?;
    Some((&line[..index], &line[index + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFUSAL: &[u8] =
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n";

    #[test]
    fn hypers_own_refusal_is_recognised() {
        let head = Head::parse(REFUSAL).unwrap();
        assert_eq!(head.len, REFUSAL.len());
        assert_eq!(head.refusal(), Some(Refusal::HeadersTooLarge));
        assert_eq!(head.date, Some(&b"Mon, 01 Jan 2024 00:00:00 GMT"[..]));
        let closing = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        let head = Head::parse(closing).unwrap();
        assert_eq!(head.refusal(), Some(Refusal::Malformed));
        assert_eq!(head.date, None);
    }

    #[test]
    fn responses_with_content_are_not_refusals() {
        let typed = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/xml\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(Head::parse(typed).unwrap().refusal(), None);
        let long = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(Head::parse(long).unwrap().refusal(), None);
        let other = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(Head::parse(other).unwrap().refusal(), None);
    }

    #[test]
    fn framing_follows_the_head() {
        let sized = Head::parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").unwrap();
        assert_eq!(sized.len, 38);
        assert_eq!(sized.framing(Expect::Body), Framing::Inside(43));
        assert_eq!(sized.framing(Expect::NoBody), Framing::Inside(38));
        assert_eq!(sized.framing(Expect::Tunnel), Framing::Opaque);
        let chunked =
            Head::parse(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").unwrap();
        assert_eq!(chunked.framing(Expect::Body), Framing::Opaque);
        let empty = Head::parse(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(empty.framing(Expect::Body), Framing::Inside(27));
        let open_ended = Head::parse(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        assert_eq!(open_ended.framing(Expect::Body), Framing::Opaque);
        assert!(
            Head::parse(b"HTTP/1.1 100 Continue\r\n\r\n")
                .unwrap()
                .is_interim()
        );
    }

    #[test]
    fn what_is_not_a_whole_head_is_not_read_as_one() {
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n").is_none());
        assert!(Head::parse(b"hello world\r\n\r\n").is_none());
        assert!(Head::parse(b"HTTP/1.1 2x0 OK\r\n\r\n").is_none());
        assert!(Head::parse(b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n").is_none());
        let twice = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n";
        assert!(Head::parse(twice).is_none());
        assert!(Head::parse(b"").is_none());
    }
}
