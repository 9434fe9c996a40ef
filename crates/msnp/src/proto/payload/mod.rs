//! `MSG` payloads (messages.md): parsing every received payload into a typed [`Payload`] and
//! building the payloads a client sends on a switchboard. Pure: no I/O, never panics on input.

pub mod chunked;
pub mod encoded_words;
pub mod format;
pub mod invite;
pub mod mime;
pub mod split;

#[cfg(test)]
mod testutil;

pub use chunked::{ChunkAssembler, ChunkOutcome};
pub use encoded_words::decode_encoded_words;
pub use format::{Rgb, TextFormat};
pub use invite::{CancelCode, Invitation, InviteCommand, InviteError};
pub use mime::MimeMessage;
pub use split::split_text_payloads;

use crate::proto::names::{decode_text_bytes, windows_1252_char};

/// Most payload bytes (headers + body) a client may send in one switchboard `MSG`; the server
/// closes the connection on longer ones (messages.md §5.1).
pub const MAX_SB_PAYLOAD: usize = 1664;
/// Largest incoming payload to accept, in bytes; larger ones are a protocol error (enforced by
/// the framing layer, not by the parsers here).
pub const MAX_INCOMING_PAYLOAD: usize = 65536;

/// Content types, lower-case media types as matched by [`Payload::from_mime`].
pub mod content_type {
    /// Instant message.
    pub const TEXT_PLAIN: &str = "text/plain";
    /// Typing notification.
    pub const CONTROL: &str = "text/x-msmsgscontrol";
    /// Invitation.
    pub const INVITE: &str = "text/x-msmsgsinvite";
    /// Nudge and other datacasts.
    pub const DATACAST: &str = "text/x-msnmsgr-datacast";
    /// Client identification.
    pub const CLIENT_CAPS: &str = "text/x-clientcaps";
    /// Account profile after login.
    pub const PROFILE: &str = "text/x-msmsgsprofile";
    /// Initial e-mail state.
    pub const INITIAL_EMAIL: &str = "text/x-msmsgsinitialemailnotification";
    /// New e-mail.
    pub const NEW_EMAIL: &str = "text/x-msmsgsemailnotification";
    /// Mailbox changes.
    pub const ACTIVE_MAIL: &str = "text/x-msmsgsactivemailnotification";
    /// Server system message.
    pub const SYSTEM_MESSAGE: &str = "application/x-msmsgssystemmessage";
}

/// A received payload, classified by its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `text/plain`: an instant message.
    Text(TextMessage),
    /// `text/x-msmsgscontrol` with `TypingUser`. Trust it only if `user` is the `MSG` sender.
    Typing {
        /// The account named in `TypingUser`, trimmed.
        user: String,
    },
    /// `text/x-msmsgsinvite` with a command and a cookie.
    Invitation(Invitation),
    /// `text/x-msnmsgr-datacast` with `ID: 1`.
    Nudge,
    /// `text/x-msnmsgr-datacast` with another `ID` (wink, voice clip, …), to be ignored.
    Datacast {
        /// The `ID` field, trimmed (empty if missing).
        id: String,
    },
    /// `text/x-clientcaps`.
    ClientCaps {
        /// `Client-Name`, e.g. `Mariposa/0.1`.
        client_name: Option<String>,
        /// `Chat-Logging`.
        logging: Option<ChatLogging>,
    },
    /// `text/x-msmsgsprofile`.
    Profile(Profile),
    /// `text/x-msmsgsinitialemailnotification`.
    InitialEmail {
        /// `Inbox-Unread` (0 if missing or invalid).
        inbox_unread: u32,
        /// `Folders-Unread` (0 if missing or invalid).
        folders_unread: u32,
        /// `Inbox-URL`.
        inbox_url: String,
        /// `Folders-URL`.
        folders_url: String,
        /// `Post-URL`.
        post_url: String,
    },
    /// `text/x-msmsgsemailnotification`.
    NewEmail {
        /// `From`: the sender's name, possibly RFC 2047 encoded ([`decode_encoded_words`]).
        from: String,
        /// `From-Addr`.
        from_addr: String,
        /// `Subject`, possibly RFC 2047 encoded ([`decode_encoded_words`]).
        subject: String,
        /// `Dest-Folder`: `ACTIVE` is the inbox.
        dest_folder: String,
        /// `Message-URL`.
        message_url: String,
        /// `Post-URL`.
        post_url: String,
        /// `id`.
        id: String,
    },
    /// `text/x-msmsgsactivemailnotification`: `delta` unread mails moved between folders.
    ActiveMail {
        /// `Src-Folder`.
        src_folder: String,
        /// `Dest-Folder`.
        dest_folder: String,
        /// `Message-Delta` (0 if missing or invalid).
        delta: u32,
    },
    /// `application/x-msmsgssystemmessage` with a numeric `Type`.
    SystemMessage {
        /// `Type`: 1 announces maintenance.
        kind: i32,
        /// `Arg1`: for type 1 the minutes until shutdown.
        arg1: Option<String>,
    },
    /// Anything else (unknown or missing content type, or a known type without its required
    /// fields): ignore it.
    Unknown {
        /// The lower-case media type, if there was one.
        content_type: Option<String>,
    },
}

/// An instant message (messages.md §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextMessage {
    /// The text, decoded, control characters removed, line breaks as `\n`.
    pub text: String,
    /// `X-MMS-IM-Format`, if present.
    pub format: Option<TextFormat>,
    /// `P4-Context`: a per-message display name; show only as a decoration next to the sender.
    pub p4_context: Option<String>,
    /// `User-Agent` of third-party clients.
    pub user_agent: Option<String>,
    /// `Message-ID` of a chunked message (§5.3).
    pub message_id: Option<String>,
    /// `Chunks`: number of parts, on the first part of a chunked message.
    pub chunks: Option<u32>,
    /// `Chunk`: index of a following part of a chunked message.
    pub chunk: Option<u32>,
}

/// `Chat-Logging` of `text/x-clientcaps`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChatLogging {
    /// `Y`: the client logs chats.
    Yes,
    /// `N`: it does not.
    No,
    /// `S`: it logs securely.
    Secure,
    /// Anything else, verbatim.
    Other(String),
}

impl ChatLogging {
    /// Reads a value (case-insensitive).
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_uppercase().as_str() {
            "Y" => ChatLogging::Yes,
            "N" => ChatLogging::No,
            "S" => ChatLogging::Secure,
            _ => ChatLogging::Other(value.trim().to_string()),
        }
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            ChatLogging::Yes => "Y",
            ChatLogging::No => "N",
            ChatLogging::Secure => "S",
            ChatLogging::Other(s) => s,
        }
    }
}

/// The account profile sent right after login (messages.md §2.1). Typed fields are `None` when
/// absent, empty or invalid; every header is kept in `headers`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// `LoginTime`, Unix seconds.
    pub login_time: Option<i64>,
    /// `EmailEnabled: 1`.
    pub email_enabled: bool,
    /// `MemberIdHigh` (signed or unsigned decimal).
    pub member_id_high: Option<i64>,
    /// `MemberIdLow` (signed or unsigned decimal).
    pub member_id_low: Option<i64>,
    /// `lang_preference`, a Windows locale id.
    pub lang_preference: Option<u32>,
    /// `preferredEmail`.
    pub preferred_email: Option<String>,
    /// `country`.
    pub country: Option<String>,
    /// `Kid: 1`: a child account.
    pub kid: bool,
    /// `Flags`.
    pub flags: Option<i64>,
    /// `sid`.
    pub sid: Option<String>,
    /// `kv`.
    pub kv: Option<String>,
    /// `MSPAuth`, the Passport cookie for web services.
    pub mspauth: Option<String>,
    /// `ClientIP`: the public address as the server sees it.
    pub client_ip: Option<String>,
    /// `ClientPort` (possibly byte-swapped by historical servers; informational).
    pub client_port: Option<u16>,
    /// Every header, in order.
    pub headers: Vec<(String, String)>,
}

impl Profile {
    /// Reads the profile headers of a message.
    pub fn from_mime(msg: &MimeMessage) -> Profile {
        let text = |name: &str| {
            msg.header(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let num = |name: &str| text(name).and_then(|v| v.parse::<i64>().ok());
        Profile {
            login_time: num("LoginTime"),
            email_enabled: text("EmailEnabled").as_deref() == Some("1"),
            member_id_high: num("MemberIdHigh"),
            member_id_low: num("MemberIdLow"),
            lang_preference: text("lang_preference").and_then(|v| v.parse().ok()),
            preferred_email: text("preferredEmail"),
            country: text("country"),
            kid: text("Kid").as_deref() == Some("1"),
            flags: num("Flags"),
            sid: text("sid"),
            kv: text("kv"),
            mspauth: text("MSPAuth"),
            client_ip: text("ClientIP"),
            client_port: text("ClientPort").and_then(|v| v.parse().ok()),
            headers: msg.headers.clone(),
        }
    }

    /// The 64-bit Passport member id from its two 32-bit halves (each may be sent signed).
    pub fn member_id(&self) -> Option<u64> {
        let half = |v: i64| {
            u32::try_from(v)
                .ok()
                .or_else(|| i32::try_from(v).ok().map(|s| s as u32))
        };
        let high = half(self.member_id_high?)?;
        let low = half(self.member_id_low?)?;
        Some(u64::from(high) << 32 | u64::from(low))
    }

    /// `ClientIP` as an IPv4 address, if it is one.
    pub fn client_ipv4(&self) -> Option<std::net::Ipv4Addr> {
        self.client_ip.as_deref()?.parse().ok()
    }

    /// Any header by name (case-insensitive, last one wins), e.g. `PostalCode`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Payload {
    /// Parses and classifies a payload; never fails (unknown input gives [`Payload::Unknown`]).
    pub fn parse(payload: &[u8]) -> Payload {
        Payload::from_mime(&MimeMessage::parse(payload))
    }

    /// Classifies an already parsed message (e.g. a reassembled chunked one).
    pub fn from_mime(msg: &MimeMessage) -> Payload {
        let Some(ct) = msg.content_type() else {
            return Payload::Unknown { content_type: None };
        };
        let unknown = || Payload::Unknown {
            content_type: Some(ct.clone()),
        };
        match ct.as_str() {
            content_type::TEXT_PLAIN => Payload::Text(TextMessage::from_mime(msg)),
            content_type::CONTROL => match msg.header("TypingUser").map(str::trim) {
                Some(user) if !user.is_empty() => Payload::Typing {
                    user: user.to_string(),
                },
                _ => unknown(),
            },
            content_type::INVITE => match Invitation::parse(&msg.body) {
                Ok(invitation) => Payload::Invitation(invitation),
                Err(_) => unknown(),
            },
            content_type::DATACAST => {
                let fields = Fields::parse(&msg.body);
                let id = fields.text("ID");
                if id == "1" {
                    Payload::Nudge
                } else {
                    Payload::Datacast { id }
                }
            }
            content_type::CLIENT_CAPS => {
                let fields = Fields::parse(&msg.body);
                Payload::ClientCaps {
                    client_name: fields.get("Client-Name").map(str::to_string),
                    logging: fields.get("Chat-Logging").map(ChatLogging::parse),
                }
            }
            content_type::PROFILE => Payload::Profile(Profile::from_mime(msg)),
            content_type::INITIAL_EMAIL => {
                let f = Fields::parse(&msg.body);
                Payload::InitialEmail {
                    inbox_unread: f.count("Inbox-Unread"),
                    folders_unread: f.count("Folders-Unread"),
                    inbox_url: f.text("Inbox-URL"),
                    folders_url: f.text("Folders-URL"),
                    post_url: f.text("Post-URL"),
                }
            }
            content_type::NEW_EMAIL => {
                let f = Fields::parse(&msg.body);
                Payload::NewEmail {
                    from: f.text("From"),
                    from_addr: f.text("From-Addr"),
                    subject: f.text("Subject"),
                    dest_folder: f.text("Dest-Folder"),
                    message_url: f.text("Message-URL"),
                    post_url: f.text("Post-URL"),
                    id: f.text("id"),
                }
            }
            content_type::ACTIVE_MAIL => {
                let f = Fields::parse(&msg.body);
                Payload::ActiveMail {
                    src_folder: f.text("Src-Folder"),
                    dest_folder: f.text("Dest-Folder"),
                    delta: f.count("Message-Delta"),
                }
            }
            content_type::SYSTEM_MESSAGE => {
                let f = Fields::parse(&msg.body);
                match f.get("Type").and_then(|t| t.parse::<i32>().ok()) {
                    Some(kind) => Payload::SystemMessage {
                        kind,
                        arg1: f.get("Arg1").map(str::to_string),
                    },
                    None => unknown(),
                }
            }
            _ => unknown(),
        }
    }

    /// For `SystemMessage` type 1: the minutes until the server shuts down for maintenance.
    pub fn maintenance_minutes(&self) -> Option<u32> {
        match self {
            Payload::SystemMessage {
                kind: 1,
                arg1: Some(arg),
            } => arg.trim().parse().ok(),
            _ => None,
        }
    }

    /// For `ActiveMail`: how the inbox unread count changes (negative when mails left the inbox).
    pub fn inbox_delta(&self) -> i64 {
        match self {
            Payload::ActiveMail {
                src_folder,
                dest_folder,
                delta,
            } => {
                let mut change = 0;
                if src_folder.eq_ignore_ascii_case("ACTIVE") {
                    change -= i64::from(*delta);
                }
                if dest_folder.eq_ignore_ascii_case("ACTIVE") {
                    change += i64::from(*delta);
                }
                change
            }
            Payload::NewEmail { dest_folder, .. } if dest_folder.eq_ignore_ascii_case("ACTIVE") => {
                1
            }
            _ => 0,
        }
    }
}

impl TextMessage {
    /// Reads a `text/plain` message: decodes the body by its charset (§3.1), strips control
    /// characters other than tab and line breaks, normalises line breaks to `\n`.
    pub fn from_mime(msg: &MimeMessage) -> TextMessage {
        let header = |name: &str| {
            msg.header(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        TextMessage {
            text: clean_text(&decode_body(&msg.body, msg.charset().as_deref())),
            format: msg.header("X-MMS-IM-Format").map(TextFormat::parse),
            p4_context: header("P4-Context"),
            user_agent: header("User-Agent"),
            message_id: header("Message-ID"),
            chunks: header("Chunks").and_then(|v| v.parse().ok()),
            chunk: header("Chunk").and_then(|v| v.parse().ok()),
        }
    }
}

/// Decodes a text body by its `charset` parameter: UTF-8 (or an unknown charset) is read as
/// UTF-8 with a Windows-1252 fallback; a missing charset or ISO-8859-1 / US-ASCII / Windows-1252
/// is read as Windows-1252 (the superset browsers use for ISO-8859-1). Never fails.
pub fn decode_body(body: &[u8], charset: Option<&str>) -> String {
    let latin1 = match charset.map(|c| c.trim().to_ascii_lowercase()) {
        None => true,
        Some(c) => matches!(
            c.as_str(),
            "iso-8859-1" | "iso8859-1" | "latin1" | "us-ascii" | "windows-1252" | "cp1252"
        ),
    };
    if latin1 {
        body.iter().copied().map(windows_1252_char).collect()
    } else {
        decode_text_bytes(body.to_vec())
    }
}

/// Normalises CR LF, lone CR and lone LF to `\n` and removes control characters other than tab
/// and line feed (including NUL and C1 controls).
pub fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Converts every line break (CR LF, lone CR, lone LF) to CR LF, as text bodies are sent.
pub fn to_crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// Parses a body of `Field: value` lines (CR LF or LF, values trimmed, lines that are not UTF-8
/// decoded as Windows-1252, lines without `:` skipped).
pub fn parse_fields(body: &[u8]) -> Vec<(String, String)> {
    mime::parse_lines(body, true, |line| decode_text_bytes(line.to_vec()))
}

/// Body fields with case-insensitive, last-one-wins lookup.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn parse(body: &[u8]) -> Self {
        Fields(parse_fields(body))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    fn count(&self, name: &str) -> u32 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// The content type of text messages, as sent.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

/// Builds a text payload from a body already in CR LF form.
pub(crate) fn build_text(body_crlf: &[u8], format: Option<&TextFormat>) -> Vec<u8> {
    match format {
        Some(format) => {
            let value = format.to_header_value();
            mime::build(TEXT_CONTENT_TYPE, &[("X-MMS-IM-Format", &value)], body_crlf)
        }
        None => mime::build(TEXT_CONTENT_TYPE, &[], body_crlf),
    }
}

/// An instant message with formatting; line breaks in `text` are sent as CR LF. Check the size
/// against [`MAX_SB_PAYLOAD`] or use [`split_text_payloads`].
pub fn text_message(text: &str, format: &TextFormat) -> Vec<u8> {
    build_text(to_crlf(text).as_bytes(), Some(format))
}

/// An instant message without `X-MMS-IM-Format`; line breaks are sent as CR LF.
pub fn text_message_plain(text: &str) -> Vec<u8> {
    build_text(to_crlf(text).as_bytes(), None)
}

/// A typing notification for account `user` (body: one empty line, §3.2).
pub fn typing(user: &str) -> Vec<u8> {
    mime::build(content_type::CONTROL, &[("TypingUser", user)], b"\r\n")
}

/// A nudge (`text/x-msnmsgr-datacast`, `ID: 1`, §3.4).
pub fn nudge() -> Vec<u8> {
    mime::build(content_type::DATACAST, &[], b"ID: 1\r\n\r\n")
}

/// A client identification (`text/x-clientcaps`, §3.5).
pub fn client_caps(name: &str, logging: &ChatLogging) -> Vec<u8> {
    let mut body = Vec::new();
    mime::push_header(&mut body, "Client-Name", name);
    mime::push_header(&mut body, "Chat-Logging", logging.as_str());
    body.extend_from_slice(b"\r\n");
    mime::build(content_type::CLIENT_CAPS, &[], &body)
}

/// A profile message (`text/x-msmsgsprofile`, messages.md §2.1) as a server sends it right
/// after `USR … OK`: the fields of the reference example in its order, Passport data left empty,
/// `ClientIP`/`ClientPort` as the server sees the client's connection.
pub fn profile(
    preferred_email: &str,
    login_time: u64,
    client_ip: &str,
    client_port: u16,
) -> Vec<u8> {
    let login_time = login_time.to_string();
    let client_port = client_port.to_string();
    mime::build(
        "text/x-msmsgsprofile; charset=UTF-8",
        &[
            ("LoginTime", &login_time),
            ("EmailEnabled", "0"),
            ("MemberIdHigh", "0"),
            ("MemberIdLow", "0"),
            ("lang_preference", "1033"),
            ("preferredEmail", preferred_email),
            ("country", ""),
            ("PostalCode", ""),
            ("Gender", ""),
            ("Kid", "0"),
            ("Age", ""),
            ("BDayPre", ""),
            ("Birthday", ""),
            ("Wallet", ""),
            ("Flags", "1027"),
            ("sid", "507"),
            ("kv", "4"),
            ("MSPAuth", "0"),
            ("ClientIP", client_ip),
            ("ClientPort", &client_port),
        ],
        b"",
    )
}

/// An invitation payload (same as [`Invitation::build`]).
pub fn invitation(invitation: &Invitation) -> Vec<u8> {
    invitation.build()
}

#[cfg(test)]
mod tests {
    use super::testutil::example;
    use super::*;

    fn text_of(payload: &[u8]) -> TextMessage {
        match Payload::parse(payload) {
            Payload::Text(t) => t,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn built_profile_reads_back() {
        let bytes = profile("alice@example.com", 1056561624, "127.0.0.1", 40000);
        let Payload::Profile(p) = Payload::parse(&bytes) else {
            panic!("not a profile");
        };
        assert_eq!(p.client_ipv4(), Some(std::net::Ipv4Addr::LOCALHOST));
        assert_eq!(p.client_port, Some(40000));
        assert_eq!(p.login_time, Some(1056561624));
        assert_eq!(p.preferred_email.as_deref(), Some("alice@example.com"));
        assert_eq!(p.header("PostalCode"), Some(""));
        assert!(bytes.ends_with(b"ClientPort: 40000\r\n\r\n"));
    }

    // messages.md §2.1
    #[test]
    fn profile_example() {
        let (len, bytes) = example(
            r#"
            S: MSG Hotmail Hotmail 430
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/x-msmsgsprofile; charset=UTF-8\r\n
            S| LoginTime: 1056561624\r\n
            S| EmailEnabled: 1\r\n
            S| MemberIdHigh: 85040\r\n
            S| MemberIdLow: -517030579\r\n
            S| lang_preference: 1033\r\n
            S| preferredEmail: alice@example.com\r\n
            S| country: US\r\n
            S| PostalCode: \r\n
            S| Gender: \r\n
            S| Kid: 0\r\n
            S| Age: \r\n
            S| BDayPre: \r\n
            S| Birthday: \r\n
            S| Wallet: \r\n
            S| Flags: 1027\r\n
            S| sid: 507\r\n
            S| kv: 4\r\n
            S| MSPAuth: 7Ya2Gc4KRvbY0xhJr5ZxXEhVQ0Ssp2Sz2bLh8vw6WbA$$\r\n
            S| ClientIP: 198.51.100.7\r\n
            S| ClientPort: 22738\r\n
            S| \r\n
            "#,
        );
        assert_eq!(len, 430);
        let Payload::Profile(p) = Payload::parse(&bytes) else {
            panic!("not a profile");
        };
        assert_eq!(p.login_time, Some(1_056_561_624));
        assert!(p.email_enabled);
        assert_eq!(p.member_id_high, Some(85040));
        assert_eq!(p.member_id_low, Some(-517_030_579));
        assert_eq!(
            p.member_id(),
            Some(85040u64 << 32 | u64::from((-517_030_579i32) as u32))
        );
        assert_eq!(p.lang_preference, Some(1033));
        assert_eq!(p.preferred_email.as_deref(), Some("alice@example.com"));
        assert_eq!(p.country.as_deref(), Some("US"));
        assert!(!p.kid);
        assert_eq!(p.flags, Some(1027));
        assert_eq!(p.sid.as_deref(), Some("507"));
        assert_eq!(p.kv.as_deref(), Some("4"));
        assert_eq!(
            p.mspauth.as_deref(),
            Some("7Ya2Gc4KRvbY0xhJr5ZxXEhVQ0Ssp2Sz2bLh8vw6WbA$$")
        );
        assert_eq!(
            p.client_ipv4(),
            Some(std::net::Ipv4Addr::new(198, 51, 100, 7))
        );
        assert_eq!(p.client_port, Some(22738));
        assert_eq!(p.header("postalcode"), Some(""));
        assert_eq!(p.headers.len(), 22);
    }

    // msnp8.md: the Escargot form with empty values written as `Name:` and later fields.
    #[test]
    fn profile_escargot_form() {
        let bytes = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: 1795481013\r\nEmailEnabled: 0\r\nMemberIdHigh: 780774325\r\nMemberIdLow: 418053116\r\npreferredEmail:\r\ncountry:\r\nKid: 0\r\nMSPAuth: abc&p=\r\nClientIP: 198.51.100.23\r\nClientPort: 51268\r\nABCHMigrated: 1\r\n\r\n";
        let Payload::Profile(p) = Payload::parse(bytes) else {
            panic!("not a profile");
        };
        assert!(!p.email_enabled);
        assert_eq!(p.preferred_email, None);
        assert_eq!(p.country, None);
        assert_eq!(p.kv, None);
        assert_eq!(p.mspauth.as_deref(), Some("abc&p="));
        assert_eq!(p.member_id(), Some(780_774_325u64 << 32 | 418_053_116));
        assert_eq!(p.header("ABCHMigrated"), Some("1"));
    }

    // messages.md §2.2
    #[test]
    fn initial_email_example() {
        let (len, bytes) = example(
            r#"
            S: MSG Hotmail Hotmail 221
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/x-msmsgsinitialemailnotification; charset=UTF-8\r\n
            S| \r\n
            S| Inbox-Unread: 2\r\n
            S| Folders-Unread: 0\r\n
            S| Inbox-URL: /cgi-bin/HoTMaiL\r\n
            S| Folders-URL: /cgi-bin/folders\r\n
            S| Post-URL: http://www.hotmail.com\r\n
            S| \r\n
            "#,
        );
        assert_eq!(len, 221);
        assert_eq!(
            Payload::parse(&bytes),
            Payload::InitialEmail {
                inbox_unread: 2,
                folders_unread: 0,
                inbox_url: "/cgi-bin/HoTMaiL".into(),
                folders_url: "/cgi-bin/folders".into(),
                post_url: "http://www.hotmail.com".into(),
            }
        );
    }

    // messages.md §2.3
    #[test]
    fn new_email_example() {
        let (len, bytes) = example(
            r#"
            S: MSG Hotmail Hotmail 334
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/x-msmsgsemailnotification; charset=UTF-8\r\n
            S| \r\n
            S| From: Bob\r\n
            S| Message-URL: /cgi-bin/getmsg?msg=MSG1056562001.13&start=2310&len=2059&curmbox=ACTIVE\r\n
            S| Post-URL: https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033\r\n
            S| Subject: Lunch on Friday?\r\n
            S| Dest-Folder: ACTIVE\r\n
            S| From-Addr: bob@example.com\r\n
            S| id: 2\r\n
            S| \r\n
            "#,
        );
        assert_eq!(len, 334);
        let payload = Payload::parse(&bytes);
        assert_eq!(
            payload,
            Payload::NewEmail {
                from: "Bob".into(),
                from_addr: "bob@example.com".into(),
                subject: "Lunch on Friday?".into(),
                dest_folder: "ACTIVE".into(),
                message_url:
                    "/cgi-bin/getmsg?msg=MSG1056562001.13&start=2310&len=2059&curmbox=ACTIVE".into(),
                post_url: "https://loginnet.passport.com/ppsecure/md5auth.srf?lc=1033".into(),
                id: "2".into(),
            }
        );
        assert_eq!(payload.inbox_delta(), 1);
    }

    #[test]
    fn new_email_with_encoded_words() {
        let bytes = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsemailnotification; charset=UTF-8\r\n\r\nFrom: =?ISO-8859-1?Q?Ren=E9?=\r\nSubject: =?UTF-8?B?Q2Fmw6k=?=\r\nDest-Folder: trAsH\r\n\r\n";
        let payload = Payload::parse(bytes);
        let Payload::NewEmail { from, subject, .. } = &payload else {
            panic!("not a new e-mail");
        };
        assert_eq!(decode_encoded_words(from), "René");
        assert_eq!(decode_encoded_words(subject), "Café");
        assert_eq!(payload.inbox_delta(), 0);
    }

    // messages.md §2.4
    #[test]
    fn active_mail_example() {
        let (len, bytes) = example(
            r#"
            S: MSG Hotmail Hotmail 147
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/x-msmsgsactivemailnotification; charset=UTF-8\r\n
            S| \r\n
            S| Src-Folder: ACTIVE\r\n
            S| Dest-Folder: trAsH\r\n
            S| Message-Delta: 1\r\n
            S| \r\n
            "#,
        );
        assert_eq!(len, 147);
        let payload = Payload::parse(&bytes);
        assert_eq!(
            payload,
            Payload::ActiveMail {
                src_folder: "ACTIVE".into(),
                dest_folder: "trAsH".into(),
                delta: 1,
            }
        );
        assert_eq!(payload.inbox_delta(), -1);
    }

    // messages.md §2.5
    #[test]
    fn system_message_example() {
        let (len, bytes) = example(
            r#"
            S: MSG Hotmail Hotmail 88
            S| MIME-Version: 1.0\r\n
            S| Content-Type: application/x-msmsgssystemmessage\r\n
            S| \r\n
            S| Type: 1\r\n
            S| Arg1: 5\r\n
            "#,
        );
        assert_eq!(len, 88);
        let payload = Payload::parse(&bytes);
        assert_eq!(
            payload,
            Payload::SystemMessage {
                kind: 1,
                arg1: Some("5".into())
            }
        );
        assert_eq!(payload.maintenance_minutes(), Some(5));
        let other = Payload::parse(
            b"MIME-Version: 1.0\r\nContent-Type: application/x-msmsgssystemmessage\r\n\r\nType: 7\r\n",
        );
        assert_eq!(
            other,
            Payload::SystemMessage {
                kind: 7,
                arg1: None
            }
        );
        assert_eq!(other.maintenance_minutes(), None);
    }

    // messages.md §3.1
    #[test]
    fn text_example_formatted() {
        let (len, bytes) = example(
            r#"
            C: MSG 4 N 133
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/plain; charset=UTF-8\r\n
            C| X-MMS-IM-Format: FN=Arial; EF=I; CO=0; CS=0; PF=22\r\n
            C| \r\n
            C| Hello! How are you?
            "#,
        );
        assert_eq!(len, 133);
        let t = text_of(&bytes);
        assert_eq!(t.text, "Hello! How are you?");
        let format = t.format.clone().expect("format");
        assert_eq!(format.font, "Arial");
        assert!(format.italic);
        assert_eq!(format.pitch_family, 0x22);
        assert_eq!(text_message(&t.text, &format), bytes);
    }

    // messages.md §3.1, non-ASCII
    #[test]
    fn text_example_non_ascii() {
        let (len, bytes) = example(
            r#"
            C: MSG 5 N 145
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/plain; charset=UTF-8\r\n
            C| X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=0; PF=22\r\n
            C| \r\n
            C| Schöne Grüße!\r\n
            C| Zoë 😀
            "#,
        );
        assert_eq!(len, 145);
        let t = text_of(&bytes);
        assert_eq!(t.text, "Schöne Grüße!\nZoë 😀");
        let format = t.format.clone().expect("format");
        assert_eq!(format, TextFormat::with_font("Segoe UI"));
        assert_eq!(text_message(&t.text, &format), bytes);
        assert_eq!(text_message("Schöne Grüße!\r\nZoë 😀", &format), bytes);
    }

    // messages.md §3.1, without formatting
    #[test]
    fn text_example_plain() {
        let (len, bytes) = example(
            r#"
            C: MSG 6 N 82
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/plain; charset=UTF-8\r\n
            C| \r\n
            C| no formatting at all
            "#,
        );
        assert_eq!(len, 82);
        let t = text_of(&bytes);
        assert_eq!(t.text, "no formatting at all");
        assert_eq!(t.format, None);
        assert_eq!(text_message_plain(&t.text), bytes);
    }

    // messages.md §4, every parameter
    #[test]
    fn text_example_every_format_parameter() {
        let (len, bytes) = example(
            r#"
            S: MSG bob@example.com Bob 154
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/plain; charset=UTF-8\r\n
            S| X-MMS-IM-Format: FN=Times%20New%20Roman; EF=BU; CO=ff; CS=0; PF=12; RL=1\r\n
            S| \r\n
            S| right-to-left text
            "#,
        );
        assert_eq!(len, 154);
        let t = text_of(&bytes);
        assert_eq!(t.text, "right-to-left text");
        let f = t.format.clone().expect("format");
        assert_eq!(f.font, "Times New Roman");
        assert!(f.bold && f.underline && !f.italic && !f.strikethrough && f.right_to_left);
        assert_eq!(f.color, Rgb::new(255, 0, 0));
        assert_eq!((f.charset, f.pitch_family), (0, 0x12));
        assert_eq!(text_message(&t.text, &f), bytes);
    }

    // transcripts.md / msnp8.md text messages.
    #[test]
    fn text_examples_from_transcripts() {
        let (_, bytes) = example(
            r#"
            C: MSG 3 A 142
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/plain; charset=UTF-8\r\n
            C| X-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n
            C| \r\n
            C| Hello dave from carol (MSNP8)
            "#,
        );
        let t = text_of(&bytes);
        assert_eq!(
            text_message(&t.text, &t.format.clone().expect("format")),
            bytes
        );
        let (_, bytes) = example(
            r#"
            S: MSG dave@example.com Dave 97
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/plain; charset=UTF-8\r\n
            S| \r\n
            S| Hi carol! (reply, ack N, café ☺)
            "#,
        );
        assert_eq!(text_of(&bytes).text, "Hi carol! (reply, ack N, café ☺)");
        assert_eq!(
            text_message_plain("Hi carol! (reply, ack N, café ☺)"),
            bytes
        );
    }

    // messages.md §3.2
    #[test]
    fn typing_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 7 U 90
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msmsgscontrol\r\n
            C| TypingUser: alice@example.com\r\n
            C| \r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 90);
        assert_eq!(
            Payload::parse(&bytes),
            Payload::Typing {
                user: "alice@example.com".into()
            }
        );
        assert_eq!(typing("alice@example.com"), bytes);
        // An empty body is accepted too, and so is a missing final empty line.
        let short =
            b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.c\r\n\r\n";
        assert!(matches!(Payload::parse(short), Payload::Typing { .. }));
        let shorter =
            b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: a@b.c\r\n";
        assert!(matches!(Payload::parse(shorter), Payload::Typing { .. }));
    }

    // messages.md §3.4
    #[test]
    fn nudge_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 8 N 69
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msnmsgr-datacast\r\n
            C| \r\n
            C| ID: 1\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 69);
        assert_eq!(Payload::parse(&bytes), Payload::Nudge);
        assert_eq!(nudge(), bytes);
        let wink =
            b"MIME-Version: 1.0\r\nContent-Type: text/x-msnmsgr-datacast\r\n\r\nID: 2\r\n\r\n";
        assert_eq!(Payload::parse(wink), Payload::Datacast { id: "2".into() });
    }

    // messages.md §3.5
    #[test]
    fn client_caps_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 9 U 100
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-clientcaps\r\n
            C| \r\n
            C| Client-Name: Mariposa/0.1\r\n
            C| Chat-Logging: Y\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 100);
        assert_eq!(
            Payload::parse(&bytes),
            Payload::ClientCaps {
                client_name: Some("Mariposa/0.1".into()),
                logging: Some(ChatLogging::Yes),
            }
        );
        assert_eq!(client_caps("Mariposa/0.1", &ChatLogging::Yes), bytes);
    }

    #[test]
    fn text_charsets() {
        // Bare text/plain is ISO-8859-1.
        let t = text_of(b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nCaf\xe9 \xa3");
        assert_eq!(t.text, "Café £");
        // Declared UTF-8 that is not: Windows-1252 fallback.
        let t = text_of(b"Content-Type: text/plain; charset=UTF-8\r\n\r\nCaf\xe9 \x80");
        assert_eq!(t.text, "Café €");
        // Unknown charset: UTF-8 first.
        let t = text_of("Content-Type: text/plain; charset=x-unknown\r\n\r\nCafé".as_bytes());
        assert_eq!(t.text, "Café");
        // Explicit ISO-8859-1 with odd case and quotes.
        let t = text_of(b"Content-Type: TEXT/PLAIN; CHARSET=\"iso-8859-1\"\r\n\r\n\xfc");
        assert_eq!(t.text, "ü");
    }

    #[test]
    fn text_line_breaks_and_controls() {
        let t = text_of(b"Content-Type: text/plain; charset=UTF-8\r\n\r\na\r\nb\rc\nd\te\x00f\x07g\x1b[0m\xc2\x85h");
        assert_eq!(t.text, "a\nb\nc\nd\tef\x67[0mh");
        assert_eq!(
            text_message_plain("a\nb\rc\r\nd"),
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\na\r\nb\r\nc\r\nd"
        );
    }

    #[test]
    fn text_optional_headers() {
        let t = text_of(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nUser-Agent: pidgin/2.0\r\nP4-Context: Captain \r\nMessage-ID: {X}\r\nChunks: 3\r\n\r\nhi");
        assert_eq!(t.user_agent.as_deref(), Some("pidgin/2.0"));
        assert_eq!(t.p4_context.as_deref(), Some("Captain"));
        assert_eq!(t.message_id.as_deref(), Some("{X}"));
        assert_eq!((t.chunks, t.chunk), (Some(3), None));
    }

    #[test]
    fn unknown_and_missing_content_types() {
        assert_eq!(
            Payload::parse(
                b"MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\n\r\n\x00\x01"
            ),
            Payload::Unknown {
                content_type: Some("application/x-msnmsgrp2p".into())
            }
        );
        assert_eq!(
            Payload::parse(b"MIME-Version: 1.0\r\n\r\nhello"),
            Payload::Unknown { content_type: None }
        );
        assert_eq!(Payload::parse(b""), Payload::Unknown { content_type: None });
        // Known types without their required fields.
        for bytes in [
            &b"Content-Type: text/x-msmsgscontrol\r\n\r\n\r\n"[..],
            b"Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: x\r\n",
            b"Content-Type: application/x-msmsgssystemmessage\r\n\r\nType: x\r\n",
        ] {
            assert!(matches!(
                Payload::parse(bytes),
                Payload::Unknown {
                    content_type: Some(_)
                }
            ));
        }
    }

    #[test]
    fn bodies_without_blank_line_or_with_garbage() {
        // No blank line at all: all headers, empty body.
        let t = text_of(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8");
        assert_eq!(t.text, "");
        // LF-only e-mail notification.
        let p = Payload::parse(b"Content-Type: text/x-msmsgsinitialemailnotification\n\nInbox-Unread: x\nFolders-Unread: 4\n");
        assert!(matches!(
            p,
            Payload::InitialEmail {
                inbox_unread: 0,
                folders_unread: 4,
                ..
            }
        ));
        // Random bytes never panic.
        const ALPHABET: &[u8] = b"\r\n: =;%Content-Type text/plain x-msmsgsinvite\xff\xc3";
        let mut state = 0x1234_5678_u32;
        for len in 0..512 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    ALPHABET[state as usize % ALPHABET.len()]
                })
                .collect();
            let _ = Payload::parse(&bytes);
        }
    }

    #[test]
    fn invalid_co_in_a_message_gives_default_colour() {
        let t = text_of(b"Content-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; CO=zzzzzzzz; EF=B\r\n\r\nx");
        let f = t.format.expect("format");
        assert_eq!(f.color, Rgb::default());
        assert!(f.bold);
    }

    #[test]
    fn builders_fit_the_switchboard_limit() {
        assert!(typing(&"a".repeat(129)).len() < MAX_SB_PAYLOAD);
        assert!(client_caps("Mariposa/0.1", &ChatLogging::No).len() < MAX_SB_PAYLOAD);
        assert_eq!(ChatLogging::parse("s"), ChatLogging::Secure);
        assert_eq!(ChatLogging::parse(" n "), ChatLogging::No);
        assert_eq!(
            ChatLogging::parse("maybe"),
            ChatLogging::Other("maybe".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = Payload::parse(&bytes);
            let mut with_type = b"Content-Type: text/x-msmsgsinvite\r\n\r\n".to_vec();
            with_type.extend_from_slice(&bytes);
            let _ = Payload::parse(&with_type);
        }

        #[test]
        fn text_round_trips(text in "(\\PC|[\r\n\t]){0,300}", formatted in proptest::prelude::any::<bool>()) {
            let bytes = if formatted {
                text_message(&text, &TextFormat::with_font("Arial"))
            } else {
                text_message_plain(&text)
            };
            let parsed = text_of(&bytes);
            proptest::prop_assert_eq!(parsed.text, clean_text(&text));
            proptest::prop_assert_eq!(parsed.format.is_some(), formatted);
        }
    }
}
