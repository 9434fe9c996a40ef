//! RFC 2047 encoded words (`=?ISO-8859-1?Q?Caf=E9?=`, `=?UTF-8?B?…?=`) as they appear in the
//! `From` and `Subject` of e-mail notifications (messages.md §2.3).

use crate::proto::names::{decode_text_bytes, windows_1252_char};

/// Decodes every well-formed encoded word in `input`; anything malformed stays as it is.
/// Whitespace between two adjacent encoded words is dropped, as RFC 2047 says. Supported
/// charsets: UTF-8, ISO-8859-1, Windows-1252 and US-ASCII; other charsets are read as UTF-8,
/// falling back to Windows-1252.
pub fn decode_encoded_words(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    let mut last_was_word = false;
    while !rest.is_empty() {
        if let Some((decoded, after)) = word_at(rest) {
            out.push_str(&decoded);
            rest = after;
            last_was_word = true;
            continue;
        }
        let trimmed = rest.trim_start();
        if last_was_word && trimmed.len() < rest.len() {
            if let Some((decoded, after)) = word_at(trimmed) {
                out.push_str(&decoded);
                rest = after;
                continue;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
        last_was_word = false;
    }
    out
}

/// Decodes an encoded word at the start of `s`; returns its text and what follows.
fn word_at(s: &str) -> Option<(String, &str)> {
    s.strip_prefix("=?").and_then(decode_word)
}

/// Decodes one word after its `=?`: `charset?E?text?=`; returns the text and what follows.
fn decode_word(s: &str) -> Option<(String, &str)> {
    let (charset, s) = s.split_once('?')?;
    let (encoding, s) = s.split_once('?')?;
    let (text, after) = s.split_once("?=")?;
    if charset.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "Q" | "q" => decode_q(text)?,
        "B" | "b" => decode_base64(text)?,
        _ => return None,
    };
    let charset = charset.split('*').next().unwrap_or(charset);
    let text = match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "windows-1252" | "cp1252" | "us-ascii" => {
            bytes.into_iter().map(windows_1252_char).collect()
        }
        _ => decode_text_bytes(bytes),
    };
    Some((text, after))
}

/// The "Q" encoding: `_` is a space, `=XX` a byte.
fn decode_q(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            _ => out.push(b),
        }
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Standard base64 with optional `=` padding.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(b: u8) -> Option<u32> {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    }
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in text.bytes() {
        acc = (acc << 6 | value(b)?) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_q_and_b() {
        assert_eq!(decode_encoded_words("=?ISO-8859-1?Q?Caf=E9?="), "Café");
        assert_eq!(decode_encoded_words("=?UTF-8?B?Q2Fmw6k=?="), "Café");
        assert_eq!(decode_encoded_words("=?utf-8?q?a_b=C3=A9?= c"), "a bé c");
        assert_eq!(
            decode_encoded_words("Re: =?UTF-8?B?8J+YgA==?= hi"),
            "Re: 😀 hi"
        );
    }

    #[test]
    fn joins_adjacent_words() {
        assert_eq!(decode_encoded_words("=?UTF-8?Q?a?= =?UTF-8?Q?b?="), "ab");
        assert_eq!(
            decode_encoded_words("=?UTF-8?Q?a?= x =?UTF-8?Q?b?="),
            "a x b"
        );
        assert_eq!(decode_encoded_words("=?UTF-8?Q?a?=  "), "a  ");
    }

    #[test]
    fn malformed_stays_literal() {
        for s in [
            "=?",
            "=?x",
            "=?UTF-8?X?abc?=",
            "=?UTF-8?Q?=Z?=",
            "=?UTF-8?B?!!?=",
            "a =? b",
            "=??Q?a?=",
            "plain text",
        ] {
            assert_eq!(decode_encoded_words(s), s);
        }
    }
}
