//! The client side of a dispatch/notification-server connection (notification.md), sans-IO.
//!
//! Feed it with [`Notification::handle_connected`], [`Notification::handle_input`],
//! [`Notification::handle_request`] and [`Notification::handle_timeout`]; take what it wants to
//! send from [`Notification::poll_transmit`], what happened from [`Notification::poll_event`],
//! and when to call it again from [`Notification::poll_timeout`]. Time is passed in.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use thiserror::Error;

use super::auth::{challenge_answer, md5_login_hash, CHALLENGE_CLIENT_ID, CHALLENGE_CLIENT_KEY};
use super::codec::{Decoder, Direction, Limits};
use super::command::{AddPrompt, ClientCommand, List, Privacy, ServerCommand, Status, TrId};
use super::contacts::{ContactEntry, ContactList};
use super::error::ServerError;
use super::msnp8::{cvr_fields, lists_of_mask, Capabilities, Dialect, ProtocolChoice};
use super::names::{
    self, encode_display_name, encode_group_name, is_valid_account, NameError, WireName,
};
use super::passport::{is_valid_ticket, PassportError};

/// Send `PNG` after this long without sending anything (README.md, Timers: 45–60 s).
pub const PING_INTERVAL: Duration = Duration::from_secs(50);
/// A `PNG` without any reply for this long means the connection is dead.
pub const PING_TIMEOUT: Duration = Duration::from_secs(30);
/// A command without a reply for this long has failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The whole sign-in (VER to USR OK) must finish within this time.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(45);
/// At most this many `XFR NS` redirects per sign-in.
pub const MAX_REDIRECTS: u32 = 5;
/// Time the engine has for the Passport step of MSNP8 (nexus, login server, redirects), from
/// `USR … TWN S challenge` to [`Notification::handle_passport_ticket`].
pub const PASSPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the notification session needs to sign in.
#[derive(Clone)]
pub struct NsConfig {
    /// The account (e-mail address), sent as typed.
    pub account: String,
    /// The password: MSNP7 hashes it with the salt; MSNP8 never uses it here (the engine gives
    /// it to the Passport login server). Never sent on the NS connection.
    pub password: String,
    /// The status set with the first `CHG` after the lists are synchronised.
    pub initial_status: Status,
    /// The cached contact list from the last sign-in, if any: its version goes into `SYN`.
    pub cache: Option<ContactList>,
    /// The dialects offered in `VER`; the session follows the one the server picks.
    pub protocol: ProtocolChoice,
    /// The Windows locale id sent in MSNP8's `CVR` (`0x0409`, `0x0407`, …).
    pub locale: String,
}

impl NsConfig {
    /// A configuration with the defaults: online, no cache, [`ProtocolChoice::Auto`], locale
    /// `0x0409`.
    pub fn new(account: &str, password: &str) -> Self {
        NsConfig {
            account: account.to_string(),
            password: password.to_string(),
            initial_status: Status::Online,
            cache: None,
            protocol: ProtocolChoice::Auto,
            locale: super::msnp8::CVR_DEFAULT_LOCALE.to_string(),
        }
    }
}

impl std::fmt::Debug for NsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NsConfig")
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .field("initial_status", &self.initial_status)
            .field("cache", &self.cache.as_ref().map(|c| c.version))
            .field("protocol", &self.protocol)
            .field("locale", &self.locale)
            .finish()
    }
}

/// A request from the user to the notification server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsRequest {
    /// `CHG`: set the own status.
    SetStatus(Status),
    /// `REA` with the own account: set the display name.
    SetDisplayName(String),
    /// `REA` with a contact's account: set the stored nickname.
    RenameContact { account: String, name: String },
    /// `ADD`: put someone on a list (FL with a group).
    AddContact {
        list: List,
        account: String,
        nick: Option<String>,
        group: Option<u32>,
    },
    /// `REM`: take someone off a list (or only out of a group on FL).
    RemoveContact {
        list: List,
        account: String,
        group: Option<u32>,
    },
    /// `ADG`
    AddGroup(String),
    /// `RMG`
    RemoveGroup(u32),
    /// `REG`
    RenameGroup { group: u32, name: String },
    /// `BLP`
    SetPrivacy(Privacy),
    /// `GTC`
    SetAddPrompt(AddPrompt),
    /// `PRP`
    SetProperty { code: String, value: Option<String> },
    /// `XFR SB`: ask for a switchboard; the answer names `tag`.
    RequestSwitchboard { tag: u64 },
    /// `OUT`: sign out.
    SignOut,
}

/// A request that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// Not signed in (yet, or any more).
    #[error("not signed in")]
    NotSignedIn,
    /// The account name is not a valid e-mail address.
    #[error("{0:?} is not a valid e-mail address")]
    InvalidAccount(String),
    /// A name is empty or too long.
    #[error("{0}")]
    InvalidName(#[from] NameError),
    /// `CHG FLN` or an unknown status.
    #[error("status {0} cannot be set")]
    InvalidStatus(String),
    /// The reverse list is maintained by the server only.
    #[error("the reverse list cannot be edited")]
    ReverseList,
    /// Group 0 cannot be removed.
    #[error("the default group cannot be removed")]
    DefaultGroup,
    /// A property value that would close the connection.
    #[error("invalid property")]
    InvalidProperty,
}

/// Why a request failed after it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpError {
    /// The server answered with a numeric error.
    #[error("{0}")]
    Server(ServerError),
    /// No reply in time.
    #[error("the server did not answer")]
    Timeout,
    /// The connection ended first.
    #[error("the connection was lost")]
    ConnectionLost,
}

/// Why signing in failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    /// `911`: wrong account or password (on Escargot also: MD5 sign-in not enabled).
    #[error("wrong e-mail address or password (on the Escargot network, MSNP7 sign-in also needs \"old MSN support\" enabled on the account)")]
    AuthenticationFailed,
    /// No common protocol version.
    #[error("the server supports none of the offered protocol versions")]
    VersionRefused,
    /// MSNP8: `911` to `USR … TWN I`: the server does not accept this account name.
    #[error("the server does not accept this e-mail address")]
    InvalidAccount,
    /// MSNP8: the Passport step failed (wrong password, login server unreachable, untrusted
    /// certificate…).
    #[error("{0}")]
    Passport(PassportError),
    /// MSNP8: `911`/`928` to `USR … TWN S ticket`: the ticket was refused, usually because it
    /// expired (Escargot tickets live 30 s). Worth one more complete sign-in.
    #[error("the server refused the sign-in ticket (it may have expired)")]
    TicketRejected,
    /// The server offers no MD5 authentication.
    #[error("the server offers no supported sign-in method")]
    NoAuthMethod,
    /// Too many redirects.
    #[error("too many server redirects")]
    TooManyRedirects,
    /// Another numeric error during sign-in.
    #[error("{0}")]
    Server(ServerError),
    /// No answer in time, or the connection closed during sign-in.
    #[error("the server did not complete the sign-in: {0}")]
    NoAnswer(String),
}

impl LoginError {
    /// Whether retrying later (with backoff) makes sense without asking the user.
    pub fn is_transient(&self) -> bool {
        match self {
            LoginError::Server(e) => e.is_transient(),
            LoginError::Passport(e) => e.is_transient(),
            LoginError::NoAnswer(_) => true,
            _ => false,
        }
    }
}

/// Why the session ended while signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignOutReason {
    /// The user signed out.
    User,
    /// `OUT OTH`: signed in from another location. Do not reconnect automatically.
    OtherLocation,
    /// `OUT SSD`: the server is shutting down. Reconnect with backoff.
    ServerShutdown,
    /// Another `OUT` reason (later dialects); treated like a lost connection.
    Other(String),
}

/// Something that happened on the notification connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsEvent {
    /// `XFR NS`: connect to `address` and call [`Notification::handle_redirected`].
    Redirect { address: String },
    /// MSNP8: the server sent the Passport challenge (`USR … TWN S challenge`). Get a ticket
    /// from the login server (`client::passport`) and call
    /// [`Notification::handle_passport_ticket`], or [`Notification::handle_passport_failed`].
    PassportNeeded { challenge: String },
    /// Signed in (`USR … OK`) with `dialect`.
    SignedIn {
        account: String,
        display_name: String,
        verified: bool,
        dialect: Dialect,
    },
    /// A `MSG Hotmail Hotmail` payload (profile, e-mail notices, system messages).
    ServerMessage { payload: Vec<u8> },
    /// The lists are known: from the SYN reply, or the cache when it was current.
    ListSynced { list: ContactList, from_cache: bool },
    /// A contact's entry changed (lists, groups, name, phones).
    ContactChanged { entry: ContactEntry },
    /// A contact is on no list any more.
    ContactRemoved { account: String },
    /// The list version changed after a change confirmed by the server (`ADD`, `REM`, `ADG`,
    /// `RMG`, `REG`, `BLP`, `GTC`, ...): a saved cache must carry it, so the next `SYN` sends
    /// it and an unchanged list costs one round trip.
    ListVersion { version: u32 },
    /// Groups were added, removed or renamed: the new set.
    GroupsChanged { groups: Vec<(u32, String)> },
    /// BLP or GTC changed.
    SettingsChanged {
        privacy: Privacy,
        add_prompt: AddPrompt,
    },
    /// A contact's presence or display name (`ILN`/`NLN`), with the capabilities of their
    /// client when the dialect has them (MSNP8).
    Presence {
        account: String,
        status: Status,
        name: String,
        capabilities: Option<Capabilities>,
    },
    /// A contact went offline (`FLN`).
    Offline { account: String },
    /// Somebody put you on their list (`ADD 0 RL`); `pending` if you have not answered yet.
    AddedBy {
        account: String,
        name: String,
        pending: bool,
    },
    /// Somebody took you off their list (`REM 0 RL`).
    RemovedBy { account: String },
    /// The own status as confirmed by the server.
    OwnStatus(Status),
    /// The own display name as confirmed by the server.
    OwnDisplayName(String),
    /// `RNG`: somebody invites you to a switchboard.
    Invited {
        session_id: String,
        address: String,
        cookie: String,
        inviter: String,
        inviter_name: String,
    },
    /// The answer to [`NsRequest::RequestSwitchboard`].
    SwitchboardReady {
        tag: u64,
        address: String,
        cookie: String,
    },
    /// [`NsRequest::RequestSwitchboard`] failed.
    SwitchboardFailed { tag: u64, error: OpError },
    /// A request failed (`op` is the id returned by [`Notification::handle_request`]).
    OpFailed {
        op: u64,
        request: NsRequest,
        error: OpError,
    },
    /// A request succeeded.
    OpDone { op: u64 },
    /// Signing in failed; the connection is finished.
    LoginFailed(LoginError),
    /// The session ended on purpose (`OUT`).
    SignedOut(SignOutReason),
    /// The connection broke (closed, dead, protocol error).
    ConnectionLost { reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Ver,
    Inf,
    Cvr,
    UsrInitial,
    Passport,
    UsrResponse,
    Redirected,
    SignedIn,
    Closed,
}

#[derive(Debug)]
struct Pending {
    op: u64,
    request: NsRequest,
    deadline: Instant,
}

#[derive(Debug, Default)]
struct SyncState {
    trid: TrId,
    sent_version: u32,
    building: Option<ContactList>,
    last_lst: Option<String>,
    done: bool,
    deadline: Option<Instant>,
    /// MSNP8: the announced `LST` and `LSG` counts, and how many have arrived.
    counts: Option<(u32, u32)>,
    lst_seen: u32,
    lsg_seen: u32,
}

/// The notification-server session of one sign-in.
#[derive(Debug)]
pub struct Notification {
    config: NsConfig,
    phase: Phase,
    dialect: Option<Dialect>,
    cvr_trid: TrId,
    decoder: Decoder,
    next_trid: TrId,
    next_op: u64,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<NsEvent>,
    pending: HashMap<TrId, Pending>,
    redirects: u32,
    login_deadline: Option<Instant>,
    last_sent: Option<Instant>,
    ping_deadline: Option<Instant>,
    sync: SyncState,
    first_chg_sent: bool,
    list: ContactList,
    status: Status,
    display_name: String,
}

impl Notification {
    /// A session that will sign in with `config` once connected.
    pub fn new(config: NsConfig) -> Self {
        let list = config.cache.clone().unwrap_or_default();
        let status = config.initial_status.clone();
        Notification {
            config,
            phase: Phase::Idle,
            dialect: None,
            cvr_trid: 0,
            decoder: Decoder::new(Direction::FromServer, Limits::CLIENT),
            next_trid: 1,
            next_op: 1,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            pending: HashMap::new(),
            redirects: 0,
            login_deadline: None,
            last_sent: None,
            ping_deadline: None,
            sync: SyncState::default(),
            first_chg_sent: false,
            list,
            status,
            display_name: String::new(),
        }
    }

    /// The contact list as currently known (cache, SYN and every change applied).
    pub fn contact_list(&self) -> &ContactList {
        &self.list
    }

    /// The own status (requested or confirmed).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The own display name (decoded).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The account signing in.
    pub fn account(&self) -> &str {
        &self.config.account
    }

    /// The dialect the server chose (known after the `VER` reply).
    pub fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// Whether `USR … OK` has been received and the session is still alive.
    pub fn is_signed_in(&self) -> bool {
        self.phase == Phase::SignedIn
    }

    /// Whether the session is over (failed, signed out or lost).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The TCP connection is up: start the sign-in.
    pub fn handle_connected(&mut self, now: Instant) {
        self.decoder = Decoder::new(Direction::FromServer, Limits::CLIENT);
        self.next_trid = 1;
        self.login_deadline = Some(now + LOGIN_TIMEOUT);
        self.phase = Phase::Ver;
        self.dialect = None;
        let trid = self.trid();
        self.send(
            ClientCommand::Ver {
                trid,
                dialects: self.config.protocol.ver_tokens(),
            },
            now,
        );
    }

    /// MSNP8: the Passport login server gave `ticket` for the challenge of
    /// [`NsEvent::PassportNeeded`]: present it with `USR … TWN S`. Ignored unless the session is
    /// waiting for it.
    pub fn handle_passport_ticket(&mut self, ticket: &str, now: Instant) {
        if self.phase != Phase::Passport {
            return;
        }
        if !is_valid_ticket(ticket) {
            self.fail_login(LoginError::Passport(PassportError::BadResponse(
                "the ticket cannot be sent on the notification connection".into(),
            )));
            return;
        }
        self.phase = Phase::UsrResponse;
        self.login_deadline = Some(now + LOGIN_TIMEOUT);
        let trid = self.trid();
        self.send(
            ClientCommand::UsrTwnResponse {
                trid,
                ticket: ticket.to_string(),
            },
            now,
        );
    }

    /// MSNP8: the Passport step failed; the sign-in fails with [`LoginError::Passport`].
    /// Ignored unless the session is waiting for a ticket.
    pub fn handle_passport_failed(&mut self, error: PassportError) {
        if self.phase == Phase::Passport {
            self.fail_login(LoginError::Passport(error));
        }
    }

    /// Connected to the server named by the last [`NsEvent::Redirect`]: sign in there.
    pub fn handle_redirected(&mut self, now: Instant) {
        self.handle_connected(now);
    }

    /// The TCP connection closed (or failed).
    pub fn handle_closed(&mut self, reason: &str) {
        match self.phase {
            Phase::Closed | Phase::Redirected => {}
            Phase::SignedIn => self.lose(&format!("the server closed the connection ({reason})")),
            _ => self.fail_login(LoginError::NoAnswer(reason.to_string())),
        }
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if matches!(self.phase, Phase::Closed | Phase::Redirected) {
            return;
        }
        self.decoder.feed(bytes);
        // Any traffic shows the connection is alive.
        self.ping_deadline = None;
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => match ServerCommand::parse(&frame) {
                    Ok(cmd) => self.handle_command(cmd, now),
                    // A malformed line is logged and skipped (README.md, Robustness).
                    Err(_) => continue,
                },
                Ok(None) => break,
                Err(e) => {
                    let reason = format!("protocol error: {e}");
                    if self.phase == Phase::SignedIn {
                        self.lose(&reason);
                    } else {
                        self.fail_login(LoginError::NoAnswer(reason));
                    }
                    break;
                }
            }
            if matches!(self.phase, Phase::Closed | Phase::Redirected) {
                break;
            }
        }
    }

    /// A user request; returns the operation id that later events name.
    pub fn handle_request(
        &mut self,
        request: NsRequest,
        now: Instant,
    ) -> Result<u64, RequestError> {
        if request == NsRequest::SignOut {
            if self.phase != Phase::Closed {
                self.send(ClientCommand::Out, now);
                self.phase = Phase::Closed;
                self.fail_all_pending();
                self.events
                    .push_back(NsEvent::SignedOut(SignOutReason::User));
            }
            return Ok(0);
        }
        if self.phase != Phase::SignedIn {
            if let NsRequest::SetStatus(status) = &request {
                // Before sign-in a status request just changes the initial status.
                check_status(status)?;
                self.status = status.clone();
                return Ok(0);
            }
            return Err(RequestError::NotSignedIn);
        }
        // Validate before taking a TrID, so a refused request leaves no gap in the sequence.
        let dialect = self.dialect.unwrap_or(Dialect::Msnp7);
        let cmd = build_request(&request, self.next_trid, &self.config.account, dialect)?;
        let trid = self.trid();
        if let NsRequest::SetStatus(status) = &request {
            self.status = status.clone();
            self.first_chg_sent = true;
        }
        let op = self.next_op;
        self.next_op += 1;
        self.pending.insert(
            trid,
            Pending {
                op,
                request,
                deadline: now + COMMAND_TIMEOUT,
            },
        );
        self.send(cmd, now);
        Ok(op)
    }

    /// Time has passed: pings, time-outs.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Closed || self.phase == Phase::Redirected {
            return;
        }
        if let Some(deadline) = self.login_deadline {
            if now >= deadline && self.phase != Phase::SignedIn {
                self.fail_login(LoginError::NoAnswer("no answer from the server".into()));
                return;
            }
        }
        if self.phase != Phase::SignedIn {
            return;
        }
        if self.ping_deadline.is_some_and(|d| now >= d) {
            self.lose("no answer to the keep-alive ping");
            return;
        }
        if self.sync.deadline.is_some_and(|d| now >= d) && !self.sync.done {
            // An incomplete list download: keep what arrived and go online anyway.
            self.finish_sync(now);
        }
        let expired: Vec<TrId> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(t, _)| *t)
            .collect();
        for trid in expired {
            if let Some(p) = self.pending.remove(&trid) {
                self.report_failure(p, OpError::Timeout);
            }
        }
        if self.ping_deadline.is_none() && self.last_sent.is_some_and(|t| now >= t + PING_INTERVAL)
        {
            self.send(ClientCommand::Png, now);
            self.ping_deadline = Some(now + PING_TIMEOUT);
        }
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<NsEvent> {
        self.events.pop_front()
    }

    /// When [`Notification::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Closed | Phase::Redirected | Phase::Idle => None,
            Phase::SignedIn => {
                let ping = match self.ping_deadline {
                    Some(d) => Some(d),
                    None => self.last_sent.map(|t| t + PING_INTERVAL),
                };
                [
                    ping,
                    self.sync.deadline.filter(|_| !self.sync.done),
                    self.pending.values().map(|p| p.deadline).min(),
                ]
                .into_iter()
                .flatten()
                .min()
            }
            _ => self.login_deadline,
        }
    }

    fn trid(&mut self) -> TrId {
        let t = self.next_trid;
        self.next_trid = self.next_trid.wrapping_add(1).max(1);
        t
    }

    fn send(&mut self, cmd: ClientCommand, now: Instant) {
        self.transmit.push_back(cmd.to_bytes());
        self.last_sent = Some(now);
    }

    fn fail_login(&mut self, error: LoginError) {
        self.phase = Phase::Closed;
        self.events.push_back(NsEvent::LoginFailed(error));
    }

    fn lose(&mut self, reason: &str) {
        self.phase = Phase::Closed;
        self.fail_all_pending();
        self.events.push_back(NsEvent::ConnectionLost {
            reason: reason.to_string(),
        });
    }

    fn fail_all_pending(&mut self) {
        let mut all: Vec<(TrId, Pending)> = self.pending.drain().collect();
        all.sort_by_key(|(t, _)| *t);
        for (_, p) in all {
            self.report_failure(p, OpError::ConnectionLost);
        }
    }

    fn report_failure(&mut self, p: Pending, error: OpError) {
        if let NsRequest::RequestSwitchboard { tag } = p.request {
            self.events
                .push_back(NsEvent::SwitchboardFailed { tag, error });
        } else {
            self.events.push_back(NsEvent::OpFailed {
                op: p.op,
                request: p.request,
                error,
            });
        }
    }

    fn handle_command(&mut self, cmd: ServerCommand, now: Instant) {
        match self.phase {
            Phase::SignedIn => {
                let before = self.list.version;
                self.handle_signed_in(cmd, now);
                if self.list.version != before {
                    self.events.push_back(NsEvent::ListVersion {
                        version: self.list.version,
                    });
                }
            }
            _ => self.handle_login(cmd, now),
        }
    }

    fn handle_login(&mut self, cmd: ServerCommand, now: Instant) {
        match cmd {
            ServerCommand::Ver { dialects, .. } if self.phase == Phase::Ver => {
                match Dialect::chosen(&dialects, self.config.protocol.dialects()) {
                    None => self.fail_login(LoginError::VersionRefused),
                    Some(Dialect::Msnp7) => {
                        self.dialect = Some(Dialect::Msnp7);
                        self.phase = Phase::Inf;
                        let trid = self.trid();
                        self.send(ClientCommand::Inf { trid }, now);
                    }
                    Some(Dialect::Msnp8) => {
                        // msnp8.md §1.1: VER → CVR → USR TWN I; no INF under MSNP8.
                        self.dialect = Some(Dialect::Msnp8);
                        self.phase = Phase::Cvr;
                        let trid = self.trid();
                        self.cvr_trid = trid;
                        let fields = cvr_fields(&self.config.locale, &self.config.account);
                        self.send(ClientCommand::Cvr { trid, fields }, now);
                    }
                }
            }
            ServerCommand::Cvr { trid, .. }
                if self.phase == Phase::Cvr && trid == self.cvr_trid =>
            {
                self.send_usr_twn_initial(now);
            }
            // A refused CVR (710) is informational: sign in anyway.
            ServerCommand::Error {
                trid: Some(trid), ..
            } if self.phase == Phase::Cvr && trid == self.cvr_trid => {
                self.send_usr_twn_initial(now);
            }
            ServerCommand::UsrTwnChallenge { challenge, .. }
                if self.phase == Phase::UsrInitial && self.dialect == Some(Dialect::Msnp8) =>
            {
                self.phase = Phase::Passport;
                self.login_deadline = Some(now + PASSPORT_TIMEOUT);
                self.events.push_back(NsEvent::PassportNeeded { challenge });
            }
            ServerCommand::Inf { methods, .. } if self.phase == Phase::Inf => {
                if !methods.iter().any(|m| m == "MD5") {
                    self.fail_login(LoginError::NoAuthMethod);
                    return;
                }
                self.phase = Phase::UsrInitial;
                let trid = self.trid();
                let account = self.config.account.clone();
                self.send(ClientCommand::UsrMd5Initial { trid, account }, now);
            }
            ServerCommand::XfrNs { address, .. } => {
                self.redirects += 1;
                if self.redirects > MAX_REDIRECTS {
                    self.fail_login(LoginError::TooManyRedirects);
                    return;
                }
                self.phase = Phase::Redirected;
                self.events.push_back(NsEvent::Redirect { address });
            }
            ServerCommand::UsrMd5Salt { salt, .. }
                if self.phase == Phase::UsrInitial && self.dialect == Some(Dialect::Msnp7) =>
            {
                self.phase = Phase::UsrResponse;
                let trid = self.trid();
                let hash = md5_login_hash(&salt, &self.config.password);
                self.send(ClientCommand::UsrMd5Response { trid, hash }, now);
            }
            ServerCommand::UsrOk {
                account,
                name,
                verified,
                ..
            } if self.phase == Phase::UsrResponse => {
                self.phase = Phase::SignedIn;
                self.login_deadline = None;
                self.display_name = name.decode();
                self.events.push_back(NsEvent::SignedIn {
                    account,
                    display_name: self.display_name.clone(),
                    verified: verified.as_deref() != Some("0"),
                    dialect: self.dialect.unwrap_or(Dialect::Msnp7),
                });
                let trid = self.trid();
                let version = self.config.cache.as_ref().map_or(0, |c| c.version);
                self.sync = SyncState {
                    trid,
                    sent_version: version,
                    deadline: Some(now + COMMAND_TIMEOUT),
                    ..SyncState::default()
                };
                self.send(ClientCommand::Syn { trid, version }, now);
            }
            ServerCommand::Error { error, .. } => {
                let msnp8 = self.dialect == Some(Dialect::Msnp8);
                let e = match error {
                    ServerError::AuthenticationFailed
                        if msnp8 && self.phase == Phase::UsrInitial =>
                    {
                        LoginError::InvalidAccount
                    }
                    ServerError::AuthenticationFailed | ServerError::BadTicket
                        if msnp8 && self.phase == Phase::UsrResponse =>
                    {
                        LoginError::TicketRejected
                    }
                    ServerError::AuthenticationFailed => LoginError::AuthenticationFailed,
                    other => LoginError::Server(other),
                };
                self.fail_login(e);
            }
            ServerCommand::Out { reason } => self.signed_out(reason),
            // Anything else before sign-in (a CVR reply, an unknown line) is ignored.
            _ => {}
        }
    }

    fn send_usr_twn_initial(&mut self, now: Instant) {
        self.phase = Phase::UsrInitial;
        let trid = self.trid();
        let account = self.config.account.clone();
        self.send(ClientCommand::UsrTwnInitial { trid, account }, now);
    }

    fn signed_out(&mut self, reason: Option<String>) {
        let reason = match reason.as_deref() {
            Some("OTH") => SignOutReason::OtherLocation,
            Some("SSD") => SignOutReason::ServerShutdown,
            Some(other) => SignOutReason::Other(other.to_string()),
            None => SignOutReason::Other(String::new()),
        };
        self.phase = Phase::Closed;
        self.fail_all_pending();
        self.events.push_back(NsEvent::SignedOut(reason));
    }

    fn is_sync_line(&self, trid: TrId) -> bool {
        !self.sync.done && trid == self.sync.trid
    }

    fn fresh_list(&self, version: u32) -> ContactList {
        // GTC/BLP may arrive after the lists (one Escargot revision): keep the old values until
        // they do.
        ContactList {
            version,
            add_prompt: self.list.add_prompt,
            privacy: self.list.privacy,
            ..ContactList::default()
        }
    }

    /// MSNP8: the data set is complete once the announced `LSG` and `LST` lines arrived
    /// (msnp8.md §4.3).
    fn check_sync_counts(&mut self, now: Instant) {
        if let Some((contacts, groups)) = self.sync.counts {
            if self.sync.lst_seen >= contacts && self.sync.lsg_seen >= groups {
                self.finish_sync(now);
            }
        }
    }

    fn handle_signed_in(&mut self, cmd: ServerCommand, now: Instant) {
        // An address-less BPR belongs to the LST right before it (and its other BPRs) only.
        if !matches!(
            cmd,
            ServerCommand::Bpr { .. } | ServerCommand::Lst { .. } | ServerCommand::Lst8 { .. }
        ) {
            self.sync.last_lst = None;
        }
        match cmd {
            ServerCommand::Syn { trid, version } if self.is_sync_line(trid) => {
                if version == self.sync.sent_version && self.config.cache.is_some() {
                    self.finish_sync_from_cache(now);
                } else {
                    self.sync.building = Some(self.fresh_list(version));
                    if self.dialect == Some(Dialect::Msnp8) {
                        // MSNP8 announces the data with counts; without them nothing follows.
                        self.finish_sync(now);
                    }
                }
            }
            ServerCommand::Syn8 {
                trid,
                version,
                contacts,
                groups,
            } if self.is_sync_line(trid) => {
                self.sync.building = Some(self.fresh_list(version));
                self.sync.counts = Some((contacts, groups));
                self.check_sync_counts(now);
            }
            ServerCommand::Gtc8 { prompt } => {
                self.apply_setting(None, None, |l| l.add_prompt = prompt)
            }
            ServerCommand::Blp8 { privacy } => {
                self.apply_setting(None, None, |l| l.privacy = privacy)
            }
            ServerCommand::Lsg8 { group, name } => {
                if let Some(b) = self.sync.building.as_mut() {
                    b.groups.insert(group, name.decode());
                    self.sync.lsg_seen += 1;
                    self.check_sync_counts(now);
                }
            }
            ServerCommand::Lst8 {
                account,
                name,
                lists,
                groups,
            } => {
                if let Some(b) = self.sync.building.as_mut() {
                    let name = name.decode();
                    for list in lists_of_mask(lists) {
                        if list == List::Forward {
                            // msnp8.md §4.4: groups count only with the FL bit; missing → 0.
                            for g in groups.clone().unwrap_or_else(|| vec![0]) {
                                b.add(List::Forward, &account, &name, Some(g));
                            }
                        } else {
                            b.add(list, &account, &name, None);
                        }
                    }
                    self.sync.last_lst = Some(account);
                    self.sync.lst_seen += 1;
                    self.check_sync_counts(now);
                }
            }
            ServerCommand::Gtc {
                trid,
                version,
                prompt,
            } => self.apply_setting(Some(trid), Some(version), |l| l.add_prompt = prompt),
            ServerCommand::Blp {
                trid,
                version,
                privacy,
            } => self.apply_setting(Some(trid), Some(version), |l| l.privacy = privacy),
            ServerCommand::Prp {
                trid,
                version,
                property,
                value,
            } => {
                let value = value.map(|v| v.decode());
                let target = match self.sync.building.as_mut() {
                    Some(b) if trid.is_none() || trid == Some(self.sync.trid) => b,
                    _ => &mut self.list,
                };
                match value {
                    Some(v) => target.properties.insert(property, v),
                    None => target.properties.remove(&property),
                };
                if let (Some(t), Some(v)) = (trid, version) {
                    if t != self.sync.trid || self.sync.done {
                        self.list.version = v;
                        self.complete(t);
                    }
                }
            }
            ServerCommand::Lsg {
                trid, group, name, ..
            } if self.is_sync_line(trid) => {
                if let Some(b) = self.sync.building.as_mut() {
                    b.groups.insert(group, name.decode());
                }
            }
            ServerCommand::Lst {
                trid,
                list,
                index,
                count,
                entry,
                ..
            } if self.is_sync_line(trid) => {
                if let (Some(b), Some(e)) = (self.sync.building.as_mut(), entry) {
                    let name = e.name.decode();
                    if list == List::Forward {
                        let groups = e.groups.unwrap_or_else(|| vec![0]);
                        for g in groups {
                            b.add(List::Forward, &e.account, &name, Some(g));
                        }
                    } else {
                        b.add(list, &e.account, &name, None);
                    }
                    self.sync.last_lst = Some(e.account);
                }
                if list == List::Reverse && index == count {
                    self.finish_sync(now);
                }
            }
            ServerCommand::Bpr {
                account,
                property,
                value,
                version,
            } => {
                let value = value.map(|v| v.decode());
                let account = account.or_else(|| self.sync.last_lst.clone());
                let Some(account) = account else { return };
                if let Some(b) = self.sync.building.as_mut() {
                    b.set_phone(&account, &property, value);
                } else {
                    let before = self
                        .list
                        .get(&account)
                        .and_then(|c| c.phones.get(&property).cloned());
                    let changed = before != value;
                    self.list.set_phone(&account, &property, value);
                    if let Some(v) = version {
                        self.list.version = self.list.version.max(v);
                    }
                    // The blank BPR lines that follow every ADD FL change nothing: no event.
                    if let Some(entry) = self.list.get(&account).cloned().filter(|_| changed) {
                        self.events.push_back(NsEvent::ContactChanged { entry });
                    }
                }
            }
            ServerCommand::Add {
                trid,
                list,
                version,
                account,
                name,
                group,
            } => {
                let name = name.decode();
                self.list.version = version;
                let entry = self.list.add(list, &account, &name, group).clone();
                if trid == 0 && list == List::Reverse {
                    let pending = entry.is_pending();
                    self.events.push_back(NsEvent::ContactChanged { entry });
                    self.events.push_back(NsEvent::AddedBy {
                        account,
                        name,
                        pending,
                    });
                } else {
                    self.events.push_back(NsEvent::ContactChanged { entry });
                    self.complete(trid);
                }
            }
            ServerCommand::Rem {
                trid,
                list,
                version,
                account,
                group,
            } => {
                self.list.version = version;
                self.apply_remove(list, &account, group);
                if trid == 0 && list == List::Reverse {
                    self.events.push_back(NsEvent::RemovedBy { account });
                } else {
                    self.complete(trid);
                }
            }
            ServerCommand::Rea {
                trid,
                version,
                account,
                name,
            } => {
                self.list.version = version;
                let name = name.decode();
                if account.eq_ignore_ascii_case(&self.config.account) {
                    self.display_name = name.clone();
                    self.events.push_back(NsEvent::OwnDisplayName(name));
                } else {
                    self.list.rename(&account, &name);
                    if let Some(entry) = self.list.get(&account).cloned() {
                        self.events.push_back(NsEvent::ContactChanged { entry });
                    }
                }
                self.complete(trid);
            }
            ServerCommand::Adg {
                trid,
                version,
                name,
                group,
            } => {
                self.list.version = version;
                self.list.groups.insert(group, name.decode());
                self.groups_changed();
                self.complete(trid);
            }
            ServerCommand::Rmg {
                trid,
                version,
                group,
            } => {
                self.list.version = version;
                let members: Vec<String> = self
                    .list
                    .contacts
                    .values()
                    .filter(|c| c.groups.contains(&group))
                    .map(|c| c.account.clone())
                    .collect();
                self.list.remove_group(group);
                self.groups_changed();
                for account in members {
                    if let Some(entry) = self.list.get(&account).cloned() {
                        self.events.push_back(NsEvent::ContactChanged { entry });
                    }
                }
                self.complete(trid);
            }
            ServerCommand::Reg {
                trid,
                version,
                group,
                name,
            } => {
                self.list.version = version;
                self.list.groups.insert(group, name.decode());
                self.groups_changed();
                self.complete(trid);
            }
            ServerCommand::Chg { trid, status, .. } => {
                self.status = status.clone();
                self.events.push_back(NsEvent::OwnStatus(status));
                if trid != 0 {
                    self.complete(trid);
                }
            }
            ServerCommand::Iln {
                status,
                account,
                name,
                capabilities,
                ..
            }
            | ServerCommand::Nln {
                status,
                account,
                name,
                capabilities,
            } if !account.eq_ignore_ascii_case(&self.config.account) => {
                self.events.push_back(NsEvent::Presence {
                    account,
                    status,
                    name: name.decode(),
                    capabilities: capabilities.as_deref().and_then(Capabilities::parse),
                });
            }
            ServerCommand::Fln { account }
                if !account.eq_ignore_ascii_case(&self.config.account) =>
            {
                self.events.push_back(NsEvent::Offline { account });
            }
            ServerCommand::Chl { challenge, .. } => {
                let trid = self.trid();
                let answer = challenge_answer(&challenge, CHALLENGE_CLIENT_KEY).into_bytes();
                self.send(
                    ClientCommand::Qry {
                        trid,
                        client_id: CHALLENGE_CLIENT_ID.into(),
                        answer,
                    },
                    now,
                );
            }
            ServerCommand::Rng {
                session_id,
                address,
                cookie,
                inviter,
                inviter_name,
            } => {
                self.events.push_back(NsEvent::Invited {
                    session_id,
                    address,
                    cookie,
                    inviter,
                    inviter_name: inviter_name.decode(),
                });
            }
            ServerCommand::XfrSb {
                trid,
                address,
                cookie,
            } => {
                if let Some(p) = self.pending.remove(&trid) {
                    if let NsRequest::RequestSwitchboard { tag } = p.request {
                        self.events.push_back(NsEvent::SwitchboardReady {
                            tag,
                            address,
                            cookie,
                        });
                    }
                }
            }
            ServerCommand::Msg { payload, .. } => {
                self.events.push_back(NsEvent::ServerMessage { payload })
            }
            ServerCommand::Out { reason } => self.signed_out(reason),
            ServerCommand::Error { error, trid } => self.handle_error(error, trid.unwrap_or(0)),
            ServerCommand::XfrNs { .. } => {
                self.lose("the server redirected an established session")
            }
            // QNG, QRY, URL, SND, NOT, IPG, unknown lines: nothing to do (the ping deadline was
            // already cleared by the arrival of data).
            _ => {}
        }
    }

    /// A GTC/BLP line: part of the list download when it belongs to the SYN being built (MSNP8
    /// lines carry no TrID and belong to it whenever one is built), else a settings change that
    /// answers the request `trid` and carries the new list `version`.
    fn apply_setting(
        &mut self,
        trid: Option<TrId>,
        version: Option<u32>,
        set: impl Fn(&mut ContactList),
    ) {
        let in_sync = trid.is_none_or(|t| t == self.sync.trid);
        if let Some(b) = self.sync.building.as_mut().filter(|_| in_sync) {
            set(b);
            return;
        }
        set(&mut self.list);
        if let Some(v) = version {
            self.list.version = v;
        }
        self.settings_changed();
        if let Some(t) = trid {
            self.complete(t);
        }
    }

    fn apply_remove(&mut self, list: List, account: &str, group: Option<u32>) {
        match self.list.remove(list, account, group) {
            Some(entry) => self.events.push_back(NsEvent::ContactChanged { entry }),
            None => self.events.push_back(NsEvent::ContactRemoved {
                account: account.to_string(),
            }),
        }
    }

    fn handle_error(&mut self, error: ServerError, trid: TrId) {
        if trid == self.sync.trid && !self.sync.done {
            self.sync.done = true;
            self.sync.deadline = None;
            self.events.push_back(NsEvent::ListSynced {
                list: self.list.clone(),
                from_cache: true,
            });
            return;
        }
        let Some(p) = self.pending.remove(&trid) else {
            return;
        };
        // errors.md: some refusals mean the desired state already holds.
        let already = matches!(
            (&p.request, error),
            (NsRequest::AddContact { .. }, ServerError::AlreadyThere)
                | (NsRequest::RemoveContact { .. }, ServerError::NotOnList)
                | (NsRequest::SetPrivacy(_), ServerError::AlreadyInMode)
                | (NsRequest::SetAddPrompt(_), ServerError::AlreadyInMode)
        );
        if already {
            match p.request.clone() {
                NsRequest::AddContact {
                    list,
                    account,
                    nick,
                    group,
                } => {
                    let name = nick.unwrap_or_else(|| account.clone());
                    let entry = self.list.add(list, &account, &name, group).clone();
                    self.events.push_back(NsEvent::ContactChanged { entry });
                }
                NsRequest::RemoveContact {
                    list,
                    account,
                    group,
                } => self.apply_remove(list, &account, group),
                NsRequest::SetPrivacy(privacy) => {
                    self.list.privacy = privacy;
                    self.settings_changed();
                }
                NsRequest::SetAddPrompt(prompt) => {
                    self.list.add_prompt = prompt;
                    self.settings_changed();
                }
                _ => {}
            }
            self.events.push_back(NsEvent::OpDone { op: p.op });
            return;
        }
        self.report_failure(p, OpError::Server(error));
    }

    fn complete(&mut self, trid: TrId) {
        if let Some(p) = self.pending.remove(&trid) {
            self.events.push_back(NsEvent::OpDone { op: p.op });
        }
    }

    fn settings_changed(&mut self) {
        self.events.push_back(NsEvent::SettingsChanged {
            privacy: self.list.privacy,
            add_prompt: self.list.add_prompt,
        });
    }

    fn groups_changed(&mut self) {
        let groups = self
            .list
            .groups
            .iter()
            .map(|(id, name)| (*id, name.clone()))
            .collect();
        self.events.push_back(NsEvent::GroupsChanged { groups });
    }

    fn finish_sync_from_cache(&mut self, now: Instant) {
        self.sync.done = true;
        self.sync.deadline = None;
        self.events.push_back(NsEvent::ListSynced {
            list: self.list.clone(),
            from_cache: true,
        });
        self.go_online(now);
    }

    fn finish_sync(&mut self, now: Instant) {
        if self.sync.done {
            return;
        }
        self.sync.done = true;
        self.sync.deadline = None;
        if let Some(built) = self.sync.building.take() {
            // Replace the cache atomically: anything not mentioned has been removed.
            self.list = built;
        }
        self.events.push_back(NsEvent::ListSynced {
            list: self.list.clone(),
            from_cache: false,
        });
        for entry in self.list.pending() {
            if self.list.add_prompt == AddPrompt::Ask {
                self.events.push_back(NsEvent::AddedBy {
                    account: entry.account.clone(),
                    name: entry.name.clone(),
                    pending: true,
                });
            }
        }
        self.go_online(now);
    }

    fn go_online(&mut self, now: Instant) {
        if self.first_chg_sent {
            return;
        }
        let status = self.status.clone();
        // The initial CHG is a normal request so its reply and errors are tracked.
        let _ = self.handle_request(NsRequest::SetStatus(status), now);
    }
}

fn check_status(status: &Status) -> Result<(), RequestError> {
    if status.is_settable() {
        Ok(())
    } else {
        Err(RequestError::InvalidStatus(status.code().to_string()))
    }
}

fn check_account(account: &str) -> Result<(), RequestError> {
    if is_valid_account(account) {
        Ok(())
    } else {
        Err(RequestError::InvalidAccount(account.to_string()))
    }
}

/// Validates a request against the reference and builds its command.
fn build_request(
    request: &NsRequest,
    trid: TrId,
    own: &str,
    dialect: Dialect,
) -> Result<ClientCommand, RequestError> {
    Ok(match request {
        NsRequest::SetStatus(status) => {
            check_status(status)?;
            // MSNP8 needs the capabilities number: Escargot ignores a CHG without it.
            let capabilities = (dialect == Dialect::Msnp8).then(|| Capabilities::OWN.to_string());
            ClientCommand::Chg {
                trid,
                status: status.clone(),
                capabilities,
            }
        }
        NsRequest::SetDisplayName(name) => ClientCommand::Rea {
            trid,
            account: own.to_string(),
            name: encode_display_name(name)?,
        },
        NsRequest::RenameContact { account, name } => {
            check_account(account)?;
            ClientCommand::Rea {
                trid,
                account: account.clone(),
                name: encode_display_name(name)?,
            }
        }
        NsRequest::AddContact {
            list,
            account,
            nick,
            group,
        } => {
            if *list == List::Reverse {
                return Err(RequestError::ReverseList);
            }
            check_account(account)?;
            let nick = encode_display_name(nick.as_deref().unwrap_or(account))?;
            let group = if *list == List::Forward {
                Some(group.unwrap_or(0))
            } else {
                None
            };
            ClientCommand::Add {
                trid,
                list: *list,
                account: account.clone(),
                nick,
                group,
            }
        }
        NsRequest::RemoveContact {
            list,
            account,
            group,
        } => {
            if *list == List::Reverse {
                return Err(RequestError::ReverseList);
            }
            check_account(account)?;
            let group = if *list == List::Forward { *group } else { None };
            ClientCommand::Rem {
                trid,
                list: *list,
                account: account.clone(),
                group,
            }
        }
        NsRequest::AddGroup(name) => ClientCommand::Adg {
            trid,
            name: encode_group_name(name)?,
        },
        NsRequest::RemoveGroup(group) => {
            if *group == 0 {
                return Err(RequestError::DefaultGroup);
            }
            ClientCommand::Rmg {
                trid,
                group: *group,
            }
        }
        NsRequest::RenameGroup { group, name } => ClientCommand::Reg {
            trid,
            group: *group,
            name: encode_group_name(name)?,
        },
        NsRequest::SetPrivacy(privacy) => ClientCommand::Blp {
            trid,
            privacy: *privacy,
        },
        NsRequest::SetAddPrompt(prompt) => ClientCommand::Gtc {
            trid,
            prompt: *prompt,
        },
        NsRequest::SetProperty { code, value } => {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(RequestError::InvalidProperty);
            }
            let value = match value {
                Some(v) if v.chars().count() > 95 => return Err(RequestError::InvalidProperty),
                Some(v) if !v.is_empty() => Some(WireName::from_wire(names::url_encode(v))),
                _ => None,
            };
            ClientCommand::Prp {
                trid,
                property: code.clone(),
                value,
            }
        }
        NsRequest::RequestSwitchboard { .. } => ClientCommand::XfrSb { trid },
        NsRequest::SignOut => ClientCommand::Out,
    })
}
