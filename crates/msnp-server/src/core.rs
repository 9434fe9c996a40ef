//! The server's shared state and the rules that span connections: accounts, sessions, privacy
//! and presence fan-out. Everything runs under one mutex, synchronously: a handler computes every
//! line it causes and queues it on the connections' outlets before the lock is released, so
//! the order of lines on each connection is the order of events.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use msnp::proto::command::{Privacy, ServerCommand, Status, TrId};
use msnp::proto::error::ServerError;
use msnp::proto::names::WireName;
use tokio::sync::{mpsc, Notify};

use crate::config::Config;
use crate::store::{AccountData, StateFile};

/// Identifies one connection (NS, dispatch, switchboard, or a virtual session).
pub(crate) type ConnId = u64;

/// What a connection task is asked to do.
#[derive(Debug)]
pub(crate) enum Out {
    /// Write these bytes.
    Data(Vec<u8>),
    /// Write what is queued before, then close.
    Close,
    /// Close at once without flushing (a dropped socket).
    Abort,
    /// Delay every later write by this much (fault injection).
    SetDelay(Duration),
    /// Close the connection if it is still open at this instant (challenge answer timer); `None`
    /// cancels.
    Deadline(Option<Instant>),
}

/// Where a connection's output goes: a connection task, or nowhere (virtual sessions that do not
/// care).
#[derive(Debug, Clone)]
pub(crate) struct Outlet(Option<mpsc::UnboundedSender<Out>>);

impl Outlet {
    /// An outlet feeding a channel.
    pub(crate) fn channel(tx: mpsc::UnboundedSender<Out>) -> Self {
        Outlet(Some(tx))
    }

    /// An outlet that discards everything.
    pub(crate) fn sink() -> Self {
        Outlet(None)
    }

    /// Queues output; false if the receiving side is gone.
    pub(crate) fn push(&self, out: Out) -> bool {
        match &self.0 {
            Some(tx) => tx.send(out).is_ok(),
            None => true,
        }
    }
}

/// The role of a notification-port connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NsRole {
    /// Dispatch server: redirects to the NS after `USR … I`.
    Dispatch,
    /// Notification server.
    Notification,
}

/// One notification (or dispatch) connection.
#[derive(Debug)]
pub(crate) struct NsConn {
    pub role: NsRole,
    pub outlet: Outlet,
    pub peer: Option<SocketAddr>,
    /// Negotiated dialect (`MSNP7`, `MSNP8`), once `VER` succeeded.
    pub dialect: Option<String>,
    /// Account and salt (MD5) or challenge (TWN) between `USR … I` and `USR … S`.
    pub pending_login: Option<(String, String)>,
    /// MSNP8: the client-capabilities number of the last accepted `CHG`.
    pub capabilities: Option<u32>,
    /// Signed-in account (lower case).
    pub account: Option<String>,
    /// Status; `None` until the first `CHG`.
    pub status: Option<Status>,
    /// Whether `SYN` was done in this session.
    pub synced: bool,
    /// The outstanding challenge, if any.
    pub challenge: Option<String>,
    /// Set once the connection is being closed: later input is ignored.
    pub closing: bool,
    /// A virtual session (demo contacts, the bot).
    pub is_virtual: bool,
}

/// One switchboard connection.
#[derive(Debug)]
pub(crate) struct SbConn {
    pub outlet: Outlet,
    /// Authenticated account (lower case).
    pub account: Option<String>,
    /// The switchboard it belongs to.
    pub sb: Option<u64>,
    pub closing: bool,
}

/// One switchboard session.
#[derive(Debug)]
pub(crate) struct Switchboard {
    pub session_id: String,
    /// Connections in join order.
    pub members: Vec<ConnId>,
}

/// A switchboard cookie from `XFR SB` or `RNG`.
#[derive(Debug, Clone)]
pub(crate) struct Cookie {
    pub account: String,
    /// `None` for `XFR SB` (a new session), the switchboard for `RNG`.
    pub sb: Option<u64>,
    pub expires: Instant,
}

/// A Passport ticket handed out by the login endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Ticket {
    pub account: String,
    pub expires: Instant,
}

/// A known account.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub password: String,
    pub data: AccountData,
}

/// The whole server state.
pub(crate) struct Core {
    pub config: Arc<Config>,
    pub accounts: HashMap<String, Account>,
    pub ns: HashMap<ConnId, NsConn>,
    /// Account → its signed-in NS connection.
    pub online: HashMap<String, ConnId>,
    pub sb_conns: HashMap<ConnId, SbConn>,
    pub sbs: HashMap<u64, Switchboard>,
    pub cookies: HashMap<String, Cookie>,
    /// Passport tickets (single-use, expiring).
    pub tickets: HashMap<String, Ticket>,
    /// Versions clients sent in `SYN`, per account, in order.
    pub syn_log: HashMap<String, Vec<u32>>,
    /// Address written into `XFR NS`.
    pub ns_public: String,
    /// Address the dispatch server answers from (`XFR NS … 0 current`).
    pub ds_public: String,
    /// Address written into `XFR SB` and `RNG`.
    pub sb_public: String,
    /// Woken whenever persistent data changed.
    pub persist: Arc<Notify>,
    /// Whether `VER` may choose MSNP8 (configured, and the Passport endpoints run).
    pub msnp8_enabled: bool,
    next_id: u64,
}

/// Lower-cases an address for use as a key.
pub(crate) fn key(account: &str) -> String {
    account.to_ascii_lowercase()
}

/// Random bytes as lower-case hex (falls back to a time-based value if the OS has no entropy).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random decimal number with `digits` digits (no leading zero).
pub(crate) fn random_digits(digits: usize) -> String {
    let hex = random_hex(digits);
    let mut out: String = hex
        .bytes()
        .map(|b| char::from(b'0' + (b % 10)))
        .take(digits)
        .collect();
    if out.starts_with('0') {
        out.replace_range(0..1, "1");
    }
    out
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Core {
    /// A core with the configured accounts and, if present, the persisted state.
    pub(crate) fn new(config: Arc<Config>, state: Option<StateFile>, persist: Arc<Notify>) -> Self {
        let mut accounts = HashMap::new();
        for spec in &config.accounts {
            let k = key(&spec.passport);
            let display = spec
                .display_name
                .clone()
                .unwrap_or_else(|| k.split('@').next().unwrap_or(k.as_str()).to_string());
            accounts.insert(
                k,
                Account {
                    password: spec.password.clone(),
                    data: AccountData::new(WireName::encode(&display).as_wire()),
                },
            );
        }
        if let Some(state) = state {
            for (k, data) in state.accounts {
                if let Some(acc) = accounts.get_mut(&key(&k)) {
                    acc.data = data;
                }
            }
        }
        Core {
            config,
            accounts,
            ns: HashMap::new(),
            online: HashMap::new(),
            sb_conns: HashMap::new(),
            sbs: HashMap::new(),
            cookies: HashMap::new(),
            tickets: HashMap::new(),
            syn_log: HashMap::new(),
            ns_public: String::new(),
            ds_public: String::new(),
            sb_public: String::new(),
            persist,
            msnp8_enabled: false,
            next_id: 1,
        }
    }

    /// A fresh connection id.
    pub(crate) fn next_id(&mut self) -> ConnId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The persistable part of the state.
    pub(crate) fn state_file(&self) -> StateFile {
        StateFile {
            format: 1,
            accounts: self
                .accounts
                .iter()
                .map(|(k, a)| (k.clone(), a.data.clone()))
                .collect(),
        }
    }

    /// Adds (or replaces the password of) an account at run time.
    pub(crate) fn add_account(&mut self, passport: &str, password: &str, display: &str) {
        let k = key(passport);
        match self.accounts.get_mut(&k) {
            Some(a) => a.password = password.to_string(),
            None => {
                self.accounts.insert(
                    k,
                    Account {
                        password: password.to_string(),
                        data: AccountData::new(WireName::encode(display).as_wire()),
                    },
                );
                self.persist.notify_one();
            }
        }
    }

    // ----- output helpers -------------------------------------------------------------------

    /// Queues a command on an NS connection.
    pub(crate) fn send(&self, conn: ConnId, cmd: &ServerCommand) {
        if let Some(c) = self.ns.get(&conn) {
            c.outlet.push(Out::Data(cmd.to_bytes()));
        }
    }

    /// Queues raw bytes on an NS connection.
    pub(crate) fn send_bytes(&self, conn: ConnId, bytes: Vec<u8>) {
        if let Some(c) = self.ns.get(&conn) {
            c.outlet.push(Out::Data(bytes));
        }
    }

    /// Queues a numeric error.
    pub(crate) fn send_error(&self, conn: ConnId, code: u16, trid: Option<TrId>) {
        self.send(
            conn,
            &ServerCommand::Error {
                error: ServerError::from_code(code),
                trid,
            },
        );
    }

    /// Closes an NS connection after what is queued; later input is ignored. The session is
    /// signed out at once (watchers see `FLN` now, and nobody can invite it any more).
    pub(crate) fn close_ns(&mut self, conn: ConnId) {
        self.sign_out(conn);
        if let Some(c) = self.ns.get_mut(&conn) {
            c.closing = true;
            c.outlet.push(Out::Close);
        }
    }

    /// Queues a command on a switchboard connection.
    pub(crate) fn sb_send(&self, conn: ConnId, cmd: &ServerCommand) -> bool {
        match self.sb_conns.get(&conn) {
            Some(c) if !c.closing => c.outlet.push(Out::Data(cmd.to_bytes())),
            _ => false,
        }
    }

    /// Closes a switchboard connection after what is queued.
    pub(crate) fn close_sb(&mut self, conn: ConnId) {
        if let Some(c) = self.sb_conns.get_mut(&conn) {
            c.closing = true;
            c.outlet.push(Out::Close);
        }
    }

    /// Bumps an account's list version and schedules a save; returns the new version.
    pub(crate) fn bump(&mut self, account: &str) -> u32 {
        self.persist.notify_one();
        match self.accounts.get_mut(account) {
            Some(a) => {
                a.data.version = a.data.version.wrapping_add(1);
                a.data.version
            }
            None => 0,
        }
    }

    /// The data of an account.
    pub(crate) fn data(&self, account: &str) -> Option<&AccountData> {
        self.accounts.get(account).map(|a| &a.data)
    }

    /// Mutable data of an account.
    pub(crate) fn data_mut(&mut self, account: &str) -> Option<&mut AccountData> {
        self.accounts.get_mut(account).map(|a| &mut a.data)
    }

    /// The display name of an account (wire form); the address when unknown.
    pub(crate) fn display_name(&self, account: &str) -> WireName {
        WireName::from_wire(
            self.data(account)
                .map(|d| d.display_name.clone())
                .unwrap_or_else(|| account.to_string()),
        )
    }

    // ----- privacy and presence -------------------------------------------------------------

    /// Whether `owner`'s privacy settings let `viewer` see them and invite them.
    pub(crate) fn allows(&self, owner: &str, viewer: &str) -> bool {
        let Some(d) = self.data(owner) else {
            return false;
        };
        if d.bl.contains_key(viewer) {
            false
        } else if d.al.contains_key(viewer) {
            true
        } else {
            d.blp == Privacy::AllowAll
        }
    }

    /// The signed-in NS connection of an account.
    pub(crate) fn session_of(&self, account: &str) -> Option<(ConnId, &NsConn)> {
        let id = *self.online.get(account)?;
        self.ns.get(&id).map(|c| (id, c))
    }

    /// The status others may see: set by a `CHG`, and not hidden.
    pub(crate) fn public_status(&self, account: &str) -> Option<Status> {
        let (_, c) = self.session_of(account)?;
        c.status.clone().filter(Status::is_online)
    }

    /// Whether `watcher` currently receives `owner`'s presence.
    pub(crate) fn sees(&self, watcher: &str, owner: &str) -> bool {
        let watching = match self.session_of(watcher) {
            Some((_, c)) => c.status.is_some(),
            None => false,
        };
        watching
            && self.data(watcher).is_some_and(|d| d.fl.contains_key(owner))
            && self.public_status(owner).is_some()
            && self.allows(owner, watcher)
    }

    /// Everyone who currently sees `owner`.
    pub(crate) fn watchers(&self, owner: &str) -> HashSet<String> {
        match self.data(owner) {
            Some(d) => {
                d.rl.keys()
                    .filter(|w| self.sees(w, owner))
                    .cloned()
                    .collect()
            }
            None => HashSet::new(),
        }
    }

    /// After a change concerning `owner`: `NLN` to whoever now sees them (all of them when
    /// `renotify`, else only the new ones), `FLN` to whoever saw them before and no longer does.
    pub(crate) fn presence_changed(&self, owner: &str, before: &HashSet<String>, renotify: bool) {
        let after = self.watchers(owner);
        if let Some(status) = self.public_status(owner) {
            for w in &after {
                if renotify || !before.contains(w) {
                    if let Some((id, _)) = self.session_of(w) {
                        let nln = ServerCommand::Nln {
                            status: status.clone(),
                            account: owner.to_string(),
                            name: self.display_name(owner),
                            capabilities: self.capabilities_for(w, owner),
                        };
                        self.send(id, &nln);
                    }
                }
            }
        }
        let fln = ServerCommand::Fln {
            account: owner.to_string(),
        };
        for w in before.difference(&after) {
            if let Some((id, _)) = self.session_of(w) {
                self.send(id, &fln);
            }
        }
    }

    /// `ILN trid …` to `watcher` for every contact on their FL that they can see.
    pub(crate) fn send_initial_presence(&self, conn: ConnId, watcher: &str, trid: TrId) {
        let Some(d) = self.data(watcher) else {
            return;
        };
        let mut out = Vec::new();
        for contact in d.fl.keys() {
            if let Some(line) = self.iln_for(watcher, contact, trid) {
                out.extend_from_slice(&line.to_bytes());
            }
        }
        if !out.is_empty() {
            self.send_bytes(conn, out);
        }
    }

    /// The `ILN` line for one contact if `watcher` sees them.
    pub(crate) fn iln_for(
        &self,
        watcher: &str,
        contact: &str,
        trid: TrId,
    ) -> Option<ServerCommand> {
        if !self.sees(watcher, contact) {
            return None;
        }
        Some(ServerCommand::Iln {
            trid,
            status: self.public_status(contact)?,
            account: contact.to_string(),
            name: self.display_name(contact),
            capabilities: self.capabilities_for(watcher, contact),
        })
    }

    /// The capabilities parameter of `owner`'s presence lines to `watcher`: only MSNP8 watchers
    /// get one (`0` for owners whose client sent none, e.g. MSNP7 clients).
    pub(crate) fn capabilities_for(&self, watcher: &str, owner: &str) -> Option<String> {
        let (_, w) = self.session_of(watcher)?;
        if w.dialect.as_deref() != Some("MSNP8") {
            return None;
        }
        let caps = self
            .session_of(owner)
            .and_then(|(_, c)| c.capabilities)
            .unwrap_or(0);
        Some(caps.to_string())
    }

    /// Checks a Passport login: the account exists and the password matches.
    pub(crate) fn password_ok(&self, account: &str, password: &str) -> bool {
        self.accounts
            .get(&key(account))
            .is_some_and(|a| a.password == password)
    }

    /// A new single-use ticket for `account` (20 hex digits, as Escargot's).
    pub(crate) fn issue_ticket(&mut self, account: &str) -> String {
        let now = Instant::now();
        if self.tickets.len() > 256 {
            self.tickets.retain(|_, t| t.expires > now);
        }
        let ticket = random_hex(10);
        self.tickets.insert(
            ticket.clone(),
            Ticket {
                account: key(account),
                expires: now + self.config.ticket_ttl,
            },
        );
        ticket
    }

    /// Redeems a ticket: the account it was issued for, if it exists and has not expired. A
    /// ticket in the historical `t=…&p=…` form counts by the 20 characters after `t=` (as on
    /// Escargot). Either way the ticket is used up.
    pub(crate) fn redeem_ticket(&mut self, ticket: &str) -> Option<String> {
        let id = match ticket.strip_prefix("t=") {
            Some(rest) => rest.get(..20).unwrap_or(rest),
            None => ticket,
        };
        let t = self.tickets.remove(id)?;
        (t.expires > Instant::now()).then_some(t.account)
    }

    /// Sets a signed-in session's status with every effect of `CHG` except the reply.
    pub(crate) fn apply_status(&mut self, conn: ConnId, status: Status, trid: TrId) {
        let Some(account) = self.ns.get(&conn).and_then(|c| c.account.clone()) else {
            return;
        };
        let before = self.watchers(&account);
        let first = self.ns.get(&conn).is_some_and(|c| c.status.is_none());
        let changed = self
            .ns
            .get(&conn)
            .is_some_and(|c| c.status.as_ref() != Some(&status));
        if let Some(c) = self.ns.get_mut(&conn) {
            c.status = Some(status);
        }
        if first {
            self.send_initial_presence(conn, &account, trid);
        }
        self.presence_changed(&account, &before, changed);
    }

    /// Ends a signed-in session's presence (sign-out, dropped socket, replaced session).
    pub(crate) fn sign_out(&mut self, conn: ConnId) {
        let Some(account) = self.ns.get(&conn).and_then(|c| c.account.clone()) else {
            return;
        };
        if self.online.get(&account) != Some(&conn) {
            return;
        }
        let before = self.watchers(&account);
        self.online.remove(&account);
        if let Some(c) = self.ns.get_mut(&conn) {
            c.account = None;
            c.status = None;
        }
        self.presence_changed(&account, &before, false);
    }

    /// Forgets a closed NS connection.
    pub(crate) fn ns_disconnected(&mut self, conn: ConnId) {
        self.sign_out(conn);
        self.ns.remove(&conn);
    }

    /// Removes expired cookies.
    pub(crate) fn purge_cookies(&mut self) {
        let now = Instant::now();
        self.cookies.retain(|_, c| c.expires > now);
    }

    /// A new single-use cookie.
    pub(crate) fn new_cookie(&mut self, account: &str, sb: Option<u64>) -> String {
        if self.cookies.len() > 256 {
            self.purge_cookies();
        }
        let cookie = format!("{}.{}.{}", random_digits(9), unix_now(), random_digits(5));
        self.cookies.insert(
            cookie.clone(),
            Cookie {
                account: account.to_string(),
                sb,
                expires: Instant::now() + self.config.cookie_ttl,
            },
        );
        cookie
    }
}
