//! URL-encoding of display names, group names and other free-text parameters (README.md, Encoding).
//!
//! Names travel in their wire form ([`WireName`]) so commands re-serialise byte for byte; decode
//! them for display with [`WireName::decode`].

use std::fmt;

/// Longest account name (e-mail address) the servers accept, in bytes.
pub const MAX_ACCOUNT_BYTES: usize = 129;
/// Longest display name after encoding, in bytes; longer names are refused or close the connection.
pub const MAX_DISPLAY_NAME_ENCODED_BYTES: usize = 387;
/// Longest display name the official client let users type, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 129;
/// Longest group name after encoding, in bytes (`229` above that).
pub const MAX_GROUP_NAME_ENCODED_BYTES: usize = 61;

/// Bytes sent unencoded: ASCII letters, digits and ``-_.!~*'()@`` (the reference's recommendation).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()@".contains(&b)
}

/// Encodes free text for a command parameter: every byte but the unreserved ones becomes `%XX`.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (either case) to bytes; a `%` not followed by two hex digits stays as is.
pub fn percent_decode_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Decodes a URL-encoded parameter to text: UTF-8, or Windows-1252 when the bytes are not UTF-8.
pub fn url_decode(text: &str) -> String {
    decode_text_bytes(percent_decode_bytes(text))
}

/// Interprets bytes as UTF-8, falling back to Windows-1252 (never fails).
pub fn decode_text_bytes(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e
            .into_bytes()
            .iter()
            .map(|&b| windows_1252_char(b))
            .collect(),
    }
}

/// Maps one Windows-1252 byte to its character (undefined bytes map to their Latin-1 code point).
pub fn windows_1252_char(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ];
    if (0x80..0xA0).contains(&b) {
        char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).unwrap_or(char::from(b))
    } else {
        char::from(b)
    }
}

/// A display or group name exactly as it appears on the wire (URL-encoded, no spaces).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct WireName(String);

impl WireName {
    /// Wraps a token received from the network, unchanged.
    pub fn from_wire(token: impl Into<String>) -> Self {
        WireName(token.into())
    }

    /// Encodes plain text for sending.
    pub fn encode(text: &str) -> Self {
        WireName(url_encode(text))
    }

    /// The wire form.
    pub fn as_wire(&self) -> &str {
        &self.0
    }

    /// The decoded text, for display (decoded once, never twice).
    pub fn decode(&self) -> String {
        url_decode(&self.0)
    }
}

impl fmt::Debug for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a name cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// Too long once encoded.
    #[error("the name is too long ({encoded} bytes encoded, at most {limit})")]
    TooLong { encoded: usize, limit: usize },
}

/// Encodes a display name for `REA`/`ADD`, enforcing the 387-byte and 129-character limits.
pub fn encode_display_name(text: &str) -> Result<WireName, NameError> {
    if text.trim().is_empty() {
        return Err(NameError::Empty);
    }
    let wire = WireName::encode(text);
    let chars = text.chars().count();
    if wire.0.len() > MAX_DISPLAY_NAME_ENCODED_BYTES || chars > MAX_DISPLAY_NAME_CHARS {
        return Err(NameError::TooLong {
            encoded: wire.0.len(),
            limit: MAX_DISPLAY_NAME_ENCODED_BYTES,
        });
    }
    Ok(wire)
}

/// Encodes a group name for `ADG`/`REG`, enforcing the 61-byte encoded limit.
pub fn encode_group_name(text: &str) -> Result<WireName, NameError> {
    if text.trim().is_empty() {
        return Err(NameError::Empty);
    }
    let wire = WireName::encode(text);
    if wire.0.len() > MAX_GROUP_NAME_ENCODED_BYTES {
        return Err(NameError::TooLong {
            encoded: wire.0.len(),
            limit: MAX_GROUP_NAME_ENCODED_BYTES,
        });
    }
    Ok(wire)
}

/// Checks that an account name looks like an e-mail address the servers accept: ASCII, no
/// spaces or control bytes, one `@` with text on both sides, a dot in the domain, at most 129 bytes.
pub fn is_valid_account(account: &str) -> bool {
    if account.is_empty() || account.len() > MAX_ACCOUNT_BYTES || !account.is_ascii() {
        return false;
    }
    if account.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'%') {
        return false;
    }
    let mut parts = account.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && !domain.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        assert_eq!(url_encode("Alice in Wonderland"), "Alice%20in%20Wonderland");
        assert_eq!(url_encode("Zoë"), "Zo%C3%AB");
        assert_eq!(url_decode("Zo%C3%AB"), "Zoë");
        assert_eq!(url_decode("Zoë"), "Zoë");
        assert_eq!(url_decode("Zo%C3%AB%20%F0%9F%8C%BB"), "Zoë 🌻");
        assert_eq!(url_decode("Carol%20C."), "Carol C.");
        assert_eq!(url_decode("Alice%20%E2%98%95"), "Alice ☕");
    }

    #[test]
    fn lone_percent_kept_and_never_decoded_twice() {
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("50%zz"), "50%zz");
        assert_eq!(url_decode("%2541"), "%41");
        assert_eq!(url_decode("%e2%98%95"), "☕");
    }

    #[test]
    fn invalid_utf8_falls_back_to_cp1252() {
        assert_eq!(url_decode("caf%E9"), "café");
        assert_eq!(url_decode("%80"), "€");
    }

    #[test]
    fn control_bytes_are_encoded() {
        assert_eq!(url_encode("a\r\nb%"), "a%0D%0Ab%25");
        assert_eq!(url_encode("x-_.!~*'()@y"), "x-_.!~*'()@y");
    }

    #[test]
    fn limits() {
        assert!(encode_display_name(&"a".repeat(129)).is_ok());
        assert!(encode_display_name(&"a".repeat(130)).is_err());
        // 100 characters of 'é' is 200 UTF-8 bytes = 600 encoded bytes.
        assert!(matches!(
            encode_display_name(&"é".repeat(100)),
            Err(NameError::TooLong { .. })
        ));
        assert_eq!(encode_display_name(" "), Err(NameError::Empty));
        assert!(encode_group_name(&"g".repeat(61)).is_ok());
        assert!(encode_group_name(&"g".repeat(62)).is_err());
    }

    #[test]
    fn accounts() {
        assert!(is_valid_account("alice@example.com"));
        assert!(!is_valid_account("a@b"));
        assert!(!is_valid_account("@@a"));
        assert!(!is_valid_account("alice"));
        assert!(!is_valid_account("al ice@example.com"));
        assert!(!is_valid_account(&format!(
            "{}@example.com",
            "a".repeat(120)
        )));
    }
}
