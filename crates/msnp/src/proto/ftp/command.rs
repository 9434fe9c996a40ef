//! MSNFTP text lines (msnftp.md §3.3): `VER`, `USR`, `FIL`, `TFR`, `BYE`, `CCL`, typed, with a
//! tolerant parser, a byte-exact serialiser and an incremental line reader for the handshake.

use std::fmt;

/// The only dialect token MSNFTP knows (`VER MSNFTP`).
pub const MSNFTP: &str = "MSNFTP";

/// Longest accepted line, without its line end (msnftp.md §3.1).
pub const MAX_LINE_LEN: usize = 1024;

/// Why a line could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// More than [`MAX_LINE_LEN`] bytes arrived without a line end.
    #[error("line longer than {MAX_LINE_LEN} bytes")]
    LineTooLong,
    /// The line is not ASCII text (MSNFTP lines are ASCII).
    #[error("line is not ASCII text")]
    NotAscii,
    /// The line is empty or only spaces.
    #[error("empty line")]
    Empty,
    /// A command lacks a required parameter.
    #[error("{command}: missing parameter")]
    MissingParameter {
        /// The three-letter command.
        command: &'static str,
    },
    /// A numeric parameter is not a plain decimal number in range.
    #[error("{command}: invalid number {value:?}")]
    InvalidNumber {
        /// The three-letter command.
        command: &'static str,
        /// The offending text.
        value: String,
    },
}

/// `BYE` codes (msnftp.md §3.7), with their documented meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByeCode {
    /// `16777989` (0x01000305): the receiver got the whole file. The only success code Mariposa sends.
    Success,
    /// `16777987` (0x01000303): documented as "file sent successfully"; accepted as success.
    SuccessSent,
    /// `2147942405` (0x80070005): the receiver could not store the file ("out of disk space").
    WriteFailed,
    /// `2164261682` (0x81000332): the receiver cancelled (receivers send `CCL` in practice).
    ReceiverCancelled,
    /// `2164261683` (0x81000333): the sender cancelled; the receiver acknowledges `01 00 00`.
    SenderCancelled,
    /// `2164261694` (0x8100033E): time-out, the connection is blocked.
    Timeout,
    /// Any other number: "The file transfer failed (code N)".
    Other(u32),
}

impl ByeCode {
    /// The numeric code as written on the wire.
    pub fn code(self) -> u32 {
        match self {
            Self::Success => 16_777_989,
            Self::SuccessSent => 16_777_987,
            Self::WriteFailed => 2_147_942_405,
            Self::ReceiverCancelled => 2_164_261_682,
            Self::SenderCancelled => 2_164_261_683,
            Self::Timeout => 2_164_261_694,
            Self::Other(n) => n,
        }
    }

    /// The typed code for a number; unknown numbers become [`ByeCode::Other`].
    pub fn from_code(code: u32) -> Self {
        match code {
            16_777_989 => Self::Success,
            16_777_987 => Self::SuccessSent,
            2_147_942_405 => Self::WriteFailed,
            2_164_261_682 => Self::ReceiverCancelled,
            2_164_261_683 => Self::SenderCancelled,
            2_164_261_694 => Self::Timeout,
            n => Self::Other(n),
        }
    }

    /// Whether the code reports a successful transfer (`16777989` or `16777987`).
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success | Self::SuccessSent)
    }

    /// A short English description of the code (msnftp.md §3.7).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "the receiver got the whole file",
            Self::SuccessSent => "file sent successfully",
            Self::WriteFailed => "the receiver could not store the file",
            Self::ReceiverCancelled => "the receiver cancelled",
            Self::SenderCancelled => "the sender cancelled",
            Self::Timeout => "time-out: the connection is blocked",
            Self::Other(_) => "unknown failure",
        }
    }
}

impl fmt::Display for ByeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// One MSNFTP line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpCommand {
    /// `VER` followed by dialect tokens (normally just `MSNFTP`; some clients write `VER 0 MSNFTP`).
    Ver(Vec<String>),
    /// `USR account auth-cookie`. The cookie is kept as text: the sender compares it as an exact
    /// decimal string (leading zeros or signs make it unequal, msnftp.md §5.4).
    Usr {
        /// The receiver's own account (e-mail address).
        account: String,
        /// The auth cookie exactly as written.
        cookie: String,
    },
    /// `FIL size`: the number of data bytes that will follow.
    Fil(u64),
    /// `TFR`: start sending data blocks.
    Tfr,
    /// `BYE code`, or `BYE` without a number (`None`, treated as an unknown failure).
    Bye(Option<ByeCode>),
    /// `CCL`: the receiver cancels.
    Ccl,
    /// Any other line, kept as received (without its line end).
    Unknown(String),
}

impl FtpCommand {
    /// `VER MSNFTP`, the only version line Mariposa writes.
    pub fn ver_msnftp() -> Self {
        Self::Ver(vec![MSNFTP.to_owned()])
    }

    /// Whether this is a `VER` line that lists the token `MSNFTP`.
    pub fn offers_msnftp(&self) -> bool {
        matches!(self, Self::Ver(tokens) if tokens.iter().any(|t| t == MSNFTP))
    }

    /// Parses one line (with or without its CR LF / LF). Runs of spaces separate parameters.
    /// Unknown commands are returned as [`FtpCommand::Unknown`]; malformed known ones are errors.
    pub fn parse(line: &[u8]) -> Result<Self, CommandError> {
        let line = strip_line_end(line);
        if line.len() > MAX_LINE_LEN {
            return Err(CommandError::LineTooLong);
        }
        if !line.is_ascii() {
            return Err(CommandError::NotAscii);
        }
        let text = std::str::from_utf8(line).map_err(|_| CommandError::NotAscii)?;
        let mut parts = text.split([' ', '\t']).filter(|p| !p.is_empty());
        let Some(name) = parts.next() else {
            return Err(CommandError::Empty);
        };
        match name {
            "VER" => Ok(Self::Ver(parts.map(str::to_owned).collect())),
            "USR" => {
                let missing = CommandError::MissingParameter { command: "USR" };
                let account = parts.next().ok_or(missing.clone())?;
                let cookie = parts.next().ok_or(missing)?;
                Ok(Self::Usr {
                    account: account.to_owned(),
                    cookie: cookie.to_owned(),
                })
            }
            "FIL" => {
                let value = parts
                    .next()
                    .ok_or(CommandError::MissingParameter { command: "FIL" })?;
                Ok(Self::Fil(parse_decimal("FIL", value)?))
            }
            "TFR" => Ok(Self::Tfr),
            "CCL" => Ok(Self::Ccl),
            "BYE" => match parts.next() {
                None => Ok(Self::Bye(None)),
                Some(value) => {
                    let code = parse_decimal("BYE", value)?;
                    let code = u32::try_from(code).map_err(|_| CommandError::InvalidNumber {
                        command: "BYE",
                        value: value.to_owned(),
                    })?;
                    Ok(Self::Bye(Some(ByeCode::from_code(code))))
                }
            },
            _ => Ok(Self::Unknown(text.to_owned())),
        }
    }

    /// The line as bytes on the wire, ending in CR LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.to_string().into_bytes();
        out.extend_from_slice(b"\r\n");
        out
    }
}

impl fmt::Display for FtpCommand {
    /// The line without its CR LF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ver(tokens) => {
                f.write_str("VER")?;
                for t in tokens {
                    write!(f, " {t}")?;
                }
                Ok(())
            }
            Self::Usr { account, cookie } => write!(f, "USR {account} {cookie}"),
            Self::Fil(size) => write!(f, "FIL {size}"),
            Self::Tfr => f.write_str("TFR"),
            Self::Bye(Some(code)) => write!(f, "BYE {code}"),
            Self::Bye(None) => f.write_str("BYE"),
            Self::Ccl => f.write_str("CCL"),
            Self::Unknown(raw) => f.write_str(raw),
        }
    }
}

/// A plain decimal number: ASCII digits only, no sign, fits in `u64`.
fn parse_decimal(command: &'static str, value: &str) -> Result<u64, CommandError> {
    let invalid = || CommandError::InvalidNumber {
        command,
        value: value.to_owned(),
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits an incoming byte stream into lines (CR LF or bare LF), refusing over-long lines.
/// Bytes after the last complete line stay buffered and can be taken with [`LineReader::take_rest`]
/// when the connection switches to data blocks.
#[derive(Debug, Default, Clone)]
pub struct LineReader {
    buf: Vec<u8>,
}

impl LineReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line without its line end, `Ok(None)` if none is complete yet, or
    /// [`CommandError::LineTooLong`] if more than [`MAX_LINE_LEN`] bytes came without a line end.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, CommandError> {
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let rest = self.buf.split_off(end + 1);
                let line = std::mem::replace(&mut self.buf, rest);
                let body = strip_line_end(&line);
                if body.len() > MAX_LINE_LEN {
                    return Err(CommandError::LineTooLong);
                }
                Ok(Some(body.to_vec()))
            }
            None if self.buf.len() > MAX_LINE_LEN + 1 => Err(CommandError::LineTooLong),
            None => Ok(None),
        }
    }

    /// Takes every buffered byte that is not part of a returned line.
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_line_vectors_are_byte_exact() {
        // msnftp.md §7.3
        assert_eq!(
            FtpCommand::ver_msnftp().to_bytes(),
            [0x56, 0x45, 0x52, 0x20, 0x4d, 0x53, 0x4e, 0x46, 0x54, 0x50, 0x0d, 0x0a]
        );
        assert_eq!(FtpCommand::Tfr.to_bytes(), [0x54, 0x46, 0x52, 0x0d, 0x0a]);
        assert_eq!(FtpCommand::Ccl.to_bytes(), [0x43, 0x43, 0x4c, 0x0d, 0x0a]);
        assert_eq!(
            FtpCommand::Bye(Some(ByeCode::Success)).to_bytes(),
            [0x42, 0x59, 0x45, 0x20, 0x31, 0x36, 0x37, 0x37, 0x37, 0x39, 0x38, 0x39, 0x0d, 0x0a]
        );
    }

    #[test]
    fn transcript_lines_round_trip() {
        let cases: &[(&[u8], FtpCommand)] = &[
            (b"VER MSNFTP\r\n", FtpCommand::ver_msnftp()),
            (
                b"USR bob@example.com 580493217\r\n",
                FtpCommand::Usr {
                    account: "bob@example.com".into(),
                    cookie: "580493217".into(),
                },
            ),
            (b"FIL 5000\r\n", FtpCommand::Fil(5000)),
            (b"FIL 13\r\n", FtpCommand::Fil(13)),
            (b"TFR\r\n", FtpCommand::Tfr),
            (b"BYE 16777989\r\n", FtpCommand::Bye(Some(ByeCode::Success))),
            (b"CCL\r\n", FtpCommand::Ccl),
        ];
        for (bytes, cmd) in cases {
            assert_eq!(&FtpCommand::parse(bytes).unwrap(), cmd);
            assert_eq!(&cmd.to_bytes(), bytes);
        }
        // §4 byte counts: USR line is 31 bytes, FIL 5000 is 10.
        assert_eq!(
            FtpCommand::parse(b"USR bob@example.com 580493217")
                .unwrap()
                .to_bytes()
                .len(),
            31
        );
        assert_eq!(FtpCommand::Fil(5000).to_bytes().len(), 10);
    }

    #[test]
    fn every_bye_code_round_trips_with_meaning() {
        let codes = [
            (16_777_989, ByeCode::Success, true),
            (16_777_987, ByeCode::SuccessSent, true),
            (2_147_942_405, ByeCode::WriteFailed, false),
            (2_164_261_682, ByeCode::ReceiverCancelled, false),
            (2_164_261_683, ByeCode::SenderCancelled, false),
            (2_164_261_694, ByeCode::Timeout, false),
            (42, ByeCode::Other(42), false),
        ];
        for (n, code, ok) in codes {
            assert_eq!(ByeCode::from_code(n), code);
            assert_eq!(code.code(), n);
            assert_eq!(code.is_success(), ok);
            assert!(!code.meaning().is_empty());
            let line = format!("BYE {n}\r\n");
            assert_eq!(
                FtpCommand::parse(line.as_bytes()).unwrap(),
                FtpCommand::Bye(Some(code))
            );
            assert_eq!(FtpCommand::Bye(Some(code)).to_bytes(), line.as_bytes());
        }
        assert_eq!(FtpCommand::parse(b"BYE").unwrap(), FtpCommand::Bye(None));
        assert_eq!(FtpCommand::Bye(None).to_bytes(), b"BYE\r\n");
        assert!(FtpCommand::parse(b"BYE 4294967296").is_err());
        assert!(FtpCommand::parse(b"BYE -1").is_err());
    }

    #[test]
    fn tolerant_reading() {
        assert_eq!(
            FtpCommand::parse(b"VER  0   MSNFTP\n").unwrap(),
            FtpCommand::Ver(vec!["0".into(), "MSNFTP".into()])
        );
        assert!(FtpCommand::parse(b"VER 0 MSNFTP").unwrap().offers_msnftp());
        assert!(FtpCommand::parse(b"VER MSNFTP MSNFTP2")
            .unwrap()
            .offers_msnftp());
        assert!(!FtpCommand::parse(b"VER MSNP8").unwrap().offers_msnftp());
        assert!(!FtpCommand::parse(b"VER").unwrap().offers_msnftp());
        assert!(!FtpCommand::parse(b"VER msnftp").unwrap().offers_msnftp());
        assert_eq!(
            FtpCommand::parse(b"XYZ 1 2").unwrap(),
            FtpCommand::Unknown("XYZ 1 2".into())
        );
        assert_eq!(
            FtpCommand::Unknown("XYZ 1 2".into()).to_bytes(),
            b"XYZ 1 2\r\n"
        );
    }

    #[test]
    fn malformed_lines_are_typed_errors() {
        assert_eq!(FtpCommand::parse(b"\r\n"), Err(CommandError::Empty));
        assert_eq!(FtpCommand::parse(b"   "), Err(CommandError::Empty));
        assert_eq!(
            FtpCommand::parse(b"USR bob@example.com"),
            Err(CommandError::MissingParameter { command: "USR" })
        );
        assert_eq!(
            FtpCommand::parse(b"FIL"),
            Err(CommandError::MissingParameter { command: "FIL" })
        );
        for bad in [
            &b"FIL -5"[..],
            b"FIL +5",
            b"FIL 0x10",
            b"FIL 5a",
            b"FIL 99999999999999999999999",
        ] {
            assert!(matches!(
                FtpCommand::parse(bad),
                Err(CommandError::InvalidNumber { command: "FIL", .. })
            ));
        }
        assert_eq!(FtpCommand::parse(b"FIL \xff"), Err(CommandError::NotAscii));
        assert_eq!(
            FtpCommand::parse(&[b'A'; MAX_LINE_LEN + 1]),
            Err(CommandError::LineTooLong)
        );
    }

    #[test]
    fn line_reader_splits_and_keeps_rest() {
        let mut r = LineReader::new();
        r.push(b"VER MSN");
        assert_eq!(r.next_line().unwrap(), None);
        r.push(b"FTP\r\nFIL 13\n\x00\x0d");
        assert_eq!(r.next_line().unwrap().unwrap(), b"VER MSNFTP");
        assert_eq!(r.next_line().unwrap().unwrap(), b"FIL 13");
        assert_eq!(r.next_line().unwrap(), None);
        assert_eq!(r.take_rest(), b"\x00\x0d");
    }

    #[test]
    fn line_reader_refuses_long_lines() {
        let mut r = LineReader::new();
        r.push(&[b'x'; MAX_LINE_LEN]);
        assert_eq!(r.next_line().unwrap(), None);
        r.push(b"\r");
        assert_eq!(r.next_line().unwrap(), None);
        r.push(b"x");
        assert_eq!(r.next_line(), Err(CommandError::LineTooLong));

        let mut r = LineReader::new();
        let mut long = vec![b'x'; MAX_LINE_LEN + 1];
        long.push(b'\n');
        r.push(&long);
        assert_eq!(r.next_line(), Err(CommandError::LineTooLong));
    }
}
