//! Invitation messages (`text/x-msmsgsinvite`): INVITE / ACCEPT / CANCEL negotiations of
//! out-of-band applications such as MSNFTP file transfer (messages.md §3.3, msnftp.md §2).

use super::mime;
use super::parse_fields;

/// Content type of invitation messages, as sent.
pub const INVITE_CONTENT_TYPE: &str = "text/x-msmsgsinvite; charset=UTF-8";

/// Application GUID of file transfer (MSNFTP).
pub const MSNFTP_GUID: &str = "{5D3E02AB-6190-11d3-BBBB-00C04F795683}";
/// Application GUID of voice conversations.
pub const VOICE_GUID: &str = "{02D3C01F-BF30-4825-A83A-DE7AF41648AA}";
/// Application GUID of NetMeeting.
pub const NETMEETING_GUID: &str = "{44BBA842-CC51-11CF-AAFA-00AA00B6015C}";
/// Application GUID of Remote Assistance.
pub const REMOTE_ASSISTANCE_GUID: &str = "{56b994a7-380f-410b-9985-c809d78c1bdc}";

/// `Application-Name` of file transfer (display text only).
pub const FILE_TRANSFER_APP_NAME: &str = "File Transfer";

/// XOR mask between `Port` and `PortX` (msnftp.md §2.2).
pub const PORTX_MASK: u16 = 0x3141;

/// The only `Request-Data` value: asks the other side for its address.
pub const REQUEST_DATA_IP: &str = "IP-Address:";

/// `Port` XOR 0x3141, the `PortX` value (msnftp.md §7.4); applied twice it gives the port back.
pub fn port_x(port: u16) -> u16 {
    port ^ PORTX_MASK
}

/// Field names, spelled exactly as they are sent.
pub mod field {
    /// `Application-Name`.
    pub const APPLICATION_NAME: &str = "Application-Name";
    /// `Application-GUID`.
    pub const APPLICATION_GUID: &str = "Application-GUID";
    /// `Invitation-Command`.
    pub const INVITATION_COMMAND: &str = "Invitation-Command";
    /// `Invitation-Cookie`.
    pub const INVITATION_COOKIE: &str = "Invitation-Cookie";
    /// `Application-File`.
    pub const APPLICATION_FILE: &str = "Application-File";
    /// `Application-FileSize`.
    pub const APPLICATION_FILE_SIZE: &str = "Application-FileSize";
    /// `Connectivity`.
    pub const CONNECTIVITY: &str = "Connectivity";
    /// `Launch-Application`.
    pub const LAUNCH_APPLICATION: &str = "Launch-Application";
    /// `Request-Data`.
    pub const REQUEST_DATA: &str = "Request-Data";
    /// `IP-Address`.
    pub const IP_ADDRESS: &str = "IP-Address";
    /// `IP-Address-Internal`.
    pub const IP_ADDRESS_INTERNAL: &str = "IP-Address-Internal";
    /// `Port`.
    pub const PORT: &str = "Port";
    /// `PortX`.
    pub const PORTX: &str = "PortX";
    /// `PortX-Internal`.
    pub const PORTX_INTERNAL: &str = "PortX-Internal";
    /// `AuthCookie`.
    pub const AUTH_COOKIE: &str = "AuthCookie";
    /// `Sender-Connect`.
    pub const SENDER_CONNECT: &str = "Sender-Connect";
    /// `Cancel-Code`.
    pub const CANCEL_CODE: &str = "Cancel-Code";
}

/// The `Invitation-Command` of an invitation message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InviteCommand {
    /// `INVITE`: an offer.
    Invite,
    /// `ACCEPT`: an acceptance, or the listener's connection data.
    Accept,
    /// `CANCEL`: the end of the negotiation.
    Cancel,
    /// Anything else, verbatim.
    Other(String),
}

impl InviteCommand {
    /// Reads a command (case-insensitive).
    pub fn parse(value: &str) -> Self {
        let value = value.trim();
        if value.eq_ignore_ascii_case("INVITE") {
            InviteCommand::Invite
        } else if value.eq_ignore_ascii_case("ACCEPT") {
            InviteCommand::Accept
        } else if value.eq_ignore_ascii_case("CANCEL") {
            InviteCommand::Cancel
        } else {
            InviteCommand::Other(value.to_string())
        }
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            InviteCommand::Invite => "INVITE",
            InviteCommand::Accept => "ACCEPT",
            InviteCommand::Cancel => "CANCEL",
            InviteCommand::Other(s) => s,
        }
    }
}

/// The `Cancel-Code` of a `CANCEL` (messages.md §3.3, msnftp.md §2.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CancelCode {
    /// `REJECT`: the user declined.
    Reject,
    /// `REJECT_NOT_INSTALLED`: the application is not supported.
    RejectNotInstalled,
    /// `TIMEOUT`: the inviter withdrew or gave up waiting.
    Timeout,
    /// `FTTIMEOUT`: the direct connection or the transfer failed.
    FtTimeout,
    /// `OUTBANDCANCEL`: the conversation is being closed.
    OutbandCancel,
    /// `FAIL`: no common session protocol.
    Fail,
    /// Anything else, verbatim (treat as a generic cancel).
    Other(String),
}

impl CancelCode {
    /// Reads a code (case-insensitive).
    pub fn parse(value: &str) -> Self {
        let value = value.trim();
        [
            CancelCode::Reject,
            CancelCode::RejectNotInstalled,
            CancelCode::Timeout,
            CancelCode::FtTimeout,
            CancelCode::OutbandCancel,
            CancelCode::Fail,
        ]
        .into_iter()
        .find(|code| code.as_str().eq_ignore_ascii_case(value))
        .unwrap_or_else(|| CancelCode::Other(value.to_string()))
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            CancelCode::Reject => "REJECT",
            CancelCode::RejectNotInstalled => "REJECT_NOT_INSTALLED",
            CancelCode::Timeout => "TIMEOUT",
            CancelCode::FtTimeout => "FTTIMEOUT",
            CancelCode::OutbandCancel => "OUTBANDCANCEL",
            CancelCode::Fail => "FAIL",
            CancelCode::Other(s) => s,
        }
    }
}

impl std::fmt::Display for CancelCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an invitation body cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// No `Invitation-Command` field.
    #[error("invitation without Invitation-Command")]
    MissingCommand,
    /// No `Invitation-Cookie` field, or an empty one.
    #[error("invitation without Invitation-Cookie")]
    MissingCookie,
}

/// One invitation message.
///
/// `fields` holds every field in wire order, including `Invitation-Command` and
/// `Invitation-Cookie`; `command` and `cookie` are their typed values. [`Invitation::build`]
/// writes `fields` in order, taking the values of those two fields from `command` and `cookie`
/// (and writing them first if `fields` lacks them), so the caller controls the field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// `Invitation-Command`.
    pub command: InviteCommand,
    /// `Invitation-Cookie`, verbatim (a decimal number chosen by the inviter).
    pub cookie: String,
    /// All fields as `(name, value)` in order; names as sent, values trimmed.
    pub fields: Vec<(String, String)>,
}

impl Invitation {
    /// An invitation with only the command and cookie fields; add more with [`Invitation::with`].
    pub fn new(command: InviteCommand, cookie: impl Into<String>) -> Self {
        let cookie = cookie.into();
        Invitation {
            fields: vec![
                (
                    field::INVITATION_COMMAND.to_string(),
                    command.as_str().to_string(),
                ),
                (field::INVITATION_COOKIE.to_string(), cookie.clone()),
            ],
            command,
            cookie,
        }
    }

    /// Builds an invitation from fields in wire order; `command` and `cookie` are read from them
    /// (case-insensitive names, last one wins).
    pub fn from_fields(fields: Vec<(String, String)>) -> Result<Self, InviteError> {
        let get = |name: &str| {
            fields
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
        };
        let command = InviteCommand::parse(
            get(field::INVITATION_COMMAND).ok_or(InviteError::MissingCommand)?,
        );
        let cookie = get(field::INVITATION_COOKIE)
            .filter(|c| !c.is_empty())
            .ok_or(InviteError::MissingCookie)?
            .to_string();
        Ok(Invitation {
            command,
            cookie,
            fields,
        })
    }

    /// Parses the body of an invitation message (`Field: value` lines, LF or CR LF, with or
    /// without a final empty line). Values are trimmed; lines that are not UTF-8 are decoded as
    /// Windows-1252.
    pub fn parse(body: &[u8]) -> Result<Self, InviteError> {
        Self::from_fields(parse_fields(body))
    }

    /// Appends a field (builder style).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.fields.push((name.to_string(), value.into()));
        self
    }

    /// The value of field `name` (case-insensitive; the last one wins).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Application-GUID`, if present.
    pub fn application_guid(&self) -> Option<&str> {
        self.field(field::APPLICATION_GUID)
    }

    /// Whether `Application-GUID` is the MSNFTP file-transfer GUID (case-insensitive).
    pub fn is_file_transfer(&self) -> bool {
        self.application_guid()
            .is_some_and(|g| g.eq_ignore_ascii_case(MSNFTP_GUID))
    }

    /// `Cancel-Code`, if present.
    pub fn cancel_code(&self) -> Option<CancelCode> {
        self.field(field::CANCEL_CODE).map(CancelCode::parse)
    }

    /// The body: one `Name: value\r\n` line per field, then an empty line, as the official
    /// clients send it. CR and LF inside names or values are dropped.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let has = |name: &str| {
            self.fields
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has(field::INVITATION_COMMAND) {
            mime::push_header(&mut out, field::INVITATION_COMMAND, self.command.as_str());
        }
        if !has(field::INVITATION_COOKIE) {
            mime::push_header(&mut out, field::INVITATION_COOKIE, &self.cookie);
        }
        for (name, value) in &self.fields {
            let value = if name.eq_ignore_ascii_case(field::INVITATION_COMMAND) {
                self.command.as_str()
            } else if name.eq_ignore_ascii_case(field::INVITATION_COOKIE) {
                &self.cookie
            } else {
                value
            };
            mime::push_header(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The complete payload (`MIME-Version`, `Content-Type: text/x-msmsgsinvite;
    /// charset=UTF-8`, empty line, [`Invitation::body`]).
    pub fn build(&self) -> Vec<u8> {
        mime::build(INVITE_CONTENT_TYPE, &[], &self.body())
    }

    /// A file-transfer `INVITE` (msnftp.md §2.3); `cannot_listen` adds `Connectivity: N` (§2.5).
    pub fn file_transfer_invite(
        cookie: impl Into<String>,
        file_name: &str,
        file_size: u64,
        cannot_listen: bool,
    ) -> Self {
        let cookie = cookie.into();
        let mut invitation = Invitation {
            command: InviteCommand::Invite,
            cookie: cookie.clone(),
            fields: Vec::new(),
        }
        .with(field::APPLICATION_NAME, FILE_TRANSFER_APP_NAME)
        .with(field::APPLICATION_GUID, MSNFTP_GUID)
        .with(field::INVITATION_COMMAND, "INVITE")
        .with(field::INVITATION_COOKIE, cookie)
        .with(field::APPLICATION_FILE, file_name)
        .with(field::APPLICATION_FILE_SIZE, file_size.to_string());
        if cannot_listen {
            invitation = invitation.with(field::CONNECTIVITY, "N");
        }
        invitation
    }

    /// The receiver's `ACCEPT` of an offer, asking for the sender's address (msnftp.md §2.3).
    pub fn accept_request(cookie: impl Into<String>) -> Self {
        Invitation::new(InviteCommand::Accept, cookie)
            .with(field::LAUNCH_APPLICATION, "FALSE")
            .with(field::REQUEST_DATA, REQUEST_DATA_IP)
    }

    /// The listener's `ACCEPT` with its connection data (msnftp.md §2.4, §2.5).
    ///
    /// Without an internal address and without `sender_connect` this is the minimal form;
    /// otherwise the MSN Messenger 5.0 form with `PortX` (= `Port` XOR 0x3141), and with
    /// `Sender-Connect: TRUE` when `sender_connect` is set (the reverse variant).
    pub fn listener_accept(
        cookie: impl Into<String>,
        ip: &str,
        internal_ip: Option<&str>,
        port: u16,
        auth_cookie: u32,
        sender_connect: bool,
    ) -> Self {
        let cookie = cookie.into();
        if internal_ip.is_none() && !sender_connect {
            return Invitation::new(InviteCommand::Accept, cookie)
                .with(field::IP_ADDRESS, ip)
                .with(field::PORT, port.to_string())
                .with(field::AUTH_COOKIE, auth_cookie.to_string())
                .with(field::LAUNCH_APPLICATION, "FALSE")
                .with(field::REQUEST_DATA, REQUEST_DATA_IP);
        }
        let mut invitation = Invitation {
            command: InviteCommand::Accept,
            cookie: cookie.clone(),
            fields: Vec::new(),
        }
        .with(field::IP_ADDRESS, ip);
        if let Some(internal) = internal_ip {
            invitation = invitation.with(field::IP_ADDRESS_INTERNAL, internal);
        }
        invitation = invitation
            .with(field::PORT, port.to_string())
            .with(field::PORTX, port_x(port).to_string())
            .with(field::AUTH_COOKIE, auth_cookie.to_string());
        if sender_connect {
            invitation = invitation.with(field::SENDER_CONNECT, "TRUE");
        }
        invitation
            .with(field::INVITATION_COMMAND, "ACCEPT")
            .with(field::INVITATION_COOKIE, cookie)
            .with(field::LAUNCH_APPLICATION, "FALSE")
            .with(field::REQUEST_DATA, REQUEST_DATA_IP)
    }

    /// A `CANCEL` with the given code (msnftp.md §2.6).
    pub fn cancel(cookie: impl Into<String>, code: CancelCode) -> Self {
        Invitation::new(InviteCommand::Cancel, cookie).with(field::CANCEL_CODE, code.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::example;
    use super::super::Payload;
    use super::*;

    fn parse_payload(bytes: &[u8]) -> Invitation {
        match Payload::parse(bytes) {
            Payload::Invitation(i) => i,
            other => panic!("not an invitation: {other:?}"),
        }
    }

    const INVITE: &str = r#"
        C: MSG 4 N 276
        C| MIME-Version: 1.0\r\n
        C| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
        C| \r\n
        C| Application-Name: File Transfer\r\n
        C| Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n
        C| Invitation-Command: INVITE\r\n
        C| Invitation-Cookie: 27181\r\n
        C| Application-File: report.txt\r\n
        C| Application-FileSize: 5000\r\n
        C| \r\n
    "#;

    // msnftp.md §2.3
    #[test]
    fn invite_example() {
        let (len, bytes) = example(INVITE);
        assert_eq!(len, 276);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.command, InviteCommand::Invite);
        assert_eq!(inv.cookie, "27181");
        assert!(inv.is_file_transfer());
        assert_eq!(inv.field("application-name"), Some("File Transfer"));
        assert_eq!(inv.field("Application-File"), Some("report.txt"));
        assert_eq!(inv.field("APPLICATION-FILESIZE"), Some("5000"));
        assert_eq!(inv.field("Connectivity"), None);
        assert_eq!(inv.cancel_code(), None);
        assert_eq!(inv.fields.len(), 6);
        assert_eq!(inv.build(), bytes);
        assert_eq!(
            Invitation::file_transfer_invite("27181", "report.txt", 5000, false).build(),
            bytes
        );
    }

    // msnftp.md §2.3, non-ASCII file name (§7.5: 290 bytes)
    #[test]
    fn invite_with_utf8_file_name() {
        let inv = Invitation::file_transfer_invite("31337", "Grüße aus Zürich.jpg", 48213, false);
        let bytes = inv.build();
        assert_eq!(bytes.len(), 290);
        let back = parse_payload(&bytes);
        assert_eq!(
            back.field(field::APPLICATION_FILE),
            Some("Grüße aus Zürich.jpg")
        );
        assert_eq!(back, inv);
    }

    // msnftp.md §2.3, the receiver's ACCEPT
    #[test]
    fn receiver_accept_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 2 N 181
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
            C| \r\n
            C| Invitation-Command: ACCEPT\r\n
            C| Invitation-Cookie: 27181\r\n
            C| Launch-Application: FALSE\r\n
            C| Request-Data: IP-Address:\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 181);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.command, InviteCommand::Accept);
        assert_eq!(inv.cookie, "27181");
        assert_eq!(inv.field("Request-Data"), Some("IP-Address:"));
        assert_eq!(inv.field("Launch-Application"), Some("FALSE"));
        assert_eq!(inv.build(), bytes);
        assert_eq!(Invitation::accept_request("27181").build(), bytes);
    }

    // msnftp.md §2.4, minimal form
    #[test]
    fn sender_accept_minimal_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 5 N 241
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
            C| \r\n
            C| Invitation-Command: ACCEPT\r\n
            C| Invitation-Cookie: 27181\r\n
            C| IP-Address: 203.0.113.5\r\n
            C| Port: 6891\r\n
            C| AuthCookie: 580493217\r\n
            C| Launch-Application: FALSE\r\n
            C| Request-Data: IP-Address:\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 241);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.command, InviteCommand::Accept);
        assert_eq!(inv.field("IP-Address"), Some("203.0.113.5"));
        assert_eq!(inv.field("Port"), Some("6891"));
        assert_eq!(inv.field("AuthCookie"), Some("580493217"));
        assert_eq!(inv.build(), bytes);
        assert_eq!(
            Invitation::listener_accept("27181", "203.0.113.5", None, 6891, 580_493_217, false)
                .build(),
            bytes
        );
    }

    // msnftp.md §2.4, MSN Messenger 5.0 form
    #[test]
    fn sender_accept_5_0_example() {
        let (len, bytes) = example(
            r#"
            S: MSG alice@example.com Alice 288
            S| MIME-Version: 1.0\r\n
            S| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
            S| \r\n
            S| IP-Address: 203.0.113.5\r\n
            S| IP-Address-Internal: 192.0.2.10\r\n
            S| Port: 6891\r\n
            S| PortX: 11178\r\n
            S| AuthCookie: 580493217\r\n
            S| Invitation-Command: ACCEPT\r\n
            S| Invitation-Cookie: 27181\r\n
            S| Launch-Application: FALSE\r\n
            S| Request-Data: IP-Address:\r\n
            S| \r\n
            "#,
        );
        assert_eq!(len, 288);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.command, InviteCommand::Accept);
        assert_eq!(inv.cookie, "27181");
        assert_eq!(inv.field("ip-address-internal"), Some("192.0.2.10"));
        assert_eq!(inv.field("PortX"), Some("11178"));
        assert_eq!(
            inv.fields.first().map(|(n, _)| n.as_str()),
            Some("IP-Address")
        );
        assert_eq!(inv.build(), bytes);
        assert_eq!(
            Invitation::listener_accept(
                "27181",
                "203.0.113.5",
                Some("192.0.2.10"),
                6891,
                580_493_217,
                false
            )
            .build(),
            bytes
        );
    }

    // msnftp.md §2.5
    #[test]
    fn reverse_invite_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 4 N 293
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
            C| \r\n
            C| Application-Name: File Transfer\r\n
            C| Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n
            C| Invitation-Command: INVITE\r\n
            C| Invitation-Cookie: 27181\r\n
            C| Application-File: report.txt\r\n
            C| Application-FileSize: 5000\r\n
            C| Connectivity: N\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 293);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.field("Connectivity"), Some("N"));
        assert_eq!(inv.build(), bytes);
        assert_eq!(
            Invitation::file_transfer_invite("27181", "report.txt", 5000, true).build(),
            bytes
        );
    }

    // msnftp.md §2.5, the receiver's ACCEPT with Sender-Connect
    #[test]
    fn reverse_accept_example() {
        let (len, bytes) = example(
            r#"
            C: MSG 2 N 312
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
            C| \r\n
            C| IP-Address: 198.51.100.7\r\n
            C| IP-Address-Internal: 192.0.2.20\r\n
            C| Port: 6891\r\n
            C| PortX: 11178\r\n
            C| AuthCookie: 1994127703\r\n
            C| Sender-Connect: TRUE\r\n
            C| Invitation-Command: ACCEPT\r\n
            C| Invitation-Cookie: 27181\r\n
            C| Launch-Application: FALSE\r\n
            C| Request-Data: IP-Address:\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 312);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.field("Sender-Connect"), Some("TRUE"));
        assert_eq!(inv.field("AuthCookie"), Some("1994127703"));
        assert_eq!(inv.build(), bytes);
        assert_eq!(
            Invitation::listener_accept(
                "27181",
                "198.51.100.7",
                Some("192.0.2.20"),
                6891,
                1_994_127_703,
                true
            )
            .build(),
            bytes
        );
    }

    // msnftp.md §2.6 and §7.5
    #[test]
    fn cancel_examples() {
        let (len, bytes) = example(
            r#"
            C: MSG 3 N 148
            C| MIME-Version: 1.0\r\n
            C| Content-Type: text/x-msmsgsinvite; charset=UTF-8\r\n
            C| \r\n
            C| Invitation-Command: CANCEL\r\n
            C| Invitation-Cookie: 27181\r\n
            C| Cancel-Code: REJECT\r\n
            C| \r\n
            "#,
        );
        assert_eq!(len, 148);
        let inv = parse_payload(&bytes);
        assert_eq!(inv.command, InviteCommand::Cancel);
        assert_eq!(inv.cancel_code(), Some(CancelCode::Reject));
        assert_eq!(inv.build(), bytes);
        assert_eq!(
            Invitation::cancel("27181", CancelCode::Reject).build(),
            bytes
        );
        for (code, len) in [
            (CancelCode::RejectNotInstalled, 162),
            (CancelCode::Timeout, 149),
            (CancelCode::FtTimeout, 151),
            (CancelCode::OutbandCancel, 155),
            (CancelCode::Fail, 146),
        ] {
            let bytes = Invitation::cancel("27181", code.clone()).build();
            assert_eq!(bytes.len(), len, "{code:?}");
            assert_eq!(parse_payload(&bytes).cancel_code(), Some(code));
        }
    }

    #[test]
    fn tolerant_parsing() {
        // LF only, no final empty line, odd case, spaces around values, unknown fields.
        let body =
            b"invitation-command:  cancel \ninvitation-cookie: 42\nCancel-Code: weird\nX-Other: 1";
        let inv = Invitation::parse(body).expect("parses");
        assert_eq!(inv.command, InviteCommand::Cancel);
        assert_eq!(inv.cookie, "42");
        assert_eq!(inv.cancel_code(), Some(CancelCode::Other("weird".into())));
        assert_eq!(CancelCode::parse("ftTimeout"), CancelCode::FtTimeout);
        let other = Invitation::parse(b"Invitation-Command: FOO\r\nInvitation-Cookie: 1\r\n")
            .expect("parses");
        assert_eq!(other.command, InviteCommand::Other("FOO".into()));
        // GUIDs compare case-insensitively.
        let lower = Invitation::parse(
            b"Invitation-Command: INVITE\r\nInvitation-Cookie: 1\r\nApplication-GUID: {5d3e02ab-6190-11D3-bbbb-00c04f795683}\r\n",
        )
        .expect("parses");
        assert!(lower.is_file_transfer());
        let voice =
            Invitation::new(InviteCommand::Invite, "9").with(field::APPLICATION_GUID, VOICE_GUID);
        assert!(!voice.is_file_transfer());
    }

    #[test]
    fn non_utf8_file_name_is_windows_1252() {
        let inv = Invitation::parse(
            b"Invitation-Command: INVITE\r\nInvitation-Cookie: 7\r\nApplication-File: caf\xe9.txt\r\n\r\n",
        )
        .expect("parses");
        assert_eq!(inv.field(field::APPLICATION_FILE), Some("café.txt"));
    }

    #[test]
    fn missing_command_or_cookie() {
        assert_eq!(
            Invitation::parse(b"Invitation-Cookie: 1\r\n"),
            Err(InviteError::MissingCommand)
        );
        assert_eq!(
            Invitation::parse(b"Invitation-Command: INVITE\r\n"),
            Err(InviteError::MissingCookie)
        );
        assert_eq!(
            Invitation::parse(b"Invitation-Command: INVITE\r\nInvitation-Cookie:  \r\n"),
            Err(InviteError::MissingCookie)
        );
        assert_eq!(
            Invitation::parse(b"\xff\xfe"),
            Err(InviteError::MissingCommand)
        );
    }

    #[test]
    fn build_uses_typed_command_and_cookie() {
        let mut inv = Invitation::accept_request("1");
        inv.command = InviteCommand::Cancel;
        inv.cookie = "2".into();
        let back = Invitation::parse(&inv.body()).expect("parses");
        assert_eq!(
            (back.command, back.cookie.as_str()),
            (InviteCommand::Cancel, "2")
        );
        // Without the two fields in `fields`, they are written first.
        let bare = Invitation {
            command: InviteCommand::Invite,
            cookie: "5".into(),
            fields: vec![("A".into(), "b".into())],
        };
        assert_eq!(
            bare.body(),
            b"Invitation-Command: INVITE\r\nInvitation-Cookie: 5\r\nA: b\r\n\r\n"
        );
        // Line breaks in values cannot inject fields.
        let evil = Invitation::file_transfer_invite("1", "a\r\nInvitation-Cookie: 2", 1, false);
        assert_eq!(Invitation::parse(&evil.body()).expect("parses").cookie, "1");
    }

    #[test]
    fn portx_is_port_xor_0x3141() {
        for (port, portx) in [
            (6891u16, 11178u16),
            (6892, 11181),
            (1024, 13633),
            (65535, 52926),
        ] {
            assert_eq!(port ^ PORTX_MASK, portx);
        }
    }
}
