//! The file-transfer invitation (msnftp.md §2) as a typed view over the generic `Field: value`
//! list of a `text/x-msmsgsinvite` body: `INVITE`, `ACCEPT`, `CANCEL`, with the field orders of
//! the spec's examples, and the connector's checks of §2.7. The MIME layer lives elsewhere.

use std::net::{Ipv4Addr, SocketAddrV4};

// The generic invitation layer is the single source of the GUID, field names, `PortX` rule and
// cancel codes; this module only adds the typed file-transfer view on top.
pub use crate::proto::payload::invite::{field, port_x, CancelCode};
use crate::proto::payload::invite::{FILE_TRANSFER_APP_NAME, MSNFTP_GUID, REQUEST_DATA_IP};

/// Default largest accepted `Application-FileSize` (4 GiB − 1).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4_294_967_295;

/// Why invitation fields do not make a usable file-transfer invitation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// A required field is missing.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// `Invitation-Command` is not `INVITE`, `ACCEPT` or `CANCEL`.
    #[error("unknown invitation command {0:?}")]
    UnknownCommand(String),
    /// The `INVITE` is for another application (answer `REJECT_NOT_INSTALLED`).
    #[error("not a file transfer (GUID {0})")]
    NotFileTransfer(String),
    /// `Invitation-Cookie` is not a decimal number 0–4294967295.
    #[error("invalid invitation cookie {0:?}")]
    InvalidCookie(String),
    /// `Application-FileSize` is missing digits, not decimal, or above the limit (answer `REJECT`).
    #[error("invalid file size {0:?}")]
    InvalidSize(String),
    /// The listener's connection data fail the checks of §2.7 (answer `FTTIMEOUT`).
    #[error("invalid connection data in {field}: {value:?}")]
    InvalidConnection {
        /// The offending field.
        field: &'static str,
        /// Its value (empty when missing).
        value: String,
    },
}

/// The sender's offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// `Invitation-Cookie`.
    pub cookie: u32,
    /// `Application-File` as received (sanitise before use, see `filename`).
    pub file_name: String,
    /// `Application-FileSize`.
    pub file_size: u64,
    /// `Connectivity` (`N`: the sender cannot be connected to).
    pub connectivity: Option<String>,
}

impl Invite {
    /// An offer as Mariposa sends it (never with `Connectivity`).
    pub fn new(cookie: u32, file_name: impl Into<String>, file_size: u64) -> Self {
        Self {
            cookie,
            file_name: file_name.into(),
            file_size,
            connectivity: None,
        }
    }

    /// Whether the sender said it cannot accept a connection (`Connectivity: N`, §1.3).
    pub fn sender_unreachable(&self) -> bool {
        self.connectivity
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("N"))
    }
}

/// An `ACCEPT`: the receiver's plain one, the listener's one with connection data, or the
/// receiver's reverse one with `Sender-Connect: TRUE`. Connection fields are kept as text and
/// checked by [`Accept::connection`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accept {
    /// `Invitation-Cookie`.
    pub cookie: u32,
    /// `IP-Address`.
    pub ip_address: Option<String>,
    /// `IP-Address-Internal`.
    pub ip_address_internal: Option<String>,
    /// `Port`.
    pub port: Option<String>,
    /// `PortX` (obfuscated port; never connected to).
    pub port_x: Option<String>,
    /// `PortX-Internal` (internal port XOR 0x3141).
    pub port_x_internal: Option<String>,
    /// `AuthCookie`.
    pub auth_cookie: Option<String>,
    /// `Sender-Connect: TRUE`.
    pub sender_connect: bool,
    /// `Launch-Application` (always `FALSE` when sent).
    pub launch_application: Option<String>,
    /// `Request-Data` (always `IP-Address:` when sent).
    pub request_data: Option<String>,
}

/// Where and how the connector connects (msnftp.md §2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Addresses to try, in order: public, then internal ones.
    pub candidates: Vec<SocketAddrV4>,
    /// The auth cookie to present in `USR`, exactly as received.
    pub auth_cookie: String,
}

impl Accept {
    /// The receiver's plain `ACCEPT` (§2.3).
    pub fn request(cookie: u32) -> Self {
        Self {
            cookie,
            launch_application: Some("FALSE".into()),
            request_data: Some(REQUEST_DATA_IP.into()),
            ..Self::default()
        }
    }

    /// The listener's `ACCEPT` in the normal flow (§2.4): the minimal form when `internal`
    /// equals `public`, otherwise the 5.0 form with `IP-Address-Internal` and `PortX`.
    pub fn listener(
        cookie: u32,
        public: Ipv4Addr,
        internal: Ipv4Addr,
        port: u16,
        auth_cookie: u32,
    ) -> Self {
        let mut a = Self::request(cookie);
        a.ip_address = Some(public.to_string());
        a.port = Some(port.to_string());
        a.auth_cookie = Some(auth_cookie.to_string());
        if internal != public {
            a.ip_address_internal = Some(internal.to_string());
            a.port_x = Some(port_x(port).to_string());
        }
        a
    }

    /// The receiver's reverse `ACCEPT` (§2.5): its own connection data and `Sender-Connect: TRUE`.
    pub fn reverse(
        cookie: u32,
        public: Ipv4Addr,
        internal: Ipv4Addr,
        port: u16,
        auth_cookie: u32,
    ) -> Self {
        let mut a = Self::listener(cookie, public, internal, port, auth_cookie);
        a.port_x = Some(port_x(port).to_string());
        a.sender_connect = true;
        a
    }

    /// Checks the listener's connection data and builds the candidate list (§2.7). Loopback
    /// addresses pass only with `allow_loopback` (our own server connection is on loopback).
    pub fn connection(&self, allow_loopback: bool) -> Result<Connection, InviteError> {
        let ip = check_ip(
            field::IP_ADDRESS,
            self.ip_address.as_deref(),
            allow_loopback,
        )?;
        let port = check_port(field::PORT, self.port.as_deref())?;
        let auth_cookie = self.auth_cookie.as_deref().unwrap_or("");
        if auth_cookie.is_empty()
            || auth_cookie.len() > 10
            || !auth_cookie.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(InviteError::InvalidConnection {
                field: field::AUTH_COOKIE,
                value: auth_cookie.to_owned(),
            });
        }
        let mut candidates = vec![SocketAddrV4::new(ip, port)];
        let internal = self
            .ip_address_internal
            .as_deref()
            .and_then(|v| check_ip(field::IP_ADDRESS_INTERNAL, Some(v), allow_loopback).ok());
        if let Some(internal) = internal.filter(|i| *i != ip) {
            candidates.push(SocketAddrV4::new(internal, port));
        }
        if let (Some(internal), Some(px)) = (internal, self.port_x_internal.as_deref()) {
            if let Ok(px) = px.parse::<u16>() {
                let p = port_x(px);
                let addr = SocketAddrV4::new(internal, p);
                if p >= 1024 && !candidates.contains(&addr) {
                    candidates.push(addr);
                }
            }
        }
        Ok(Connection {
            candidates,
            auth_cookie: auth_cookie.to_owned(),
        })
    }
}

fn check_ip(
    name: &'static str,
    value: Option<&str>,
    allow_loopback: bool,
) -> Result<Ipv4Addr, InviteError> {
    let raw = value.unwrap_or("");
    let bad = || InviteError::InvalidConnection {
        field: name,
        value: raw.to_owned(),
    };
    let parts: Vec<&str> = raw.split('.').collect();
    if parts.len() != 4 {
        return Err(bad());
    }
    let mut octets = [0u8; 4];
    for (o, p) in octets.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        *o = p.parse().map_err(|_| bad())?;
    }
    let ip = Ipv4Addr::from(octets);
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
        return Err(bad());
    }
    if ip.is_loopback() && !allow_loopback {
        return Err(bad());
    }
    Ok(ip)
}

fn check_port(name: &'static str, value: Option<&str>) -> Result<u16, InviteError> {
    let raw = value.unwrap_or("");
    let bad = || InviteError::InvalidConnection {
        field: name,
        value: raw.to_owned(),
    };
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match raw.parse::<u16>() {
        Ok(p) if p >= 1024 => Ok(p),
        _ => Err(bad()),
    }
}

/// A file-transfer invitation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileInvite {
    /// `Invitation-Command: INVITE`.
    Invite(Invite),
    /// `Invitation-Command: ACCEPT`.
    Accept(Accept),
    /// `Invitation-Command: CANCEL`.
    Cancel {
        /// `Invitation-Cookie`.
        cookie: u32,
        /// `Cancel-Code`; `None` when missing (a generic cancel).
        code: Option<CancelCode>,
    },
}

/// A case-insensitive view of the fields: first occurrence wins, values trimmed.
fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_matches(' '))
}

fn digits(value: &str, max_len: usize) -> bool {
    !value.is_empty() && value.len() <= max_len && value.bytes().all(|b| b.is_ascii_digit())
}

impl FileInvite {
    /// The invitation cookie.
    pub fn cookie(&self) -> u32 {
        match self {
            Self::Invite(i) => i.cookie,
            Self::Accept(a) => a.cookie,
            Self::Cancel { cookie, .. } => *cookie,
        }
    }

    /// Reads invitation fields, limiting `Application-FileSize` to [`DEFAULT_MAX_FILE_SIZE`].
    pub fn parse(fields: &[(String, String)]) -> Result<Self, InviteError> {
        Self::parse_with_limit(fields, DEFAULT_MAX_FILE_SIZE)
    }

    /// Reads invitation fields (names case-insensitive, values trimmed, unknown fields and
    /// order ignored), accepting file sizes up to `max_size`.
    pub fn parse_with_limit(
        fields: &[(String, String)],
        max_size: u64,
    ) -> Result<Self, InviteError> {
        let command = get(fields, field::INVITATION_COMMAND)
            .ok_or(InviteError::MissingField(field::INVITATION_COMMAND))?;
        let raw_cookie = get(fields, field::INVITATION_COOKIE)
            .ok_or(InviteError::MissingField(field::INVITATION_COOKIE))?;
        let cookie = if digits(raw_cookie, 10) {
            raw_cookie.parse::<u32>().ok()
        } else {
            None
        }
        .ok_or_else(|| InviteError::InvalidCookie(raw_cookie.to_owned()))?;
        let opt = |name| get(fields, name).map(str::to_owned);
        match command.to_ascii_uppercase().as_str() {
            "INVITE" => {
                let guid = get(fields, field::APPLICATION_GUID)
                    .ok_or(InviteError::MissingField(field::APPLICATION_GUID))?;
                if !guid.eq_ignore_ascii_case(MSNFTP_GUID) {
                    return Err(InviteError::NotFileTransfer(guid.to_owned()));
                }
                let file_name = get(fields, field::APPLICATION_FILE)
                    .ok_or(InviteError::MissingField(field::APPLICATION_FILE))?;
                let raw_size = get(fields, field::APPLICATION_FILE_SIZE).unwrap_or("");
                let file_size = if digits(raw_size, 20) {
                    raw_size.parse::<u64>().ok()
                } else {
                    None
                }
                .filter(|s| *s <= max_size)
                .ok_or_else(|| InviteError::InvalidSize(raw_size.to_owned()))?;
                Ok(Self::Invite(Invite {
                    cookie,
                    file_name: file_name.to_owned(),
                    file_size,
                    connectivity: opt(field::CONNECTIVITY),
                }))
            }
            "ACCEPT" => Ok(Self::Accept(Accept {
                cookie,
                ip_address: opt(field::IP_ADDRESS),
                ip_address_internal: opt(field::IP_ADDRESS_INTERNAL),
                port: opt(field::PORT),
                port_x: opt(field::PORTX),
                port_x_internal: opt(field::PORTX_INTERNAL),
                auth_cookie: opt(field::AUTH_COOKIE),
                sender_connect: get(fields, field::SENDER_CONNECT)
                    .is_some_and(|v| v.eq_ignore_ascii_case("TRUE")),
                launch_application: opt(field::LAUNCH_APPLICATION),
                request_data: opt(field::REQUEST_DATA),
            })),
            "CANCEL" => Ok(Self::Cancel {
                cookie,
                code: get(fields, field::CANCEL_CODE).map(CancelCode::parse),
            }),
            _ => Err(InviteError::UnknownCommand(command.to_owned())),
        }
    }

    /// The fields to send, in the order of the spec's examples (§2.3–§2.6).
    pub fn to_fields(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |name: &str, value: &str| out.push((name.to_owned(), value.to_owned()));
        match self {
            Self::Invite(i) => {
                push(field::APPLICATION_NAME, FILE_TRANSFER_APP_NAME);
                push(field::APPLICATION_GUID, MSNFTP_GUID);
                push(field::INVITATION_COMMAND, "INVITE");
                push(field::INVITATION_COOKIE, &i.cookie.to_string());
                push(field::APPLICATION_FILE, &i.file_name);
                push(field::APPLICATION_FILE_SIZE, &i.file_size.to_string());
                if let Some(c) = &i.connectivity {
                    push(field::CONNECTIVITY, c);
                }
            }
            Self::Accept(a) => {
                let cookie = a.cookie.to_string();
                let five_form = a.ip_address_internal.is_some()
                    || a.port_x.is_some()
                    || a.port_x_internal.is_some()
                    || a.sender_connect;
                let mut opt = |name: &str, value: &Option<String>| {
                    if let Some(v) = value {
                        push(name, v);
                    }
                };
                if five_form {
                    opt(field::IP_ADDRESS, &a.ip_address);
                    opt(field::IP_ADDRESS_INTERNAL, &a.ip_address_internal);
                    opt(field::PORT, &a.port);
                    opt(field::PORTX, &a.port_x);
                    opt(field::PORTX_INTERNAL, &a.port_x_internal);
                    opt(field::AUTH_COOKIE, &a.auth_cookie);
                    if a.sender_connect {
                        opt(field::SENDER_CONNECT, &Some("TRUE".into()));
                    }
                    opt(field::INVITATION_COMMAND, &Some("ACCEPT".into()));
                    opt(field::INVITATION_COOKIE, &Some(cookie));
                } else {
                    opt(field::INVITATION_COMMAND, &Some("ACCEPT".into()));
                    opt(field::INVITATION_COOKIE, &Some(cookie));
                    opt(field::IP_ADDRESS, &a.ip_address);
                    opt(field::PORT, &a.port);
                    opt(field::AUTH_COOKIE, &a.auth_cookie);
                }
                opt(field::LAUNCH_APPLICATION, &a.launch_application);
                opt(field::REQUEST_DATA, &a.request_data);
            }
            Self::Cancel { cookie, code } => {
                push(field::INVITATION_COMMAND, "CANCEL");
                push(field::INVITATION_COOKIE, &cookie.to_string());
                if let Some(code) = code {
                    push(field::CANCEL_CODE, code.as_str());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-only rendering of an invitation payload, to check the spec's byte counts.
    fn payload(fields: &[(String, String)]) -> String {
        let mut s = String::from(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n",
        );
        for (n, v) in fields {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn round_trip(inv: &FileInvite, expected: &[(&str, &str)], len: usize) {
        let f = inv.to_fields();
        assert_eq!(f, fields(expected));
        assert_eq!(payload(&f).len(), len);
        assert_eq!(&FileInvite::parse(&f).unwrap(), inv);
    }

    const INVITE_FIELDS: &[(&str, &str)] = &[
        ("Application-Name", "File Transfer"),
        ("Application-GUID", "{5D3E02AB-6190-11d3-BBBB-00C04F795683}"),
        ("Invitation-Command", "INVITE"),
        ("Invitation-Cookie", "27181"),
        ("Application-File", "report.txt"),
        ("Application-FileSize", "5000"),
    ];

    #[test]
    fn invite_section_2_3() {
        let inv = FileInvite::Invite(Invite::new(27181, "report.txt", 5000));
        round_trip(&inv, INVITE_FIELDS, 276);
        let text = payload(&inv.to_fields());
        assert_eq!(
            text,
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n\
             Application-Name: File Transfer\r\n\
             Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n\
             Invitation-Command: INVITE\r\nInvitation-Cookie: 27181\r\n\
             Application-File: report.txt\r\nApplication-FileSize: 5000\r\n\r\n"
        );
    }

    #[test]
    fn invite_non_ascii_name_is_290_bytes() {
        let inv = FileInvite::Invite(Invite::new(31337, "Grüße aus Zürich.jpg", 48213));
        assert_eq!("Grüße aus Zürich.jpg".len(), 23);
        assert_eq!(payload(&inv.to_fields()).len(), 290);
        assert_eq!(FileInvite::parse(&inv.to_fields()).unwrap(), inv);
    }

    #[test]
    fn invite_with_connectivity_section_2_5() {
        let mut i = Invite::new(27181, "report.txt", 5000);
        i.connectivity = Some("N".into());
        assert!(i.sender_unreachable());
        let mut expected = INVITE_FIELDS.to_vec();
        expected.push(("Connectivity", "N"));
        round_trip(&FileInvite::Invite(i), &expected, 293);
    }

    #[test]
    fn receiver_accept_section_2_3() {
        round_trip(
            &FileInvite::Accept(Accept::request(27181)),
            &[
                ("Invitation-Command", "ACCEPT"),
                ("Invitation-Cookie", "27181"),
                ("Launch-Application", "FALSE"),
                ("Request-Data", "IP-Address:"),
            ],
            181,
        );
    }

    #[test]
    fn sender_accept_minimal_section_2_4() {
        let ip = Ipv4Addr::new(203, 0, 113, 5);
        let a = Accept::listener(27181, ip, ip, 6891, 580_493_217);
        round_trip(
            &FileInvite::Accept(a.clone()),
            &[
                ("Invitation-Command", "ACCEPT"),
                ("Invitation-Cookie", "27181"),
                ("IP-Address", "203.0.113.5"),
                ("Port", "6891"),
                ("AuthCookie", "580493217"),
                ("Launch-Application", "FALSE"),
                ("Request-Data", "IP-Address:"),
            ],
            241,
        );
        let c = a.connection(false).unwrap();
        assert_eq!(c.candidates, vec![SocketAddrV4::new(ip, 6891)]);
        assert_eq!(c.auth_cookie, "580493217");
    }

    #[test]
    fn sender_accept_five_form_section_2_4() {
        let a = Accept::listener(
            27181,
            Ipv4Addr::new(203, 0, 113, 5),
            Ipv4Addr::new(192, 0, 2, 10),
            6891,
            580_493_217,
        );
        round_trip(
            &FileInvite::Accept(a.clone()),
            &[
                ("IP-Address", "203.0.113.5"),
                ("IP-Address-Internal", "192.0.2.10"),
                ("Port", "6891"),
                ("PortX", "11178"),
                ("AuthCookie", "580493217"),
                ("Invitation-Command", "ACCEPT"),
                ("Invitation-Cookie", "27181"),
                ("Launch-Application", "FALSE"),
                ("Request-Data", "IP-Address:"),
            ],
            288,
        );
        assert_eq!(
            a.connection(false).unwrap().candidates,
            vec![
                "203.0.113.5:6891".parse().unwrap(),
                "192.0.2.10:6891".parse().unwrap()
            ]
        );
    }

    #[test]
    fn reverse_accept_section_2_5() {
        let a = Accept::reverse(
            27181,
            Ipv4Addr::new(198, 51, 100, 7),
            Ipv4Addr::new(192, 0, 2, 20),
            6891,
            1_994_127_703,
        );
        round_trip(
            &FileInvite::Accept(a),
            &[
                ("IP-Address", "198.51.100.7"),
                ("IP-Address-Internal", "192.0.2.20"),
                ("Port", "6891"),
                ("PortX", "11178"),
                ("AuthCookie", "1994127703"),
                ("Sender-Connect", "TRUE"),
                ("Invitation-Command", "ACCEPT"),
                ("Invitation-Cookie", "27181"),
                ("Launch-Application", "FALSE"),
                ("Request-Data", "IP-Address:"),
            ],
            312,
        );
    }

    #[test]
    fn cancel_section_2_6_all_codes() {
        let codes = [
            (CancelCode::Reject, 148),
            (CancelCode::RejectNotInstalled, 162),
            (CancelCode::Timeout, 149),
            (CancelCode::FtTimeout, 151),
            (CancelCode::OutbandCancel, 155),
            (CancelCode::Fail, 146),
        ];
        for (code, len) in codes {
            let name = code.as_str().to_owned();
            round_trip(
                &FileInvite::Cancel {
                    cookie: 27181,
                    code: Some(code),
                },
                &[
                    ("Invitation-Command", "CANCEL"),
                    ("Invitation-Cookie", "27181"),
                    ("Cancel-Code", &name),
                ],
                len,
            );
        }
        let missing = FileInvite::parse(&fields(&[
            ("Invitation-Command", "CANCEL"),
            ("Invitation-Cookie", "27181"),
        ]))
        .unwrap();
        assert_eq!(
            missing,
            FileInvite::Cancel {
                cookie: 27181,
                code: None
            }
        );
        assert_eq!(
            CancelCode::parse("WHATEVER"),
            CancelCode::Other("WHATEVER".into())
        );
    }

    #[test]
    fn port_x_vectors() {
        for (port, x) in [(6891, 11178), (6892, 11181), (1024, 13633), (65535, 52926)] {
            assert_eq!(port_x(port), x);
            assert_eq!(port_x(x), port);
        }
    }

    #[test]
    fn lenient_reading() {
        let f = fields(&[
            ("application-filesize", " 5000 "),
            ("X-Unknown", "1"),
            ("INVITATION-COOKIE", "27181"),
            ("application-file", "report.txt"),
            ("invitation-command", "INVITE"),
            ("application-guid", "{5d3e02ab-6190-11D3-bbbb-00c04f795683}"),
        ]);
        assert_eq!(
            FileInvite::parse(&f).unwrap(),
            FileInvite::Invite(Invite::new(27181, "report.txt", 5000))
        );
    }

    #[test]
    fn bad_invites() {
        let with = |name: &str, value: &str| {
            let mut f = fields(INVITE_FIELDS);
            f.retain(|(n, _)| n != name);
            if !value.is_empty() {
                f.push((name.to_owned(), value.to_owned()));
            }
            FileInvite::parse(&f)
        };
        for bad in [
            "-1",
            "+5",
            "0x10",
            "12 3",
            "",
            "4294967296",
            "123456789012345678901",
        ] {
            assert!(
                matches!(
                    with("Application-FileSize", bad),
                    Err(InviteError::InvalidSize(_))
                ),
                "{bad}"
            );
        }
        assert!(with("Application-FileSize", "0").is_ok());
        assert!(with("Application-FileSize", "4294967295").is_ok());
        assert!(matches!(
            with("Application-GUID", "{02D3C01F-BF30-4825-A83A-DE7AF41648AA}"),
            Err(InviteError::NotFileTransfer(_))
        ));
        assert!(matches!(
            with("Invitation-Cookie", "abc"),
            Err(InviteError::InvalidCookie(_))
        ));
        assert_eq!(
            with("Application-File", ""),
            Err(InviteError::MissingField("Application-File"))
        );
        assert!(matches!(
            with("Invitation-Command", "BOGUS"),
            Err(InviteError::UnknownCommand(_))
        ));
        let big = FileInvite::parse_with_limit(&fields(INVITE_FIELDS), 4999);
        assert!(matches!(big, Err(InviteError::InvalidSize(_))));
    }

    #[test]
    fn connection_checks() {
        let base = |ip: &str, port: &str, cookie: &str| Accept {
            cookie: 1,
            ip_address: Some(ip.into()),
            port: Some(port.into()),
            auth_cookie: Some(cookie.into()),
            ..Accept::default()
        };
        assert!(base("203.0.113.5", "6891", "580493217")
            .connection(false)
            .is_ok());
        for (ip, port, cookie) in [
            ("0.0.0.0", "6891", "1"),
            ("255.255.255.255", "6891", "1"),
            ("224.0.0.1", "6891", "1"),
            ("127.0.0.1", "6891", "1"),
            ("256.1.1.1", "6891", "1"),
            ("1.2.3", "6891", "1"),
            ("1.2.3.4.5", "6891", "1"),
            ("host.example.com", "6891", "1"),
            ("203.0.113.5", "1023", "1"),
            ("203.0.113.5", "65536", "1"),
            ("203.0.113.5", "+6891", "1"),
            ("203.0.113.5", "6891", ""),
            ("203.0.113.5", "6891", "12345678901"),
            ("203.0.113.5", "6891", "-5"),
        ] {
            assert!(
                base(ip, port, cookie).connection(false).is_err(),
                "{ip} {port} {cookie}"
            );
        }
        assert!(base("127.0.0.1", "6891", "1").connection(true).is_ok());

        // PortX-Internal is un-XORed; the raw PortX is never used.
        let mut a = base("203.0.113.5", "6891", "7");
        a.ip_address_internal = Some("192.0.2.10".into());
        a.port_x = Some("11178".into());
        a.port_x_internal = Some(port_x(7000).to_string());
        let c = a.connection(false).unwrap();
        assert_eq!(
            c.candidates,
            vec![
                "203.0.113.5:6891".parse().unwrap(),
                "192.0.2.10:6891".parse().unwrap(),
                "192.0.2.10:7000".parse().unwrap(),
            ]
        );
        // A bad internal address is skipped, not fatal.
        a.ip_address_internal = Some("garbage".into());
        assert_eq!(c.candidates.len(), 3);
        assert_eq!(a.connection(false).unwrap().candidates.len(), 1);
    }
}
