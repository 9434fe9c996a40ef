//! Splitting long outgoing text into several complete switchboard payloads (messages.md §5.2).

use super::{build_text, to_crlf, TextFormat};

/// How far back from the size limit a cut after a line break or space is preferred, in bytes.
const PREFERRED_BREAK_WINDOW: usize = 100;

/// Builds the text payloads for `text`, each a complete message of at most `limit` bytes
/// (normally [`super::MAX_SB_PAYLOAD`]) with the same headers, to be sent in order.
///
/// Line breaks are sent as CR LF. Bodies are cut never inside a UTF-8 character nor between CR
/// and LF, preferably after a line break or else after a space within the last ~100 bytes of the
/// allowed size. An empty text gives one payload with an empty body. If `limit` leaves less than
/// 4 bytes for the body, each piece carries at least one character and may exceed `limit`.
pub fn split_text_payloads(text: &str, format: &Option<TextFormat>, limit: usize) -> Vec<Vec<u8>> {
    let body = to_crlf(text);
    let header_len = build_text(b"", format.as_ref()).len();
    let max_body = limit.saturating_sub(header_len).max(4);
    split_body(&body, max_body)
        .into_iter()
        .map(|piece| build_text(piece.as_bytes(), format.as_ref()))
        .collect()
}

/// Cuts `body` (CR LF form) into pieces of at most `max` bytes (`max` ≥ 4).
fn split_body(body: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while rest.len() > max {
        let Some((piece, after)) = rest.split_at_checked(cut_point(rest, max)) else {
            break;
        };
        pieces.push(piece);
        rest = after;
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// Where to cut `text` (longer than `max`): a char boundary in `1..=max`, not between CR and LF.
fn cut_point(text: &str, max: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = max.min(text.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    if end > 0 && bytes.get(end - 1) == Some(&b'\r') && bytes.get(end) == Some(&b'\n') {
        end -= 1;
    }
    if end == 0 {
        // Cannot happen with max >= 4; take the first character (or CR LF) whole.
        let first = text.chars().next().map_or(1, char::len_utf8);
        return if text.starts_with("\r\n") { 2 } else { first };
    }
    let low = end.saturating_sub(PREFERRED_BREAK_WINDOW).max(1);
    let after = |want: u8| (low..=end).rev().find(|&i| bytes.get(i - 1) == Some(&want));
    after(b'\n').or_else(|| after(b' ')).unwrap_or(end)
}

#[cfg(test)]
mod tests {
    use super::super::{Payload, MAX_SB_PAYLOAD};
    use super::*;
    use proptest::prelude::*;

    fn bodies(pieces: &[Vec<u8>]) -> Vec<u8> {
        pieces
            .iter()
            .flat_map(|p| super::super::MimeMessage::parse(p).body)
            .collect()
    }

    #[test]
    fn short_text_is_one_payload() {
        let format = Some(TextFormat::parse("FN=Arial; EF=I; CO=0; CS=0; PF=22"));
        let pieces = split_text_payloads("Hello! How are you?", &format, MAX_SB_PAYLOAD);
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].len(), 133);
    }

    #[test]
    fn header_length_of_the_spec_is_114() {
        let format = Some(TextFormat::parse("FN=Arial; EF=I; CO=0; CS=0; PF=22"));
        let text = "x".repeat(1550);
        assert_eq!(split_text_payloads(&text, &format, MAX_SB_PAYLOAD).len(), 1);
        let text = "x".repeat(1551);
        let pieces = split_text_payloads(&text, &format, MAX_SB_PAYLOAD);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len(), 1664);
        assert_eq!(pieces[1].len(), 115);
    }

    #[test]
    fn empty_text_gives_one_empty_message() {
        let pieces = split_text_payloads("", &None, MAX_SB_PAYLOAD);
        assert_eq!(pieces.len(), 1);
        assert!(super::super::MimeMessage::parse(&pieces[0]).body.is_empty());
    }

    #[test]
    fn prefers_line_breaks_then_spaces() {
        // 60-byte header (no format) leaves 40 bytes of body with a limit of 100.
        let header = build_text(b"", None).len();
        let limit = header + 40;
        let text = format!("{}\n{}", "a".repeat(20), "b".repeat(30));
        let pieces = split_text_payloads(&text, &None, limit);
        assert_eq!(
            bodies(&pieces[..1]),
            format!("{}\r\n", "a".repeat(20)).into_bytes()
        );
        let text = format!("{} {}", "a".repeat(30), "b".repeat(30));
        let pieces = split_text_payloads(&text, &None, limit);
        assert_eq!(
            bodies(&pieces[..1]),
            format!("{} ", "a".repeat(30)).into_bytes()
        );
    }

    #[test]
    fn never_splits_crlf_or_characters() {
        let header = build_text(b"", None).len();
        let text = format!("{}\r\n{}", "a".repeat(39), "b".repeat(10));
        let pieces = split_text_payloads(&text, &None, header + 40);
        for p in &pieces {
            let body = super::super::MimeMessage::parse(p).body;
            assert!(!body.ends_with(b"\r"));
            assert!(!body.starts_with(b"\n"));
        }
        let text = "😀".repeat(30);
        for limit in header + 4..header + 12 {
            let pieces = split_text_payloads(&text, &None, limit);
            for p in &pieces {
                assert!(p.len() <= limit);
                let body = super::super::MimeMessage::parse(p).body;
                assert!(String::from_utf8(body).is_ok());
            }
            assert_eq!(bodies(&pieces), text.as_bytes());
        }
    }

    #[test]
    fn tiny_limit_still_makes_progress() {
        let pieces = split_text_payloads("abc😀\r\n", &None, 0);
        assert_eq!(bodies(&pieces), "abc😀\r\n".as_bytes());
    }

    proptest! {
        #[test]
        fn pieces_fit_and_concatenate(
            text in "(\\PC|[\r\n \t]){0,2000}",
            extra in 4usize..400,
            formatted in any::<bool>(),
        ) {
            let format = formatted.then(|| TextFormat::with_font("Segoe UI"));
            let limit = build_text(b"", format.as_ref()).len() + extra;
            let pieces = split_text_payloads(&text, &format, limit);
            prop_assert!(!pieces.is_empty());
            let mut joined = Vec::new();
            for p in &pieces {
                prop_assert!(p.len() <= limit);
                let msg = super::super::MimeMessage::parse(p);
                prop_assert!(std::str::from_utf8(&msg.body).is_ok());
                prop_assert!(!msg.body.ends_with(b"\r"));
                prop_assert_eq!(msg.header("X-MMS-IM-Format").is_some(), formatted);
                joined.extend_from_slice(&msg.body);
            }
            prop_assert_eq!(joined, to_crlf(&text).into_bytes());
            if let Payload::Text(t) = Payload::parse(&pieces[0]) {
                prop_assert!(t.format.is_some() == formatted);
            } else {
                prop_assert!(false, "not a text payload");
            }
        }
    }
}
