//! The MIME-style document carried by `MSG`: tolerant parsing and canonical building
//! (messages.md §1).

/// A parsed `MSG` payload: its header lines in wire order and the raw body bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MimeMessage {
    /// Header lines as `(name, value)` in the order received; names keep their case, values have
    /// their leading spaces removed and their trailing spaces kept.
    pub headers: Vec<(String, String)>,
    /// Everything after the empty line that ends the headers (possibly empty).
    pub body: Vec<u8>,
}

impl MimeMessage {
    /// Parses a payload; never fails.
    ///
    /// Headers and body are split at the first `\r\n\r\n`, else at the first `\n\n`; without
    /// either the whole payload is headers and the body is empty. Header lines may end in LF
    /// alone; lines without a `:` are skipped; bytes that are not UTF-8 are decoded lossily.
    pub fn parse(payload: &[u8]) -> MimeMessage {
        let (head, body) = split_head_body(payload);
        MimeMessage {
            headers: parse_lines(head, false, lossy),
            body: body.to_vec(),
        }
    }

    /// The value of header `name` (case-insensitive); the last one wins when it is repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of `Content-Type` (before any `;`), trimmed and lower-cased; `None` when
    /// the header is missing or empty.
    pub fn content_type(&self) -> Option<String> {
        let value = self.header("Content-Type")?;
        let media = value.split(';').next().unwrap_or("").trim();
        if media.is_empty() {
            None
        } else {
            Some(media.to_ascii_lowercase())
        }
    }

    /// The `charset` parameter of `Content-Type`, without quotes, as sent (`None` if absent).
    pub fn charset(&self) -> Option<String> {
        let value = self.header("Content-Type")?;
        value.split(';').skip(1).find_map(|param| {
            let (name, value) = param.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("charset") {
                return None;
            }
            let value = value.trim().trim_matches('"').trim();
            (!value.is_empty()).then(|| value.to_string())
        })
    }
}

/// Splits a payload at the first `\r\n\r\n`, else the first `\n\n`, else treats it all as head.
fn split_head_body(payload: &[u8]) -> (&[u8], &[u8]) {
    if let Some(i) = find(payload, b"\r\n\r\n") {
        (
            payload.get(..i).unwrap_or_default(),
            payload.get(i + 4..).unwrap_or_default(),
        )
    } else if let Some(i) = find(payload, b"\n\n") {
        (
            payload.get(..i).unwrap_or_default(),
            payload.get(i + 2..).unwrap_or_default(),
        )
    } else {
        (payload, &[])
    }
}

/// The position of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses `Name: value` lines (CR LF or LF ends). Each line is decoded with `decode`, names are
/// trimmed, values lose their leading spaces and, when `trim_values` is set, their trailing
/// spaces too. Lines without `:` or with an empty name are skipped.
pub(crate) fn parse_lines(
    text: &[u8],
    trim_values: bool,
    decode: impl Fn(&[u8]) -> String,
) -> Vec<(String, String)> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = decode(line);
            let (name, raw) = line.split_once(':')?;
            let name = name.trim();
            if name.is_empty() {
                return None;
            }
            let value = if trim_values {
                raw.trim()
            } else {
                raw.trim_start_matches([' ', '\t'])
            };
            Some((name.to_string(), value.to_string()))
        })
        .collect()
}

/// Decodes header bytes as UTF-8, replacing invalid sequences.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Removes CR and LF so a value can never end its header line early (header injection).
fn one_line(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.bytes().filter(|&b| b != b'\r' && b != b'\n')
}

/// Builds a payload per messages.md §1.3: `MIME-Version: 1.0`, then `Content-Type`, then
/// `extra_headers` in order, each `Name: value` with one space and CR LF, then an empty line,
/// then `body`. CR and LF inside names or values are dropped.
pub fn build(content_type: &str, extra_headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + body.len());
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    push_header(&mut out, "Content-Type", content_type);
    for (name, value) in extra_headers {
        push_header(&mut out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Appends one `Name: value\r\n` line.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend(one_line(name));
    out.extend_from_slice(b": ");
    out.extend(one_line(value));
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_crlf_crlf() {
        let m = MimeMessage::parse(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore");
        assert_eq!(
            m.headers,
            vec![("A".into(), "1".into()), ("B".into(), "2".into())]
        );
        assert_eq!(m.body, b"body\r\n\r\nmore");
    }

    #[test]
    fn accepts_lf_only() {
        let m = MimeMessage::parse(b"MIME-Version: 1.0\nContent-Type: text/plain\n\nhi\nthere");
        assert_eq!(m.content_type().as_deref(), Some("text/plain"));
        assert_eq!(m.body, b"hi\nthere");
    }

    #[test]
    fn no_blank_line_means_all_headers() {
        let m = MimeMessage::parse(b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n");
        assert_eq!(m.content_type().as_deref(), Some("text/plain"));
        assert!(m.body.is_empty());
        let m = MimeMessage::parse(b"Content-Type: text/x-msmsgscontrol");
        assert_eq!(m.content_type().as_deref(), Some("text/x-msmsgscontrol"));
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_last_wins() {
        let m = MimeMessage::parse(
            b"content-TYPE: Text/Plain ; Charset=\"utf-8\"\r\nX: a\r\nx: b\r\n\r\n",
        );
        assert_eq!(m.header("X"), Some("b"));
        assert_eq!(
            m.header("CONTENT-type"),
            Some("Text/Plain ; Charset=\"utf-8\"")
        );
        assert_eq!(m.content_type().as_deref(), Some("text/plain"));
        assert_eq!(m.charset().as_deref(), Some("utf-8"));
        assert_eq!(m.header("missing"), None);
    }

    #[test]
    fn empty_values_and_trailing_spaces() {
        let m = MimeMessage::parse(b"A:\r\nB: \r\nC:   x  \r\n\r\n");
        assert_eq!(m.header("A"), Some(""));
        assert_eq!(m.header("B"), Some(""));
        assert_eq!(m.header("C"), Some("x  "));
    }

    #[test]
    fn missing_or_empty_content_type() {
        assert_eq!(MimeMessage::parse(b"A: b\r\n\r\n").content_type(), None);
        assert_eq!(
            MimeMessage::parse(b"Content-Type: ; x=y\r\n\r\n").content_type(),
            None
        );
        assert_eq!(
            MimeMessage::parse(b"Content-Type: text/plain\r\n\r\n").charset(),
            None
        );
    }

    #[test]
    fn garbage_never_panics() {
        for input in [
            &b""[..],
            b"\r\n\r\n",
            b"\n\n",
            b":",
            b":::\r\n:\r\n\r\n",
            b"\xff\xfe\x00\x01: \xc3\r\n\r\n\xff",
            b"\r",
            b"\n",
            b"no colon at all",
        ] {
            let m = MimeMessage::parse(input);
            let _ = (m.content_type(), m.charset(), m.header("x"));
        }
    }

    #[test]
    fn non_utf8_headers_are_lossy() {
        let m = MimeMessage::parse(b"P4-Context: Caf\xe9\r\n\r\n");
        assert_eq!(m.header("p4-context"), Some("Caf\u{fffd}"));
    }

    #[test]
    fn huge_header_line() {
        let mut input = b"Content-Type: text/plain\r\nX-Big: ".to_vec();
        input.extend(std::iter::repeat_n(b'a', 70_000));
        input.extend_from_slice(b"\r\n\r\nbody");
        let m = MimeMessage::parse(&input);
        assert_eq!(m.header("x-big").map(str::len), Some(70_000));
        assert_eq!(m.body, b"body");
    }

    #[test]
    fn builds_canonical_form() {
        let bytes = build("text/x-msmsgscontrol", &[("TypingUser", "a@b.c")], b"\r\n");
        assert_eq!(
            bytes,
            b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.c\r\n\r\n\r\n"
        );
    }

    #[test]
    fn build_drops_line_breaks_in_values() {
        let bytes = build("text/plain", &[("X", "a\r\nEvil: 1")], b"");
        assert_eq!(
            bytes,
            b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\nX: aEvil: 1\r\n\r\n"
        );
    }
}
