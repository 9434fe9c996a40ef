//! Typed MSNP7 and MSNP8 commands for the notification server and the switchboard, in both
//! directions.
//!
//! [`ClientCommand`] is what a client sends, [`ServerCommand`] what a server sends. Both parse from
//! a [`Frame`] and serialise back to the identical bytes for every form in the reference. Unknown
//! commands are preserved raw; a known command with missing or malformed parameters is a
//! [`ParseError`] (never a panic).

use std::fmt;

use thiserror::Error;

use super::codec::Frame;
use super::error::ServerError;
use super::names::WireName;

/// A transaction id (README.md, Transaction IDs).
pub type TrId = u32;

/// A known command had missing or malformed parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed {code} command: {reason} in {line:?}")]
pub struct ParseError {
    /// The command code.
    pub code: String,
    /// What was wrong.
    pub reason: &'static str,
    /// The offending line.
    pub line: String,
}

/// One of the four contact lists (notification.md §2.2).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum List {
    /// Forward list: the people you follow.
    Forward,
    /// Allow list.
    Allow,
    /// Block list.
    Block,
    /// Reverse list: the people who follow you.
    Reverse,
}

impl List {
    /// All lists in the canonical SYN order.
    pub const ALL: [List; 4] = [List::Forward, List::Allow, List::Block, List::Reverse];

    /// The wire code (`FL`, `AL`, `BL`, `RL`).
    pub fn code(self) -> &'static str {
        match self {
            List::Forward => "FL",
            List::Allow => "AL",
            List::Block => "BL",
            List::Reverse => "RL",
        }
    }

    /// Parses a wire code.
    pub fn from_code(code: &str) -> Option<List> {
        match code {
            "FL" => Some(List::Forward),
            "AL" => Some(List::Allow),
            "BL" => Some(List::Block),
            "RL" => Some(List::Reverse),
            _ => None,
        }
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A presence status (notification.md §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// `NLN` online.
    Online,
    /// `BSY` busy.
    Busy,
    /// `IDL` idle.
    Idle,
    /// `BRB` be right back.
    BeRightBack,
    /// `AWY` away.
    Away,
    /// `PHN` on the phone.
    OnThePhone,
    /// `LUN` out to lunch.
    OutToLunch,
    /// `HDN` appear offline (own status only).
    Hidden,
    /// `FLN` offline.
    Offline,
    /// An unknown code: treated as online.
    Other(String),
}

impl Status {
    /// The statuses a user may pick (everything settable with CHG).
    pub const SETTABLE: [Status; 8] = [
        Status::Online,
        Status::Busy,
        Status::Idle,
        Status::BeRightBack,
        Status::Away,
        Status::OnThePhone,
        Status::OutToLunch,
        Status::Hidden,
    ];

    /// The wire code.
    pub fn code(&self) -> &str {
        match self {
            Status::Online => "NLN",
            Status::Busy => "BSY",
            Status::Idle => "IDL",
            Status::BeRightBack => "BRB",
            Status::Away => "AWY",
            Status::OnThePhone => "PHN",
            Status::OutToLunch => "LUN",
            Status::Hidden => "HDN",
            Status::Offline => "FLN",
            Status::Other(code) => code,
        }
    }

    /// Parses a wire code; unknown codes become [`Status::Other`].
    pub fn from_code(code: &str) -> Status {
        match code {
            "NLN" => Status::Online,
            "BSY" => Status::Busy,
            "IDL" => Status::Idle,
            "BRB" => Status::BeRightBack,
            "AWY" => Status::Away,
            "PHN" => Status::OnThePhone,
            "LUN" => Status::OutToLunch,
            "HDN" => Status::Hidden,
            "FLN" => Status::Offline,
            other => Status::Other(other.to_string()),
        }
    }

    /// Whether others see this status as online (everything but HDN and FLN).
    pub fn is_online(&self) -> bool {
        !matches!(self, Status::Hidden | Status::Offline)
    }

    /// Whether a client may send this status with `CHG`.
    pub fn is_settable(&self) -> bool {
        Status::SETTABLE.contains(self)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The BLP privacy default (notification.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Privacy {
    /// `AL`: everybody not blocked may see you.
    AllowAll,
    /// `BL`: only people on your allow list may see you.
    BlockAll,
}

impl Privacy {
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Privacy::AllowAll => "AL",
            Privacy::BlockAll => "BL",
        }
    }

    /// Parses a wire code.
    pub fn from_code(code: &str) -> Option<Privacy> {
        match code {
            "AL" => Some(Privacy::AllowAll),
            "BL" => Some(Privacy::BlockAll),
            _ => None,
        }
    }
}

/// The GTC setting: ask when someone adds you (notification.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AddPrompt {
    /// `A`: ask me.
    Ask,
    /// `N`: do not ask.
    DontAsk,
}

impl AddPrompt {
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            AddPrompt::Ask => "A",
            AddPrompt::DontAsk => "N",
        }
    }

    /// Parses a wire code.
    pub fn from_code(code: &str) -> Option<AddPrompt> {
        match code {
            "A" => Some(AddPrompt::Ask),
            "N" => Some(AddPrompt::DontAsk),
            _ => None,
        }
    }
}

/// The acknowledgement mode of a switchboard `MSG` (switchboard.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckMode {
    /// `U`: never acknowledged.
    Unacknowledged,
    /// `N`: NAK only on failure.
    NakOnly,
    /// `A`: ACK or NAK.
    Acknowledged,
    /// `D`: like A, MSNP9+ data (accepted by Escargot in any dialect).
    Data,
}

impl AckMode {
    /// The wire letter.
    pub fn code(self) -> &'static str {
        match self {
            AckMode::Unacknowledged => "U",
            AckMode::NakOnly => "N",
            AckMode::Acknowledged => "A",
            AckMode::Data => "D",
        }
    }

    /// Parses the wire letter (exactly one upper-case letter).
    pub fn from_code(code: &str) -> Option<AckMode> {
        match code {
            "U" => Some(AckMode::Unacknowledged),
            "N" => Some(AckMode::NakOnly),
            "A" => Some(AckMode::Acknowledged),
            "D" => Some(AckMode::Data),
            _ => None,
        }
    }
}

/// An entry of an `LST` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LstEntry {
    /// The contact's account.
    pub account: String,
    /// The stored nickname / display name.
    pub name: WireName,
    /// Group ids (FL only); `None` when the line has none.
    pub groups: Option<Vec<u32>>,
}

/// A command sent by a client to a notification server or a switchboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// `VER tr d1 d2…`
    Ver { trid: TrId, dialects: Vec<String> },
    /// `INF tr`
    Inf { trid: TrId },
    /// `CVR tr locale os osver cpu name version id {account}`
    Cvr { trid: TrId, fields: Vec<String> },
    /// `USR tr MD5 I account`
    UsrMd5Initial { trid: TrId, account: String },
    /// `USR tr MD5 S hash`
    UsrMd5Response { trid: TrId, hash: String },
    /// `USR tr TWN I account` (MSNP8)
    UsrTwnInitial { trid: TrId, account: String },
    /// `USR tr TWN S ticket` (MSNP8)
    UsrTwnResponse { trid: TrId, ticket: String },
    /// `USR tr account cookie` (switchboard)
    UsrSb {
        trid: TrId,
        account: String,
        cookie: String,
    },
    /// `SYN tr version`
    Syn { trid: TrId, version: u32 },
    /// `CHG tr status {capabilities}`
    Chg {
        trid: TrId,
        status: Status,
        capabilities: Option<String>,
    },
    /// `ADD tr list account nick {group}`
    Add {
        trid: TrId,
        list: List,
        account: String,
        nick: WireName,
        group: Option<u32>,
    },
    /// `REM tr list account {group}`
    Rem {
        trid: TrId,
        list: List,
        account: String,
        group: Option<u32>,
    },
    /// `REA tr account name`
    Rea {
        trid: TrId,
        account: String,
        name: WireName,
    },
    /// `ADG tr name 0`
    Adg { trid: TrId, name: WireName },
    /// `RMG tr group`
    Rmg { trid: TrId, group: u32 },
    /// `REG tr group name 0`
    Reg {
        trid: TrId,
        group: u32,
        name: WireName,
    },
    /// `BLP tr AL|BL`
    Blp { trid: TrId, privacy: Privacy },
    /// `GTC tr A|N`
    Gtc { trid: TrId, prompt: AddPrompt },
    /// `PRP tr code {value}`
    Prp {
        trid: TrId,
        property: String,
        value: Option<WireName>,
    },
    /// `QRY tr client-id 32` + the 32-byte answer
    Qry {
        trid: TrId,
        client_id: String,
        answer: Vec<u8>,
    },
    /// `PNG`
    Png,
    /// `XFR tr SB`
    XfrSb { trid: TrId },
    /// `URL tr service {param}`
    Url {
        trid: TrId,
        service: String,
        param: Option<String>,
    },
    /// `SND tr account …`
    Snd {
        trid: TrId,
        account: String,
        rest: Vec<String>,
    },
    /// `SDC tr account lcid MSMSGS WindowsMessenger X X name len` + note
    Sdc {
        trid: TrId,
        fields: Vec<String>,
        note: Vec<u8>,
    },
    /// `IMS tr ON|OFF`
    Ims { trid: TrId, on: bool },
    /// `OUT`
    Out,
    /// `ANS tr account cookie session-id` (switchboard)
    Ans {
        trid: TrId,
        account: String,
        cookie: String,
        session_id: String,
    },
    /// `CAL tr account` (switchboard)
    Cal { trid: TrId, account: String },
    /// `MSG tr ackmode len` + payload (switchboard)
    Msg {
        trid: TrId,
        ack: AckMode,
        payload: Vec<u8>,
    },
    /// Anything else, kept as received.
    Unknown(Frame),
}

/// A command sent by a notification server or a switchboard to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCommand {
    /// `VER tr d…` (`VER tr 0` when no dialect is shared)
    Ver { trid: TrId, dialects: Vec<String> },
    /// `INF tr MD5…`
    Inf { trid: TrId, methods: Vec<String> },
    /// `CVR tr recommended recommended minimum download-url info-url`
    Cvr { trid: TrId, fields: Vec<String> },
    /// `USR tr MD5 S salt`
    UsrMd5Salt { trid: TrId, salt: String },
    /// `USR tr TWN S challenge` (MSNP8)
    UsrTwnChallenge { trid: TrId, challenge: String },
    /// `USR tr OK account name {verified {restricted}}` (NS; `restricted` is MSNP8's fourth
    /// parameter) / `USR tr OK account name` (SB)
    UsrOk {
        trid: TrId,
        account: String,
        name: WireName,
        verified: Option<String>,
        restricted: Option<String>,
    },
    /// `XFR tr NS host:port {0 current-host:port}`
    XfrNs {
        trid: TrId,
        address: String,
        current: Option<String>,
    },
    /// `XFR tr SB host:port CKI cookie`
    XfrSb {
        trid: TrId,
        address: String,
        cookie: String,
    },
    /// `SYN tr version`
    Syn { trid: TrId, version: u32 },
    /// MSNP8 `SYN tr version contacts groups`: new data follows, `contacts` `LST` lines and
    /// `groups` `LSG` lines (msnp8.md §4.1).
    Syn8 {
        trid: TrId,
        version: u32,
        contacts: u32,
        groups: u32,
    },
    /// MSNP8 `GTC A|N` inside `SYN` (no TrID, no version).
    Gtc8 { prompt: AddPrompt },
    /// MSNP8 `BLP AL|BL` inside `SYN` (no TrID, no version).
    Blp8 { privacy: Privacy },
    /// MSNP8 `LSG group-id name 0` inside `SYN`.
    Lsg8 { group: u32, name: WireName },
    /// MSNP8 `LST email name lists {groups}` inside `SYN`: one contact, its lists as a bit mask
    /// (`msnp8::lists_of_mask`), its groups (meaningful only with the FL bit).
    Lst8 {
        account: String,
        name: WireName,
        lists: u32,
        groups: Option<Vec<u32>>,
    },
    /// `GTC tr version A|N`
    Gtc {
        trid: TrId,
        version: u32,
        prompt: AddPrompt,
    },
    /// `BLP tr version AL|BL`
    Blp {
        trid: TrId,
        version: u32,
        privacy: Privacy,
    },
    /// `PRP {tr} {version} code {value}` (canonical with TrID, Escargot without)
    Prp {
        trid: Option<TrId>,
        version: Option<u32>,
        property: String,
        value: Option<WireName>,
    },
    /// `LSG tr version index count group-id name 0`
    Lsg {
        trid: TrId,
        version: u32,
        index: u32,
        count: u32,
        group: u32,
        name: WireName,
    },
    /// `LST tr list version index count {account name {groups}}`
    Lst {
        trid: TrId,
        list: List,
        version: u32,
        index: u32,
        count: u32,
        entry: Option<LstEntry>,
    },
    /// `BPR {version} {account} code {value}` in any of its forms
    Bpr {
        version: Option<u32>,
        account: Option<String>,
        property: String,
        value: Option<WireName>,
    },
    /// `ADD tr list version account name {group}` (`ADD 0 RL …` when someone adds you)
    Add {
        trid: TrId,
        list: List,
        version: u32,
        account: String,
        name: WireName,
        group: Option<u32>,
    },
    /// `REM tr list version account {group}`
    Rem {
        trid: TrId,
        list: List,
        version: u32,
        account: String,
        group: Option<u32>,
    },
    /// `REA tr version account name`
    Rea {
        trid: TrId,
        version: u32,
        account: String,
        name: WireName,
    },
    /// `ADG tr version name group-id {0}`
    Adg {
        trid: TrId,
        version: u32,
        name: WireName,
        group: u32,
    },
    /// `RMG tr version group-id`
    Rmg {
        trid: TrId,
        version: u32,
        group: u32,
    },
    /// `REG tr version group-id name {0}`
    Reg {
        trid: TrId,
        version: u32,
        group: u32,
        name: WireName,
    },
    /// `CHG tr status {capabilities}`
    Chg {
        trid: TrId,
        status: Status,
        capabilities: Option<String>,
    },
    /// `ILN tr status account name {capabilities}`
    Iln {
        trid: TrId,
        status: Status,
        account: String,
        name: WireName,
        capabilities: Option<String>,
    },
    /// `NLN status account name {capabilities}`
    Nln {
        status: Status,
        account: String,
        name: WireName,
        capabilities: Option<String>,
    },
    /// `FLN account`
    Fln { account: String },
    /// `CHL 0 challenge`
    Chl { trid: TrId, challenge: String },
    /// `QRY tr` (challenge answer accepted)
    Qry { trid: TrId },
    /// `QNG {seconds}`
    Qng { next: Option<u32> },
    /// `RNG session-id host:port CKI cookie inviter name`
    Rng {
        session_id: String,
        address: String,
        cookie: String,
        inviter: String,
        inviter_name: WireName,
    },
    /// `OUT {reason}`
    Out { reason: Option<String> },
    /// `URL tr …`
    Url { trid: TrId, fields: Vec<String> },
    /// `SND tr …`
    Snd { trid: TrId, fields: Vec<String> },
    /// `SDC tr …`
    Sdc { trid: TrId, fields: Vec<String> },
    /// `IMS tr …`
    Ims { trid: TrId, fields: Vec<String> },
    /// `MSG sender name len` + payload (NS: `MSG Hotmail Hotmail len`)
    Msg {
        sender: String,
        sender_name: WireName,
        payload: Vec<u8>,
    },
    /// `NOT len` + payload
    Not { payload: Vec<u8> },
    /// `IPG len` + payload
    Ipg { payload: Vec<u8> },
    /// `CAL tr RINGING session-id`
    CalRinging { trid: TrId, session_id: String },
    /// `JOI account name {capabilities}`
    Joi {
        account: String,
        name: WireName,
        capabilities: Option<String>,
    },
    /// `IRO tr index count account name {capabilities}`
    Iro {
        trid: TrId,
        index: u32,
        count: u32,
        account: String,
        name: WireName,
        capabilities: Option<String>,
    },
    /// `ANS tr OK`
    AnsOk { trid: TrId },
    /// `BYE account {1}`
    Bye {
        account: String,
        reason: Option<String>,
    },
    /// `ACK tr`
    Ack { trid: TrId },
    /// `NAK tr`
    Nak { trid: TrId },
    /// `NNN tr`: a numeric error. The TrID may be missing on broken servers.
    Error {
        error: ServerError,
        trid: Option<TrId>,
    },
    /// Anything else, kept as received.
    Unknown(Frame),
}

struct Args<'a> {
    code: &'a str,
    line: &'a str,
    toks: Vec<&'a str>,
}

impl<'a> Args<'a> {
    fn new(frame: &'a Frame) -> Self {
        let mut toks: Vec<&str> = frame.tokens().collect();
        let code = if toks.is_empty() { "" } else { toks.remove(0) };
        Args {
            code,
            line: &frame.line,
            toks,
        }
    }

    fn err(&self, reason: &'static str) -> ParseError {
        ParseError {
            code: self.code.to_string(),
            reason,
            line: self.line.to_string(),
        }
    }

    fn len(&self) -> usize {
        self.toks.len()
    }

    fn s(&self, i: usize) -> Result<&'a str, ParseError> {
        self.toks
            .get(i)
            .copied()
            .ok_or_else(|| self.err("missing parameter"))
    }

    fn opt(&self, i: usize) -> Option<String> {
        self.toks.get(i).map(|s| s.to_string())
    }

    fn num(&self, i: usize) -> Result<u32, ParseError> {
        parse_u32(self.s(i)?).ok_or_else(|| self.err("expected a number"))
    }

    fn opt_num(&self, i: usize) -> Result<Option<u32>, ParseError> {
        match self.toks.get(i) {
            None => Ok(None),
            Some(t) => parse_u32(t)
                .map(Some)
                .ok_or_else(|| self.err("expected a number")),
        }
    }

    fn trid(&self) -> Result<TrId, ParseError> {
        self.num(0)
    }

    fn name(&self, i: usize) -> Result<WireName, ParseError> {
        Ok(WireName::from_wire(self.s(i)?))
    }

    fn list(&self, i: usize) -> Result<List, ParseError> {
        List::from_code(self.s(i)?).ok_or_else(|| self.err("unknown list"))
    }

    fn rest(&self, from: usize) -> Vec<String> {
        self.toks.iter().skip(from).map(|s| s.to_string()).collect()
    }

    fn expect_max(&self, n: usize) -> Result<(), ParseError> {
        if self.len() > n {
            Err(self.err("too many parameters"))
        } else {
            Ok(())
        }
    }
}

/// Parses a decimal u32 made of digits only.
pub fn parse_u32(token: &str) -> Option<u32> {
    if token.is_empty() || token.len() > 10 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

fn parse_groups(token: &str) -> Option<Vec<u32>> {
    token.split(',').map(parse_u32).collect()
}

fn join_groups(groups: &[u32]) -> String {
    groups
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn is_property_code(token: &str) -> bool {
    token.len() == 3 && token.bytes().all(|b| b.is_ascii_uppercase())
}

/// Builds a frame from tokens and an optional payload (whose length becomes the last token).
fn frame(tokens: Vec<String>, payload: Option<Vec<u8>>) -> Frame {
    let mut line = tokens.join(" ");
    if let Some(p) = &payload {
        line.push(' ');
        line.push_str(&p.len().to_string());
    }
    Frame { line, payload }
}

macro_rules! toks {
    ($($e:expr),* $(,)?) => { vec![$($e.to_string()),*] };
}

fn push_opt(v: &mut Vec<String>, o: &Option<impl ToString>) {
    if let Some(x) = o {
        v.push(x.to_string());
    }
}

impl ClientCommand {
    /// Parses a frame sent by a client.
    pub fn parse(frame: &Frame) -> Result<ClientCommand, ParseError> {
        let a = Args::new(frame);
        let payload = || frame.payload.clone().unwrap_or_default();
        let cmd = match a.code {
            "VER" => ClientCommand::Ver {
                trid: a.trid()?,
                dialects: a.rest(1),
            },
            "INF" => ClientCommand::Inf { trid: a.trid()? },
            "CVR" => ClientCommand::Cvr {
                trid: a.trid()?,
                fields: a.rest(1),
            },
            "USR" => {
                let trid = a.trid()?;
                match (a.s(1)?, a.opt(2).as_deref()) {
                    ("MD5", Some("I")) => ClientCommand::UsrMd5Initial {
                        trid,
                        account: a.s(3)?.to_string(),
                    },
                    ("MD5", Some("S")) => ClientCommand::UsrMd5Response {
                        trid,
                        hash: a.s(3)?.to_string(),
                    },
                    ("TWN", Some("I")) => ClientCommand::UsrTwnInitial {
                        trid,
                        account: a.s(3)?.to_string(),
                    },
                    ("TWN", Some("S")) => ClientCommand::UsrTwnResponse {
                        trid,
                        ticket: a.s(3)?.to_string(),
                    },
                    (account, Some(cookie)) if a.len() == 3 => ClientCommand::UsrSb {
                        trid,
                        account: account.to_string(),
                        cookie: cookie.to_string(),
                    },
                    _ => return Err(a.err("unknown USR form")),
                }
            }
            "SYN" => ClientCommand::Syn {
                trid: a.trid()?,
                version: a.num(1)?,
            },
            "CHG" => ClientCommand::Chg {
                trid: a.trid()?,
                status: Status::from_code(a.s(1)?),
                capabilities: a.opt(2),
            },
            "ADD" => {
                let list = a.list(1)?;
                ClientCommand::Add {
                    trid: a.trid()?,
                    list,
                    account: a.s(2)?.to_string(),
                    nick: a.name(3)?,
                    group: a.opt_num(4)?,
                }
            }
            "REM" => ClientCommand::Rem {
                trid: a.trid()?,
                list: a.list(1)?,
                account: a.s(2)?.to_string(),
                group: a.opt_num(3)?,
            },
            "REA" => ClientCommand::Rea {
                trid: a.trid()?,
                account: a.s(1)?.to_string(),
                name: a.name(2)?,
            },
            "ADG" => ClientCommand::Adg {
                trid: a.trid()?,
                name: a.name(1)?,
            },
            "RMG" => ClientCommand::Rmg {
                trid: a.trid()?,
                group: a.num(1)?,
            },
            "REG" => ClientCommand::Reg {
                trid: a.trid()?,
                group: a.num(1)?,
                name: a.name(2)?,
            },
            "BLP" => ClientCommand::Blp {
                trid: a.trid()?,
                privacy: Privacy::from_code(a.s(1)?)
                    .ok_or_else(|| a.err("BLP value must be AL or BL"))?,
            },
            "GTC" => ClientCommand::Gtc {
                trid: a.trid()?,
                prompt: AddPrompt::from_code(a.s(1)?)
                    .ok_or_else(|| a.err("GTC value must be A or N"))?,
            },
            "PRP" => ClientCommand::Prp {
                trid: a.trid()?,
                property: a.s(1)?.to_string(),
                value: a.opt(2).map(WireName::from_wire),
            },
            "QRY" => ClientCommand::Qry {
                trid: a.trid()?,
                client_id: a.s(1)?.to_string(),
                answer: payload(),
            },
            "PNG" => ClientCommand::Png,
            "XFR" => {
                let trid = a.trid()?;
                if a.s(1)? != "SB" {
                    return Err(a.err("XFR destination must be SB"));
                }
                ClientCommand::XfrSb { trid }
            }
            "URL" => ClientCommand::Url {
                trid: a.trid()?,
                service: a.s(1)?.to_string(),
                param: a.opt(2),
            },
            "SND" => ClientCommand::Snd {
                trid: a.trid()?,
                account: a.s(1)?.to_string(),
                rest: a.rest(2),
            },
            "SDC" => {
                let mut fields = a.rest(1);
                fields.pop(); // the payload length
                ClientCommand::Sdc {
                    trid: a.trid()?,
                    fields,
                    note: payload(),
                }
            }
            "IMS" => ClientCommand::Ims {
                trid: a.trid()?,
                on: match a.s(1)? {
                    "ON" => true,
                    "OFF" => false,
                    _ => return Err(a.err("IMS value must be ON or OFF")),
                },
            },
            "OUT" => ClientCommand::Out,
            "ANS" => {
                a.expect_max(4)?;
                ClientCommand::Ans {
                    trid: a.trid()?,
                    account: a.s(1)?.to_string(),
                    cookie: a.s(2)?.to_string(),
                    session_id: a.s(3)?.to_string(),
                }
            }
            "CAL" => {
                a.expect_max(2)?;
                ClientCommand::Cal {
                    trid: a.trid()?,
                    account: a.s(1)?.to_string(),
                }
            }
            "MSG" => ClientCommand::Msg {
                trid: a.trid()?,
                ack: AckMode::from_code(a.s(1)?).ok_or_else(|| a.err("invalid ack mode"))?,
                payload: payload(),
            },
            _ => ClientCommand::Unknown(frame.clone()),
        };
        Ok(cmd)
    }

    /// The transaction id, for commands that carry one.
    pub fn trid(&self) -> Option<TrId> {
        use ClientCommand::*;
        match self {
            Ver { trid, .. }
            | Inf { trid }
            | Cvr { trid, .. }
            | UsrMd5Initial { trid, .. }
            | UsrMd5Response { trid, .. }
            | UsrTwnInitial { trid, .. }
            | UsrTwnResponse { trid, .. }
            | UsrSb { trid, .. }
            | Syn { trid, .. }
            | Chg { trid, .. }
            | Add { trid, .. }
            | Rem { trid, .. }
            | Rea { trid, .. }
            | Adg { trid, .. }
            | Rmg { trid, .. }
            | Reg { trid, .. }
            | Blp { trid, .. }
            | Gtc { trid, .. }
            | Prp { trid, .. }
            | Qry { trid, .. }
            | XfrSb { trid }
            | Url { trid, .. }
            | Snd { trid, .. }
            | Sdc { trid, .. }
            | Ims { trid, .. }
            | Ans { trid, .. }
            | Cal { trid, .. }
            | Msg { trid, .. } => Some(*trid),
            Png | Out | Unknown(_) => None,
        }
    }

    /// The frame this command serialises to.
    pub fn to_frame(&self) -> Frame {
        use ClientCommand::*;
        match self {
            Ver { trid, dialects } => {
                let mut t = toks!["VER", trid];
                t.extend(dialects.iter().cloned());
                frame(t, None)
            }
            Inf { trid } => frame(toks!["INF", trid], None),
            Cvr { trid, fields } => {
                let mut t = toks!["CVR", trid];
                t.extend(fields.iter().cloned());
                frame(t, None)
            }
            UsrMd5Initial { trid, account } => frame(toks!["USR", trid, "MD5", "I", account], None),
            UsrMd5Response { trid, hash } => frame(toks!["USR", trid, "MD5", "S", hash], None),
            UsrTwnInitial { trid, account } => frame(toks!["USR", trid, "TWN", "I", account], None),
            UsrTwnResponse { trid, ticket } => frame(toks!["USR", trid, "TWN", "S", ticket], None),
            UsrSb {
                trid,
                account,
                cookie,
            } => frame(toks!["USR", trid, account, cookie], None),
            Syn { trid, version } => frame(toks!["SYN", trid, version], None),
            Chg {
                trid,
                status,
                capabilities,
            } => {
                let mut t = toks!["CHG", trid, status];
                push_opt(&mut t, capabilities);
                frame(t, None)
            }
            Add {
                trid,
                list,
                account,
                nick,
                group,
            } => {
                let mut t = toks!["ADD", trid, list, account, nick];
                push_opt(&mut t, group);
                frame(t, None)
            }
            Rem {
                trid,
                list,
                account,
                group,
            } => {
                let mut t = toks!["REM", trid, list, account];
                push_opt(&mut t, group);
                frame(t, None)
            }
            Rea {
                trid,
                account,
                name,
            } => frame(toks!["REA", trid, account, name], None),
            Adg { trid, name } => frame(toks!["ADG", trid, name, 0], None),
            Rmg { trid, group } => frame(toks!["RMG", trid, group], None),
            Reg { trid, group, name } => frame(toks!["REG", trid, group, name, 0], None),
            Blp { trid, privacy } => frame(toks!["BLP", trid, privacy.code()], None),
            Gtc { trid, prompt } => frame(toks!["GTC", trid, prompt.code()], None),
            Prp {
                trid,
                property,
                value,
            } => {
                let mut t = toks!["PRP", trid, property];
                push_opt(&mut t, value);
                frame(t, None)
            }
            Qry {
                trid,
                client_id,
                answer,
            } => frame(toks!["QRY", trid, client_id], Some(answer.clone())),
            Png => frame(toks!["PNG"], None),
            XfrSb { trid } => frame(toks!["XFR", trid, "SB"], None),
            Url {
                trid,
                service,
                param,
            } => {
                let mut t = toks!["URL", trid, service];
                push_opt(&mut t, param);
                frame(t, None)
            }
            Snd {
                trid,
                account,
                rest,
            } => {
                let mut t = toks!["SND", trid, account];
                t.extend(rest.iter().cloned());
                frame(t, None)
            }
            Sdc { trid, fields, note } => {
                let mut t = toks!["SDC", trid];
                t.extend(fields.iter().cloned());
                frame(t, Some(note.clone()))
            }
            Ims { trid, on } => frame(toks!["IMS", trid, if *on { "ON" } else { "OFF" }], None),
            Out => frame(toks!["OUT"], None),
            Ans {
                trid,
                account,
                cookie,
                session_id,
            } => frame(toks!["ANS", trid, account, cookie, session_id], None),
            Cal { trid, account } => frame(toks!["CAL", trid, account], None),
            Msg { trid, ack, payload } => {
                frame(toks!["MSG", trid, ack.code()], Some(payload.clone()))
            }
            Unknown(f) => f.clone(),
        }
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_frame().to_bytes()
    }
}

impl ServerCommand {
    /// Parses a frame sent by a server.
    pub fn parse(frame: &Frame) -> Result<ServerCommand, ParseError> {
        let a = Args::new(frame);
        let payload = || frame.payload.clone().unwrap_or_default();
        if a.code.len() == 3 && a.code.bytes().all(|b| b.is_ascii_digit()) {
            let code: u16 = a.code.parse().map_err(|_| a.err("bad error code"))?;
            return Ok(ServerCommand::Error {
                error: ServerError::from_code(code),
                trid: a.opt_num(0)?,
            });
        }
        let cmd = match a.code {
            "VER" => ServerCommand::Ver {
                trid: a.trid()?,
                dialects: a.rest(1),
            },
            "INF" => ServerCommand::Inf {
                trid: a.trid()?,
                methods: a.rest(1),
            },
            "CVR" => ServerCommand::Cvr {
                trid: a.trid()?,
                fields: a.rest(1),
            },
            "USR" => {
                let trid = a.trid()?;
                match (a.s(1)?, a.opt(2).as_deref()) {
                    ("MD5", Some("S")) => ServerCommand::UsrMd5Salt {
                        trid,
                        salt: a.s(3)?.to_string(),
                    },
                    ("TWN", Some("S")) => ServerCommand::UsrTwnChallenge {
                        trid,
                        challenge: a.s(3)?.to_string(),
                    },
                    ("OK", _) => ServerCommand::UsrOk {
                        trid,
                        account: a.s(2)?.to_string(),
                        name: a.name(3)?,
                        verified: a.opt(4),
                        restricted: a.opt(5),
                    },
                    _ => return Err(a.err("unknown USR form")),
                }
            }
            "XFR" => {
                let trid = a.trid()?;
                match a.s(1)? {
                    "NS" => {
                        let current = match (a.opt(2), a.opt(3), a.opt(4)) {
                            (_, Some(zero), Some(cur)) if zero == "0" => Some(cur),
                            (_, None, None) => None,
                            _ => return Err(a.err("unexpected XFR NS form")),
                        };
                        ServerCommand::XfrNs {
                            trid,
                            address: a.s(2)?.to_string(),
                            current,
                        }
                    }
                    "SB" => {
                        if a.s(3)? != "CKI" {
                            return Err(a.err("XFR SB without CKI"));
                        }
                        ServerCommand::XfrSb {
                            trid,
                            address: a.s(2)?.to_string(),
                            cookie: a.s(4)?.to_string(),
                        }
                    }
                    _ => return Err(a.err("unknown XFR destination")),
                }
            }
            "SYN" if a.len() >= 4 => ServerCommand::Syn8 {
                trid: a.trid()?,
                version: a.num(1)?,
                contacts: a.num(2)?,
                groups: a.num(3)?,
            },
            "SYN" => ServerCommand::Syn {
                trid: a.trid()?,
                version: a.num(1)?,
            },
            "GTC" if a.len() == 1 => ServerCommand::Gtc8 {
                prompt: AddPrompt::from_code(a.s(0)?).ok_or_else(|| a.err("bad GTC value"))?,
            },
            "BLP" if a.len() == 1 => ServerCommand::Blp8 {
                privacy: Privacy::from_code(a.s(0)?).ok_or_else(|| a.err("bad BLP value"))?,
            },
            "LSG" if a.len() <= 3 => ServerCommand::Lsg8 {
                group: a.num(0)?,
                name: a.name(1)?,
            },
            "LST" if parse_u32(a.s(0)?).is_none() => ServerCommand::Lst8 {
                account: a.s(0)?.to_string(),
                name: a.name(1)?,
                lists: a.num(2)?,
                groups: match a.toks.get(3) {
                    Some(g) => Some(parse_groups(g).ok_or_else(|| a.err("bad group list"))?),
                    None => None,
                },
            },
            "GTC" => ServerCommand::Gtc {
                trid: a.trid()?,
                version: a.num(1)?,
                prompt: AddPrompt::from_code(a.s(2)?).ok_or_else(|| a.err("bad GTC value"))?,
            },
            "BLP" => ServerCommand::Blp {
                trid: a.trid()?,
                version: a.num(1)?,
                privacy: Privacy::from_code(a.s(2)?).ok_or_else(|| a.err("bad BLP value"))?,
            },
            "PRP" => {
                let pos = a
                    .toks
                    .iter()
                    .position(|t| is_property_code(t))
                    .ok_or_else(|| a.err("no property code"))?;
                let (trid, version) = match pos {
                    0 => (None, None),
                    1 => (None, Some(a.num(0)?)),
                    2 => (Some(a.num(0)?), Some(a.num(1)?)),
                    _ => return Err(a.err("unexpected PRP form")),
                };
                ServerCommand::Prp {
                    trid,
                    version,
                    property: a.s(pos)?.to_string(),
                    value: a.opt(pos + 1).map(WireName::from_wire),
                }
            }
            "LSG" => ServerCommand::Lsg {
                trid: a.trid()?,
                version: a.num(1)?,
                index: a.num(2)?,
                count: a.num(3)?,
                group: a.num(4)?,
                name: a.name(5)?,
            },
            "LST" => {
                let (trid, list, version, index, count) =
                    (a.trid()?, a.list(1)?, a.num(2)?, a.num(3)?, a.num(4)?);
                let entry = if a.len() <= 5 {
                    None
                } else {
                    let groups = match a.toks.get(7) {
                        Some(g) => Some(parse_groups(g).ok_or_else(|| a.err("bad group list"))?),
                        None => None,
                    };
                    Some(LstEntry {
                        account: a.s(5)?.to_string(),
                        name: a.name(6)?,
                        groups,
                    })
                };
                ServerCommand::Lst {
                    trid,
                    list,
                    version,
                    index,
                    count,
                    entry,
                }
            }
            "BPR" => {
                let pos = a
                    .toks
                    .iter()
                    .position(|t| is_property_code(t))
                    .ok_or_else(|| a.err("no property code"))?;
                let mut version = None;
                let mut account = None;
                for t in &a.toks[..pos] {
                    if t.contains('@') {
                        account = Some(t.to_string());
                    } else if let Some(v) = parse_u32(t) {
                        version = Some(v);
                    } else {
                        return Err(a.err("unexpected BPR parameter"));
                    }
                }
                ServerCommand::Bpr {
                    version,
                    account,
                    property: a.s(pos)?.to_string(),
                    value: a.opt(pos + 1).map(WireName::from_wire),
                }
            }
            "ADD" => ServerCommand::Add {
                trid: a.trid()?,
                list: a.list(1)?,
                version: a.num(2)?,
                account: a.s(3)?.to_string(),
                name: a.name(4)?,
                group: a.opt_num(5)?,
            },
            "REM" => ServerCommand::Rem {
                trid: a.trid()?,
                list: a.list(1)?,
                version: a.num(2)?,
                account: a.s(3)?.to_string(),
                group: a.opt_num(4)?,
            },
            "REA" => ServerCommand::Rea {
                trid: a.trid()?,
                version: a.num(1)?,
                account: a.s(2)?.to_string(),
                name: a.name(3)?,
            },
            "ADG" => ServerCommand::Adg {
                trid: a.trid()?,
                version: a.num(1)?,
                name: a.name(2)?,
                group: a.num(3)?,
            },
            "RMG" => ServerCommand::Rmg {
                trid: a.trid()?,
                version: a.num(1)?,
                group: a.num(2)?,
            },
            "REG" => ServerCommand::Reg {
                trid: a.trid()?,
                version: a.num(1)?,
                group: a.num(2)?,
                name: a.name(3)?,
            },
            "CHG" => ServerCommand::Chg {
                trid: a.trid()?,
                status: Status::from_code(a.s(1)?),
                capabilities: a.opt(2),
            },
            "ILN" => ServerCommand::Iln {
                trid: a.trid()?,
                status: Status::from_code(a.s(1)?),
                account: a.s(2)?.to_string(),
                name: a.name(3)?,
                capabilities: a.opt(4),
            },
            "NLN" => ServerCommand::Nln {
                status: Status::from_code(a.s(0)?),
                account: a.s(1)?.to_string(),
                name: a.name(2)?,
                capabilities: a.opt(3),
            },
            "FLN" => ServerCommand::Fln {
                account: a.s(0)?.to_string(),
            },
            "CHL" => ServerCommand::Chl {
                trid: a.trid()?,
                challenge: a.s(1)?.to_string(),
            },
            "QRY" => ServerCommand::Qry { trid: a.trid()? },
            "QNG" => ServerCommand::Qng {
                next: a.opt_num(0)?,
            },
            "RNG" => {
                if a.s(2)? != "CKI" {
                    return Err(a.err("RNG without CKI"));
                }
                ServerCommand::Rng {
                    session_id: a.s(0)?.to_string(),
                    address: a.s(1)?.to_string(),
                    cookie: a.s(3)?.to_string(),
                    inviter: a.s(4)?.to_string(),
                    inviter_name: a.name(5)?,
                }
            }
            "OUT" => ServerCommand::Out { reason: a.opt(0) },
            "URL" => ServerCommand::Url {
                trid: a.trid()?,
                fields: a.rest(1),
            },
            "SND" => ServerCommand::Snd {
                trid: a.trid()?,
                fields: a.rest(1),
            },
            "SDC" => ServerCommand::Sdc {
                trid: a.trid()?,
                fields: a.rest(1),
            },
            "IMS" => ServerCommand::Ims {
                trid: a.trid()?,
                fields: a.rest(1),
            },
            "MSG" => ServerCommand::Msg {
                sender: a.s(0)?.to_string(),
                sender_name: a.name(1)?,
                payload: payload(),
            },
            "NOT" => ServerCommand::Not { payload: payload() },
            "IPG" => ServerCommand::Ipg { payload: payload() },
            "CAL" => {
                if a.s(1)? != "RINGING" {
                    return Err(a.err("CAL reply without RINGING"));
                }
                ServerCommand::CalRinging {
                    trid: a.trid()?,
                    session_id: a.s(2)?.to_string(),
                }
            }
            "JOI" => ServerCommand::Joi {
                account: a.s(0)?.to_string(),
                name: a.name(1)?,
                capabilities: a.opt(2),
            },
            "IRO" => ServerCommand::Iro {
                trid: a.trid()?,
                index: a.num(1)?,
                count: a.num(2)?,
                account: a.s(3)?.to_string(),
                name: a.name(4)?,
                capabilities: a.opt(5),
            },
            "ANS" => {
                if a.s(1)? != "OK" {
                    return Err(a.err("ANS reply without OK"));
                }
                ServerCommand::AnsOk { trid: a.trid()? }
            }
            "BYE" => ServerCommand::Bye {
                account: a.s(0)?.to_string(),
                reason: a.opt(1),
            },
            "ACK" => ServerCommand::Ack { trid: a.trid()? },
            "NAK" => ServerCommand::Nak { trid: a.trid()? },
            _ => ServerCommand::Unknown(frame.clone()),
        };
        Ok(cmd)
    }

    /// The transaction id this line answers, if any (0 and missing ids give `None`).
    pub fn trid(&self) -> Option<TrId> {
        use ServerCommand::*;
        let t = match self {
            Ver { trid, .. }
            | Inf { trid, .. }
            | Cvr { trid, .. }
            | UsrMd5Salt { trid, .. }
            | UsrTwnChallenge { trid, .. }
            | UsrOk { trid, .. }
            | XfrNs { trid, .. }
            | XfrSb { trid, .. }
            | Syn { trid, .. }
            | Syn8 { trid, .. }
            | Gtc { trid, .. }
            | Blp { trid, .. }
            | Lsg { trid, .. }
            | Lst { trid, .. }
            | Add { trid, .. }
            | Rem { trid, .. }
            | Rea { trid, .. }
            | Adg { trid, .. }
            | Rmg { trid, .. }
            | Reg { trid, .. }
            | Chg { trid, .. }
            | Iln { trid, .. }
            | Chl { trid, .. }
            | Qry { trid }
            | Url { trid, .. }
            | Snd { trid, .. }
            | Sdc { trid, .. }
            | Ims { trid, .. }
            | CalRinging { trid, .. }
            | Iro { trid, .. }
            | AnsOk { trid }
            | Ack { trid }
            | Nak { trid } => *trid,
            Prp { trid, .. } => trid.unwrap_or(0),
            Error { trid, .. } => trid.unwrap_or(0),
            Bpr { .. }
            | Gtc8 { .. }
            | Blp8 { .. }
            | Lsg8 { .. }
            | Lst8 { .. }
            | Nln { .. }
            | Fln { .. }
            | Qng { .. }
            | Rng { .. }
            | Out { .. }
            | Msg { .. }
            | Not { .. }
            | Ipg { .. }
            | Joi { .. }
            | Bye { .. }
            | Unknown(_) => 0,
        };
        (t != 0).then_some(t)
    }

    /// The frame this command serialises to.
    pub fn to_frame(&self) -> Frame {
        use ServerCommand::*;
        match self {
            Ver { trid, dialects } => {
                let mut t = toks!["VER", trid];
                t.extend(dialects.iter().cloned());
                frame(t, None)
            }
            Inf { trid, methods } => {
                let mut t = toks!["INF", trid];
                t.extend(methods.iter().cloned());
                frame(t, None)
            }
            Cvr { trid, fields } => {
                let mut t = toks!["CVR", trid];
                t.extend(fields.iter().cloned());
                frame(t, None)
            }
            UsrMd5Salt { trid, salt } => frame(toks!["USR", trid, "MD5", "S", salt], None),
            UsrTwnChallenge { trid, challenge } => {
                frame(toks!["USR", trid, "TWN", "S", challenge], None)
            }
            UsrOk {
                trid,
                account,
                name,
                verified,
                restricted,
            } => {
                let mut t = toks!["USR", trid, "OK", account, name];
                push_opt(&mut t, verified);
                push_opt(&mut t, restricted);
                frame(t, None)
            }
            XfrNs {
                trid,
                address,
                current,
            } => {
                let mut t = toks!["XFR", trid, "NS", address];
                if let Some(c) = current {
                    t.push("0".into());
                    t.push(c.clone());
                }
                frame(t, None)
            }
            XfrSb {
                trid,
                address,
                cookie,
            } => frame(toks!["XFR", trid, "SB", address, "CKI", cookie], None),
            Syn { trid, version } => frame(toks!["SYN", trid, version], None),
            Syn8 {
                trid,
                version,
                contacts,
                groups,
            } => frame(toks!["SYN", trid, version, contacts, groups], None),
            Gtc8 { prompt } => frame(toks!["GTC", prompt.code()], None),
            Blp8 { privacy } => frame(toks!["BLP", privacy.code()], None),
            Lsg8 { group, name } => frame(toks!["LSG", group, name, 0], None),
            Lst8 {
                account,
                name,
                lists,
                groups,
            } => {
                let mut t = toks!["LST", account, name, lists];
                if let Some(g) = groups {
                    t.push(join_groups(g));
                }
                frame(t, None)
            }
            Gtc {
                trid,
                version,
                prompt,
            } => frame(toks!["GTC", trid, version, prompt.code()], None),
            Blp {
                trid,
                version,
                privacy,
            } => frame(toks!["BLP", trid, version, privacy.code()], None),
            Prp {
                trid,
                version,
                property,
                value,
            } => {
                let mut t = toks!["PRP"];
                push_opt(&mut t, trid);
                push_opt(&mut t, version);
                t.push(property.clone());
                push_opt(&mut t, value);
                frame(t, None)
            }
            Lsg {
                trid,
                version,
                index,
                count,
                group,
                name,
            } => frame(
                toks!["LSG", trid, version, index, count, group, name, 0],
                None,
            ),
            Lst {
                trid,
                list,
                version,
                index,
                count,
                entry,
            } => {
                let mut t = toks!["LST", trid, list, version, index, count];
                if let Some(e) = entry {
                    t.push(e.account.clone());
                    t.push(e.name.to_string());
                    if let Some(g) = &e.groups {
                        t.push(join_groups(g));
                    }
                }
                frame(t, None)
            }
            Bpr {
                version,
                account,
                property,
                value,
            } => {
                let mut t = toks!["BPR"];
                push_opt(&mut t, version);
                push_opt(&mut t, account);
                t.push(property.clone());
                push_opt(&mut t, value);
                frame(t, None)
            }
            Add {
                trid,
                list,
                version,
                account,
                name,
                group,
            } => {
                let mut t = toks!["ADD", trid, list, version, account, name];
                push_opt(&mut t, group);
                frame(t, None)
            }
            Rem {
                trid,
                list,
                version,
                account,
                group,
            } => {
                let mut t = toks!["REM", trid, list, version, account];
                push_opt(&mut t, group);
                frame(t, None)
            }
            Rea {
                trid,
                version,
                account,
                name,
            } => frame(toks!["REA", trid, version, account, name], None),
            Adg {
                trid,
                version,
                name,
                group,
            } => frame(toks!["ADG", trid, version, name, group, 0], None),
            Rmg {
                trid,
                version,
                group,
            } => frame(toks!["RMG", trid, version, group], None),
            Reg {
                trid,
                version,
                group,
                name,
            } => frame(toks!["REG", trid, version, group, name, 0], None),
            Chg {
                trid,
                status,
                capabilities,
            } => {
                let mut t = toks!["CHG", trid, status];
                push_opt(&mut t, capabilities);
                frame(t, None)
            }
            Iln {
                trid,
                status,
                account,
                name,
                capabilities,
            } => {
                let mut t = toks!["ILN", trid, status, account, name];
                push_opt(&mut t, capabilities);
                frame(t, None)
            }
            Nln {
                status,
                account,
                name,
                capabilities,
            } => {
                let mut t = toks!["NLN", status, account, name];
                push_opt(&mut t, capabilities);
                frame(t, None)
            }
            Fln { account } => frame(toks!["FLN", account], None),
            Chl { trid, challenge } => frame(toks!["CHL", trid, challenge], None),
            Qry { trid } => frame(toks!["QRY", trid], None),
            Qng { next } => {
                let mut t = toks!["QNG"];
                push_opt(&mut t, next);
                frame(t, None)
            }
            Rng {
                session_id,
                address,
                cookie,
                inviter,
                inviter_name,
            } => frame(
                toks![
                    "RNG",
                    session_id,
                    address,
                    "CKI",
                    cookie,
                    inviter,
                    inviter_name
                ],
                None,
            ),
            Out { reason } => {
                let mut t = toks!["OUT"];
                push_opt(&mut t, reason);
                frame(t, None)
            }
            Url { trid, fields }
            | Snd { trid, fields }
            | Sdc { trid, fields }
            | Ims { trid, fields } => {
                let code = match self {
                    Url { .. } => "URL",
                    Snd { .. } => "SND",
                    Sdc { .. } => "SDC",
                    _ => "IMS",
                };
                let mut t = toks![code, trid];
                t.extend(fields.iter().cloned());
                frame(t, None)
            }
            Msg {
                sender,
                sender_name,
                payload,
            } => frame(toks!["MSG", sender, sender_name], Some(payload.clone())),
            Not { payload } => frame(toks!["NOT"], Some(payload.clone())),
            Ipg { payload } => frame(toks!["IPG"], Some(payload.clone())),
            CalRinging { trid, session_id } => {
                frame(toks!["CAL", trid, "RINGING", session_id], None)
            }
            Joi {
                account,
                name,
                capabilities,
            } => {
                let mut t = toks!["JOI", account, name];
                push_opt(&mut t, capabilities);
                frame(t, None)
            }
            Iro {
                trid,
                index,
                count,
                account,
                name,
                capabilities,
            } => {
                let mut t = toks!["IRO", trid, index, count, account, name];
                push_opt(&mut t, capabilities);
                frame(t, None)
            }
            AnsOk { trid } => frame(toks!["ANS", trid, "OK"], None),
            Bye { account, reason } => {
                let mut t = toks!["BYE", account];
                push_opt(&mut t, reason);
                frame(t, None)
            }
            Ack { trid } => frame(toks!["ACK", trid], None),
            Nak { trid } => frame(toks!["NAK", trid], None),
            Error { error, trid } => {
                let mut t = vec![format!("{:03}", error.code())];
                push_opt(&mut t, trid);
                frame(t, None)
            }
            Unknown(f) => f.clone(),
        }
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_frame().to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(line: &str) -> Frame {
        Frame {
            line: line.to_string(),
            payload: None,
        }
    }

    #[test]
    fn server_round_trips() {
        for line in [
            "VER 1 MSNP7 CVR0",
            "VER 1 0",
            "INF 2 MD5",
            "USR 3 MD5 S 1056561624.17795",
            "USR 4 OK alice@example.com Alice 1",
            "USR 1 OK alice@example.com Alice",
            "USR 4 OK carol@example.com Carol 1 0",
            "USR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1",
            "SYN 5 57 4 2",
            "SYN 5 1 0 1",
            "GTC A",
            "BLP BL",
            "LSG 0 Other%20Contacts 0",
            "LST carol@example.com Carol%20C. 11 0,1",
            "LST dan@example.com dan@example.com 10",
            "ILN 6 NLN dave@example.com Dave 0",
            "NLN NLN dave@example.com Dave 268435492",
            "XFR 3 NS 192.0.2.10:1863 0 192.0.2.1:1863",
            "XFR 3 NS 192.0.2.10:1863",
            "XFR 9 SB sb.example.com:1864 CKI 2d5c60a9c44bf6abf55e",
            "SYN 5 12",
            "GTC 5 12 A",
            "BLP 5 12 AL",
            "PRP 5 12 PHH 425%20555%200100",
            "PRP 5 12 PHW",
            "PRP 12 PHH 123",
            "LSG 5 12 1 3 0 Other%20Contacts 0",
            "LST 5 FL 12 2 4 carol@example.com Carol%20C. 1,2",
            "LST 5 AL 12 1 4 bob@example.com Bob",
            "LST 5 BL 12 0 0",
            "BPR 12 bob@example.com PHH 425%20555%200142",
            "BPR 3 alice@example.com MOB N",
            "BPR 12 PHH 123",
            "BPR PHH 123",
            "ADD 0 RL 4 bob@example.com Bob",
            "ADD 8 FL 13 frank@example.com frank@example.com 1",
            "REM 0 RL 20 henry@example.com",
            "REM 11 FL 16 zoe@example.com 2",
            "REA 14 20 alice@example.com Alice%20%E2%98%95",
            "ADG 15 21 Family 3 0",
            "RMG 16 22 3",
            "REG 17 23 2 Work 0",
            "CHG 6 NLN",
            "CHG 6 NLN 0",
            "ILN 6 AWY carol@example.com Carol%20C.",
            "NLN NLN zoe@example.com Zo%C3%AB%20%F0%9F%8C%BB",
            "FLN zoe@example.com",
            "CHL 0 15570131571988941333",
            "QRY 7",
            "QNG",
            "QNG 60",
            "RNG 8eb3fb536f83e4247859927714c9bc3 sb.example.com:1864 CKI 4ae041ad266f9d19d73d alice@example.com Alice",
            "OUT OTH",
            "OUT",
            "URL 10 /unused1 /unused2 1",
            "SDC 31 OK",
            "CAL 2 RINGING 8eb3fb536f83e4247859927714c9bc3",
            "JOI bob@example.com Bob",
            "IRO 1 1 1 alice@example.com Alice",
            "ANS 1 OK",
            "BYE bob@example.com",
            "BYE bob@example.com 1",
            "ACK 3",
            "NAK 3",
            "911 4",
            "217 2",
            "FOO 1 bar",
        ] {
            let cmd = ServerCommand::parse(&f(line)).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(cmd.to_frame().line, line, "{cmd:?}");
            assert!(!matches!(cmd, ServerCommand::Unknown(_)) || line.starts_with("FOO"), "{line}");
        }
    }

    #[test]
    fn client_round_trips() {
        for line in [
            "VER 1 MSNP7 CVR0",
            "INF 2",
            "CVR 2 0x0409 winnt 5.1 i386 MSMSGS 4.6.0083 MSMSGS",
            "USR 3 MD5 I alice@example.com",
            "USR 4 MD5 S 483eee01d6a1de1b668cac9a0ac75d91",
            "USR 1 alice@example.com 2d5c60a9c44bf6abf55e",
            "SYN 5 0",
            "CHG 6 NLN",
            "CHG 6 NLN 0",
            "VER 1 MSNP8 MSNP7 CVR0",
            "CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 5.0.0544 MSMSGS alice@example.com",
            "USR 3 TWN I alice@example.com",
            "USR 4 TWN S 2e1d001d1a3c247a084d",
            "USR 4 TWN S t=4Ab3LfQzA9kW*1xYt7uVn2M8sDc0pGh5Ej6Rr$$&p=9Zq2Hw4Kx7Pm1Ty3!Uv6Bn8Cd0Fg5Jl$$",
            "ADD 8 FL frank@example.com frank@example.com 1",
            "ADD 9 AL frank@example.com frank@example.com",
            "REM 11 FL zoe@example.com",
            "REM 11 FL zoe@example.com 2",
            "REA 14 alice@example.com Alice%20%E2%98%95",
            "ADG 15 Family 0",
            "RMG 16 3",
            "REG 17 2 Work 0",
            "BLP 18 BL",
            "GTC 19 N",
            "PRP 20 PHH 123",
            "PRP 20 PHW",
            "PNG",
            "XFR 9 SB",
            "URL 10 INBOX",
            "SND 30 dan@example.com",
            "IMS 5 OFF",
            "OUT",
            "ANS 1 bob@example.com 4ae041ad266f9d19d73d 8eb3fb536f83e4247859927714c9bc3",
            "CAL 2 bob@example.com",
            "ZZZ 1",
        ] {
            let cmd = ClientCommand::parse(&f(line)).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(cmd.to_frame().line, line, "{cmd:?}");
        }
    }

    #[test]
    fn payload_commands_round_trip() {
        let msg = Frame {
            line: "MSG 3 A 5".into(),
            payload: Some(b"hello".to_vec()),
        };
        let cmd = ClientCommand::parse(&msg).unwrap();
        assert_eq!(cmd.to_frame(), msg);
        let qry = Frame {
            line: "QRY 7 msmsgs@msnmsgr.com 32".into(),
            payload: Some(vec![b'a'; 32]),
        };
        assert_eq!(ClientCommand::parse(&qry).unwrap().to_frame(), qry);
        let sdc = Frame {
            line: "SDC 31 dan@example.com 0x0409 MSMSGS WindowsMessenger X X Alice 35".into(),
            payload: Some(b"Come and chat with me on Messenger!".to_vec()),
        };
        assert_eq!(ClientCommand::parse(&sdc).unwrap().to_frame(), sdc);
        let smsg = Frame {
            line: "MSG Hotmail Hotmail 3".into(),
            payload: Some(b"abc".to_vec()),
        };
        assert_eq!(ServerCommand::parse(&smsg).unwrap().to_frame(), smsg);
    }

    #[test]
    fn malformed_known_commands_are_errors_not_panics() {
        for line in [
            "USR",
            "USR x",
            "SYN 5",
            "SYN x 1",
            "ADD 1 XL a@b.c a",
            "MSG 3 a 5",
            "CAL 2",
            "BLP 1 XX",
            "ANS 1 a b c d",
        ] {
            assert!(ClientCommand::parse(&f(line)).is_err(), "{line}");
        }
        for line in [
            "USR 4 OK",
            "XFR 3 NS",
            "XFR 3 SB a:1 XYZ c",
            "LST 5 FL 12 1 4 a@b.c Bob x,y",
            "LST a@b.c Bob x",
            "LST a@b.c Bob 11 0,x",
            "GTC X",
            "LSG x Friends 0",
            "SYN 5 1 x 1",
            "RNG 1 a:1 XXX c d e",
            "BPR 1 2 3",
            "ACK x",
            "NLN",
        ] {
            assert!(ServerCommand::parse(&f(line)).is_err(), "{line}");
        }
    }

    #[test]
    fn errors_carry_the_trid() {
        let cmd = ServerCommand::parse(&f("911 4")).unwrap();
        assert_eq!(
            cmd,
            ServerCommand::Error {
                error: ServerError::AuthenticationFailed,
                trid: Some(4)
            }
        );
        assert_eq!(cmd.trid(), Some(4));
        let cmd = ServerCommand::parse(&f("999 4")).unwrap();
        assert_eq!(cmd.to_frame().line, "999 4");
    }

    #[test]
    fn async_lines_have_no_trid() {
        assert_eq!(
            ServerCommand::parse(&f("ADD 0 RL 4 bob@example.com Bob"))
                .unwrap()
                .trid(),
            None
        );
        assert_eq!(ServerCommand::parse(&f("CHL 0 1")).unwrap().trid(), None);
    }
}
