//! Incremental framing of MSNP lines and length-prefixed payloads (README.md, Wire format).
//!
//! A [`Decoder`] takes bytes in any split (one byte at a time or many commands at once) and yields
//! [`Frame`]s: one command line plus, for payload commands, exactly the announced payload bytes.
//! Limits are enforced before any allocation; every framing error is fatal for the connection.

use thiserror::Error;

/// Longest line accepted without CR LF (README.md: refuse lines over 8 KiB).
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Largest payload accepted from a server on NS or SB (messages.md §5.1).
pub const MAX_INCOMING_PAYLOAD: usize = 64 * 1024;
/// Largest switchboard `MSG` payload a client may send (and a server accepts).
pub const MAX_SB_MSG_PAYLOAD: usize = 1664;

/// Who wrote the bytes being decoded: it decides which commands carry payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Bytes a server sends to a client (what a client decodes).
    FromServer,
    /// Bytes a client sends to a server (what a server decodes).
    FromClient,
}

/// Commands whose last parameter is a payload length, when sent by a server. Later dialects'
/// commands are listed so a parser can skip them safely.
const SERVER_PAYLOAD_COMMANDS: &[&str] = &[
    "MSG", "NOT", "IPG", "UBX", "GCF", "UBN", "NFY", "SDG", "ADL", "RML", "FQY",
];
/// Commands whose last parameter is a payload length, when sent by a client.
const CLIENT_PAYLOAD_COMMANDS: &[&str] = &[
    "MSG", "QRY", "SDC", "UUX", "ADL", "RML", "FQY", "UUN", "PUT", "DEL", "SDG", "UUM",
];

/// Whether `code` is a payload command in `direction`.
pub fn is_payload_command(direction: Direction, code: &str) -> bool {
    let list = match direction {
        Direction::FromServer => SERVER_PAYLOAD_COMMANDS,
        Direction::FromClient => CLIENT_PAYLOAD_COMMANDS,
    };
    list.contains(&code)
}

/// Size limits of one decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line, in bytes, without its line end.
    pub max_line: usize,
    /// Largest payload, in bytes.
    pub max_payload: usize,
}

impl Limits {
    /// Limits for a client decoding what a server sends (NS or SB).
    pub const CLIENT: Limits = Limits {
        max_line: MAX_LINE_BYTES,
        max_payload: MAX_INCOMING_PAYLOAD,
    };
    /// Limits for a switchboard server decoding what a client sends.
    pub const SB_SERVER: Limits = Limits {
        max_line: MAX_LINE_BYTES,
        max_payload: MAX_SB_MSG_PAYLOAD,
    };
    /// Limits for a notification server decoding what a client sends.
    pub const NS_SERVER: Limits = Limits {
        max_line: MAX_LINE_BYTES,
        max_payload: 8 * 1024,
    };
}

/// A framing error. All are fatal: the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// A line grew past the limit without a line end.
    #[error("line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    /// A payload command announced more bytes than allowed.
    #[error("{command} payload of {length} bytes exceeds the limit of {limit}")]
    PayloadTooLarge {
        command: String,
        length: u64,
        limit: usize,
    },
    /// A payload command's length is missing, not a decimal number, or negative.
    #[error("{command} has an invalid payload length {token:?}")]
    BadLength { command: String, token: String },
    /// A command line is not valid UTF-8.
    #[error("command line is not valid UTF-8")]
    BadUtf8,
    /// The peer closed the connection in the middle of a line or payload.
    #[error("connection closed in the middle of a command ({pending} bytes pending)")]
    Truncated { pending: usize },
}

/// One decoded unit: a command line and, for payload commands, its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The line without its line end, with runs of spaces/tabs collapsed to one space and
    /// surrounding blanks removed.
    pub line: String,
    /// The payload bytes, for payload commands.
    pub payload: Option<Vec<u8>>,
}

impl Frame {
    /// The whitespace-separated tokens of the line; the first is the command code.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.line.split(' ').filter(|t| !t.is_empty())
    }

    /// The command code (first token), or "" for an empty line.
    pub fn code(&self) -> &str {
        self.tokens().next().unwrap_or("")
    }

    /// Serialises the frame back to wire bytes (line, CR LF, payload).
    pub fn to_bytes(&self) -> Vec<u8> {
        let payload_len = self.payload.as_ref().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(self.line.len() + 2 + payload_len);
        out.extend_from_slice(self.line.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(p) = &self.payload {
            out.extend_from_slice(p);
        }
        out
    }
}

#[derive(Debug)]
enum State {
    Line,
    Payload { line: String, length: usize },
    Failed(CodecError),
}

/// Incremental decoder for one connection.
#[derive(Debug)]
pub struct Decoder {
    direction: Direction,
    limits: Limits,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed; compacted lazily to keep decoding linear.
    start: usize,
    /// How far into the unconsumed bytes a line end has already been searched for.
    scanned: usize,
    state: State,
}

impl Decoder {
    /// A decoder for bytes written by the `direction` side, with the given limits.
    pub fn new(direction: Direction, limits: Limits) -> Self {
        Decoder {
            direction,
            limits,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            state: State::Line,
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet decoded.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Call when the peer has closed: an error if a command was cut off.
    pub fn finish(&self) -> Result<(), CodecError> {
        match &self.state {
            State::Failed(e) => Err(e.clone()),
            State::Payload { length, .. } => Err(CodecError::Truncated { pending: *length }),
            State::Line if self.pending() > 0 => Err(CodecError::Truncated {
                pending: self.pending(),
            }),
            State::Line => Ok(()),
        }
    }

    /// Takes the raw undecoded bytes out of the decoder (for protocols that switch to a binary
    /// stream after a command, such as MSNFTP after `TFR`).
    pub fn take_remaining(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        rest
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CodecError> {
        loop {
            match std::mem::replace(&mut self.state, State::Line) {
                State::Failed(e) => {
                    self.state = State::Failed(e.clone());
                    return Err(e);
                }
                State::Payload { line, length } => {
                    if self.pending() < length {
                        self.state = State::Payload { line, length };
                        return Ok(None);
                    }
                    let payload = self.buf[self.start..self.start + length].to_vec();
                    self.start += length;
                    return Ok(Some(Frame {
                        line,
                        payload: Some(payload),
                    }));
                }
                State::Line => match self.next_line() {
                    Err(e) => return Err(self.fail(e)),
                    Ok(None) => return Ok(None),
                    // Stray empty lines are skipped (the robust choice; README.md Robustness).
                    Ok(Some(line)) if line.is_empty() => continue,
                    Ok(Some(line)) => {
                        let code = line.split(' ').next().unwrap_or("");
                        if !is_payload_command(self.direction, code) {
                            return Ok(Some(Frame {
                                line,
                                payload: None,
                            }));
                        }
                        match self.payload_length(&line) {
                            Err(e) => return Err(self.fail(e)),
                            Ok(length) => self.state = State::Payload { line, length },
                        }
                    }
                },
            }
        }
    }

    fn fail(&mut self, e: CodecError) -> CodecError {
        self.state = State::Failed(e.clone());
        e
    }

    fn payload_length(&self, line: &str) -> Result<usize, CodecError> {
        let mut tokens = line.split(' ');
        let command = tokens.next().unwrap_or("").to_string();
        let token = tokens.next_back().unwrap_or("");
        let bad = || CodecError::BadLength {
            command: command.clone(),
            token: token.to_string(),
        };
        if token.is_empty() || token.len() > 20 || !token.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let length: u64 = token.parse().map_err(|_| bad())?;
        if length > self.limits.max_payload as u64 {
            return Err(CodecError::PayloadTooLarge {
                command,
                length,
                limit: self.limits.max_payload,
            });
        }
        Ok(length as usize)
    }

    /// Splits off the next line (CR LF or bare LF), normalising blanks; `None` if incomplete.
    fn next_line(&mut self) -> Result<Option<String>, CodecError> {
        let unread = &self.buf[self.start..];
        let from = self.scanned.min(unread.len());
        let Some(pos) = unread[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| p + from)
        else {
            self.scanned = unread.len();
            // A trailing CR does not count: the CR of a line of exactly `max_line` bytes may
            // arrive in one read and its LF in the next (found by the codec fuzz target).
            let pending_cr = usize::from(unread.last() == Some(&b'\r'));
            if unread.len() - pending_cr > self.limits.max_line {
                return Err(CodecError::LineTooLong {
                    limit: self.limits.max_line,
                });
            }
            return Ok(None);
        };
        let mut raw = &unread[..pos];
        if raw.last() == Some(&b'\r') {
            raw = &raw[..raw.len() - 1];
        }
        if raw.len() > self.limits.max_line {
            return Err(CodecError::LineTooLong {
                limit: self.limits.max_line,
            });
        }
        let text = std::str::from_utf8(raw).map_err(|_| CodecError::BadUtf8)?;
        let line = normalise_blanks(text);
        self.start += pos + 1;
        self.scanned = 0;
        Ok(Some(line))
    }
}

/// Collapses runs of spaces and tabs into single spaces and trims both ends.
fn normalise_blanks(text: &str) -> String {
    if !text.contains(['\t', '\r'])
        && !text.contains("  ")
        && !text.starts_with(' ')
        && !text.ends_with(' ')
    {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for token in text.split([' ', '\t', '\r']).filter(|t| !t.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Decoder {
        Decoder::new(Direction::FromServer, Limits::CLIENT)
    }

    fn all(d: &mut Decoder) -> Vec<Frame> {
        let mut v = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            v.push(f);
        }
        v
    }

    #[test]
    fn lines_and_payloads() {
        let mut d = client();
        d.feed(b"VER 1 MSNP7\r\nMSG Hotmail Hotmail 5\r\nhelloCHL 0 123\r\n");
        let frames = all(&mut d);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].line, "VER 1 MSNP7");
        assert_eq!(frames[1].payload.as_deref(), Some(&b"hello"[..]));
        assert_eq!(frames[2].code(), "CHL");
        assert!(d.finish().is_ok());
    }

    #[test]
    fn byte_at_a_time() {
        let stream = b"USR 4 OK alice@example.com Alice 1\r\nMSG Hotmail Hotmail 3\r\na\r\nQNG\n";
        let mut d = client();
        let mut frames = Vec::new();
        for b in stream.iter() {
            d.feed(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].payload.as_deref(), Some(&b"a\r\n"[..]));
        assert_eq!(frames[2].line, "QNG");
    }

    #[test]
    fn empty_payload_and_blank_lines() {
        let mut d = client();
        d.feed(b"\r\n\r\nMSG a b 0\r\n  NLN   NLN\tbob@example.com Bob \r\n");
        let f = all(&mut d);
        assert_eq!(f[0].payload.as_deref(), Some(&b""[..]));
        assert_eq!(f[1].line, "NLN NLN bob@example.com Bob");
    }

    #[test]
    fn qry_reply_from_server_has_no_payload_but_client_qry_does() {
        let mut d = client();
        d.feed(b"QRY 10\r\n");
        assert_eq!(all(&mut d)[0].payload, None);
        let mut s = Decoder::new(Direction::FromClient, Limits::NS_SERVER);
        s.feed(b"QRY 10 msmsgs@msnmsgr.com 32\r\n8f2f5a91b72102cd28355e9fc9000d6ePNG\r\n");
        let f = all(&mut s);
        assert_eq!(
            f[0].payload.as_deref(),
            Some(&b"8f2f5a91b72102cd28355e9fc9000d6e"[..])
        );
        assert_eq!(f[1].line, "PNG");
    }

    #[test]
    fn huge_payload_refused_before_allocation() {
        let mut d = client();
        d.feed(b"MSG Hotmail Hotmail 1000000000\r\n");
        assert!(matches!(
            d.next_frame(),
            Err(CodecError::PayloadTooLarge {
                length: 1_000_000_000,
                ..
            })
        ));
        assert!(d.buf.capacity() < 4096);
        // the decoder stays failed
        d.feed(b"QNG\r\n");
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn bad_lengths() {
        for line in [
            &b"MSG a b -5\r\n"[..],
            b"MSG a b 12x\r\n",
            b"MSG\r\n",
            b"MSG a b +5\r\n",
            b"MSG a b 99999999999999999999999\r\n",
        ] {
            let mut d = client();
            d.feed(line);
            assert!(
                matches!(d.next_frame(), Err(CodecError::BadLength { .. })),
                "{line:?}"
            );
        }
    }

    #[test]
    fn long_line_refused() {
        let mut d = client();
        d.feed(&vec![b'A'; MAX_LINE_BYTES + 1]);
        assert_eq!(
            d.next_frame(),
            Err(CodecError::LineTooLong {
                limit: MAX_LINE_BYTES
            })
        );
        let mut d = client();
        let mut line = vec![b'A'; MAX_LINE_BYTES + 5];
        line.extend_from_slice(b"\r\n");
        d.feed(&line);
        assert!(d.next_frame().is_err());
    }

    #[test]
    fn bad_utf8_line() {
        let mut d = client();
        d.feed(b"NLN NLN bob@example.com B\xffb\r\n");
        assert_eq!(d.next_frame(), Err(CodecError::BadUtf8));
    }

    #[test]
    fn truncated() {
        let mut d = client();
        d.feed(b"MSG Hotmail Hotmail 10\r\nabc");
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.finish(), Err(CodecError::Truncated { pending: 10 }));
        let mut d = client();
        d.feed(b"VER 1 MS");
        assert_eq!(d.next_frame(), Ok(None));
        assert!(d.finish().is_err());
    }

    #[test]
    fn sb_server_limit_is_1664() {
        let mut d = Decoder::new(Direction::FromClient, Limits::SB_SERVER);
        d.feed(b"MSG 3 A 1665\r\n");
        assert!(matches!(
            d.next_frame(),
            Err(CodecError::PayloadTooLarge { .. })
        ));
        let mut d = Decoder::new(Direction::FromClient, Limits::SB_SERVER);
        d.feed(b"MSG 3 A 1664\r\n");
        assert_eq!(d.next_frame(), Ok(None));
    }
}
