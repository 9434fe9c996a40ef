//! `msnp-server`: a small but real MSNP7 and MSNP8 server — dispatch, notification, switchboard
//! and the Passport (nexus and login) endpoints over HTTPS — for Mariposa's demo mode, the
//! integration tests and LANs.
//!
//! [`Server::start`] binds the listeners and runs the server on its own tokio runtime on a named
//! thread, so it can be used from plain synchronous code (tests, the GTK app). The returned
//! [`ServerHandle`] tells the bound addresses, answers questions about the server's state for
//! tests, injects faults, and shuts the server down (`OUT SSD` to everybody).
//!
//! ```no_run
//! use msnp_server::{AccountSpec, Config, Server};
//! let server = Server::start(Config::loopback(vec![AccountSpec::new("alice@example.com", "pw")]))
//!     .expect("server");
//! println!("connect to {}", server.ns_addr());
//! server.shutdown();
//! ```
//!
//! # Behaviour (protocol/ in the shared docs is the reference)
//!
//! * Dialects MSNP2–MSNP7 with MD5 login and MSNP8 with Tweener login; `VER` answers the
//!   highest dialect offered (plus `CVR0` when offered), `VER tr 0` and a close when none is
//!   shared.
//! * MSNP8 (msnp8.md): `USR … TWN I` gets a challenge; the client gets a ticket from the HTTPS
//!   login endpoint ([`ServerHandle::nexus_url`] finds it; the TLS certificate is signed by a CA
//!   generated at start, [`ServerHandle::ca_pem`]); tickets are single-use and expire after
//!   [`Config::ticket_ttl`] (30 s); a bad ticket gets `911` and a close. `INF` or MD5 under MSNP8,
//!   and TWN under MSNP7, close the connection. `SYN` answers in the MSNP8 form, `CHG` must carry
//!   the capabilities number (else it is ignored, as on Escargot), and MSNP8 clients get the
//!   capabilities of their contacts in `ILN`/`NLN` (`0` for MSNP7 clients). MSNP7 and MSNP8
//!   clients share lists, presence and switchboards. A fresh time-like salt per attempt;
//!   unknown accounts get a salt too and fail with `911` (then close).
//! * Canonical (historical) forms where the reference gives a choice: one persistent list version
//!   per account, `SYN` with a current version answers only `SYN tr ver`, `PRP tr ver code
//!   {value}` for every property, `BPR ver email code {value}` after an FL entry whose contact
//!   allows you and has phone data, four `BPR` lines and `ILN` after `ADD FL` in a synced session,
//!   `215` for duplicates and `219` for AL/BL conflicts, `NAK` when a message reaches nobody.
//! * Escargot choices where the historical behaviour is unknown or harsh: `RMG` ungroups members
//!   (they fall back to group 0), `913` for `XFR SB` before the first `CHG` or while `HDN`, no
//!   presence reaches a session before its first `CHG`, `CHL` is off unless configured.
//! * Bad input (errors.md §3): unknown commands `200`; missing parameters `300`; malformed values
//!   `201`; commands before sign-in `302` (`PNG` before sign-in closes); commands before `VER`
//!   `715`; a second `VER` `715` + close; `ADD`/`REM` on the RL, `BLP`/`GTC` with other values,
//!   `MSG` to the NS, names over 387 encoded bytes, invalid UTF-8 and bad payload lengths close
//!   the connection. `QRY` without an outstanding challenge gets `715`, a wrong answer `540` and a
//!   close. On a switchboard anything malformed or sent before `USR`/`ANS` closes the connection.
//! * Timers: cookies live [`Config::cookie_ttl`] (120 s) and are single-use; a connection that
//!   has not signed in (NS) or authenticated (SB) within [`Config::auth_timeout`] (60 s) is
//!   closed; a switchboard connection with no traffic in either direction for
//!   [`Config::sb_idle_timeout`] (5 minutes) is closed (the others see `BYE`); an unanswered
//!   challenge closes after [`Config::challenge_timeout`] (50 s).

mod bot_files;
mod config;
pub mod control;
mod core;
mod demo;
mod https;
mod lists;
mod net;
mod ns;
mod sb;
mod store;
mod tls;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use msnp::proto::command::{ServerCommand, Status};
use tokio::sync::{watch, Notify};

pub use crate::config::{
    load_accounts, AccountSpec, Config, DEFAULT_SB_IDLE_TIMEOUT, DEFAULT_TICKET_TTL,
};
pub use crate::demo::{DEMO_ACCOUNT, DEMO_BOT, DEMO_PASSWORD};
pub use crate::store::{AccountData, FlEntry};

use crate::core::{key, Core, NsRole, Out};
use crate::net::{Kind, Shared};

/// Why the server could not start (or save).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime or its thread could not be created.
    #[error("cannot start the server runtime: {0}")]
    Runtime(std::io::Error),
    /// Bad configuration (accounts file, options).
    #[error("{0}")]
    Config(String),
    /// The state file cannot be read, parsed or written.
    #[error("state file: {0}")]
    State(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A signed-in session as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The account (lower case).
    pub account: String,
    /// Its status; `None` until the session's first `CHG`.
    pub status: Option<Status>,
    /// Whether it is a virtual session inside the server (demo contacts, the bot).
    pub is_virtual: bool,
}

/// A switchboard session as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchboardInfo {
    /// The session id given in `CAL … RINGING`, `RNG` and `ANS`.
    pub session_id: String,
    /// Participants in join order.
    pub participants: Vec<String>,
}

/// Entry point.
pub struct Server;

impl Server {
    /// Binds the listeners and starts the server on a thread named `msnp-server`.
    pub fn start(config: Config) -> Result<ServerHandle> {
        let mut config = config;
        if config.demo {
            demo::add_demo_accounts(&mut config);
        }
        let state = match &config.state_path {
            Some(p) => store::load_state(p)?,
            None => None,
        };
        let bind = |addr: SocketAddr| -> Result<StdListener> {
            let l = StdListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
            l.set_nonblocking(true)
                .map_err(|source| Error::Bind { addr, source })?;
            Ok(l)
        };
        let local = |l: &StdListener, addr: SocketAddr| {
            l.local_addr()
                .map_err(|source| Error::Bind { addr, source })
        };
        let first = bind(config.listen)?;
        let first_addr = local(&first, config.listen)?;
        let ns_extra = if config.dispatch {
            let a = config
                .ns_listen
                .unwrap_or_else(|| SocketAddr::new(config.listen.ip(), 0));
            let l = bind(a)?;
            let la = local(&l, a)?;
            Some((l, la))
        } else {
            None
        };
        let sb_want = config
            .sb_listen
            .unwrap_or_else(|| SocketAddr::new(config.listen.ip(), 0));
        let sb = bind(sb_want)?;
        let sb_addr = local(&sb, sb_want)?;
        let ns_addr = ns_extra.as_ref().map_or(first_addr, |(_, a)| *a);

        let public = |a: SocketAddr| match &config.public_host {
            Some(h) => format!("{h}:{}", a.port()),
            None if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
            None => a.to_string(),
        };
        let (ns_public, ds_public, sb_public) =
            (public(ns_addr), public(first_addr), public(sb_addr));

        // The Passport endpoints: an HTTPS listener with a certificate of our own CA.
        let https = match config.https_listen {
            Some(want) => {
                let l = bind(want)?;
                let addr = local(&l, want)?;
                let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
                let extra = [
                    (!addr.ip().is_unspecified()).then(|| addr.ip().to_string()),
                    config.public_host.clone(),
                ];
                for name in extra.into_iter().flatten() {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                let identity = tls::generate(&names)?;
                let host = match &config.public_host {
                    Some(h) => h.clone(),
                    None if addr.ip().is_unspecified() => "127.0.0.1".into(),
                    None if addr.is_ipv6() => format!("[{}]", addr.ip()),
                    None => addr.ip().to_string(),
                };
                let base = format!("https://{host}:{}", addr.port());
                Some((l, addr, base, identity))
            }
            None => None,
        };
        let persist = Arc::new(Notify::new());
        let config = Arc::new(config);
        let mut core = Core::new(config.clone(), state, persist.clone());
        core.ns_public = ns_public;
        core.ds_public = ds_public;
        core.sb_public = sb_public;
        core.msnp8_enabled = config.msnp8 && https.is_some();
        if config.demo {
            demo::seed(&mut core);
        }
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            config: config.clone(),
            persist,
        });

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("msnp-server-worker")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let https_info = https
            .as_ref()
            .map(|(_, addr, base, id)| (*addr, base.clone(), id.ca_pem.clone()));
        let https_run = https.map(|(l, _, base, id)| {
            (
                l,
                https::Endpoints {
                    base,
                    acceptor: tokio_rustls::TlsAcceptor::from(id.server),
                },
            )
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread_shared = shared.clone();
        let first_role = if config.dispatch {
            NsRole::Dispatch
        } else {
            NsRole::Notification
        };
        let thread = std::thread::Builder::new()
            .name("msnp-server".into())
            .spawn(move || {
                rt.block_on(run(
                    thread_shared,
                    first,
                    first_role,
                    ns_extra.map(|(l, _)| l),
                    sb,
                    https_run,
                    stop_rx,
                    ready_tx,
                ));
            })
            .map_err(Error::Runtime)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::Runtime(e)),
            Err(_) => {
                return Err(Error::Runtime(std::io::Error::other(
                    "the server thread ended during start-up",
                )))
            }
        }
        Ok(ServerHandle {
            shared,
            first_addr,
            notification_addr: ns_addr,
            sb_addr,
            https: https_info,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// The server's main task: listeners, persistence, demo; then the orderly shutdown.
#[allow(clippy::too_many_arguments)]
async fn run(
    shared: Arc<Shared>,
    first: StdListener,
    first_role: NsRole,
    ns: Option<StdListener>,
    sb: StdListener,
    https: Option<(StdListener, https::Endpoints)>,
    mut stop: watch::Receiver<bool>,
    ready: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    let convert = |l: StdListener| tokio::net::TcpListener::from_std(l);
    let listeners = (|| -> std::io::Result<_> {
        let https = match https {
            Some((l, e)) => Some((convert(l)?, e)),
            None => None,
        };
        Ok((
            convert(first)?,
            ns.map(convert).transpose()?,
            convert(sb)?,
            https,
        ))
    })();
    let (first, ns, sb, https) = match listeners {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    tokio::spawn(net::accept_loop(
        shared.clone(),
        first,
        Kind::Ns(first_role),
        stop.clone(),
    ));
    if let Some(ns) = ns {
        tokio::spawn(net::accept_loop(
            shared.clone(),
            ns,
            Kind::Ns(NsRole::Notification),
            stop.clone(),
        ));
    }
    tokio::spawn(net::accept_loop(shared.clone(), sb, Kind::Sb, stop.clone()));
    if let Some((listener, endpoints)) = https {
        tokio::spawn(https::accept_loop(
            shared.clone(),
            listener,
            endpoints,
            stop.clone(),
        ));
    }
    let persister = shared
        .config
        .state_path
        .clone()
        .map(|path| tokio::spawn(persist_loop(shared.clone(), path)));
    if shared.config.demo {
        demo::start(shared.clone(), stop.clone());
    }
    let _ = ready.send(Ok(()));

    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }

    // Orderly shutdown: OUT SSD to every signed-in client, close every switchboard.
    {
        let mut core = shared.lock();
        let ns_ids: Vec<_> = core.ns.keys().copied().collect();
        // Everybody goes at once: no FLN storm before the OUT SSD lines.
        core.online.clear();
        for id in ns_ids {
            let signed_in = core.ns.get(&id).is_some_and(|c| c.account.is_some());
            if signed_in {
                core.send(
                    id,
                    &ServerCommand::Out {
                        reason: Some("SSD".into()),
                    },
                );
            }
            core.close_ns(id);
        }
        let sb_ids: Vec<_> = core.sb_conns.keys().copied().collect();
        for id in sb_ids {
            core.close_sb(id);
        }
    }
    let give_up = Instant::now() + Duration::from_secs(2);
    loop {
        let remaining = {
            let core = shared.lock();
            core.ns.values().filter(|c| !c.is_virtual).count() + core.sb_conns.len()
        };
        if remaining == 0 || Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(p) = persister {
        p.abort();
    }
    if let Some(path) = &shared.config.state_path {
        let state = shared.lock().state_file();
        if let Err(e) = store::save_state(path, &state) {
            eprintln!("msnp-server: {e}");
        }
    }
}

/// Saves the state whenever it changed (coalescing bursts of changes).
async fn persist_loop(shared: Arc<Shared>, path: std::path::PathBuf) {
    loop {
        shared.persist.notified().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let state = shared.lock().state_file();
        let p = path.clone();
        match tokio::task::spawn_blocking(move || store::save_state(&p, &state)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("msnp-server: {e}"),
            Err(e) => eprintln!("msnp-server: saving the state failed: {e}"),
        }
    }
}

/// A running server. Dropping it shuts the server down like [`ServerHandle::shutdown`].
pub struct ServerHandle {
    shared: Arc<Shared>,
    first_addr: SocketAddr,
    notification_addr: SocketAddr,
    sb_addr: SocketAddr,
    /// The HTTPS listener, its base URL and the CA certificate (PEM).
    https: Option<(SocketAddr, String, String)>,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address clients connect to first: the dispatch server when dispatch is on, otherwise
    /// the notification server (the ephemeral port when port 0 was asked for).
    pub fn ns_addr(&self) -> SocketAddr {
        self.first_addr
    }

    /// The notification server itself (equal to [`ServerHandle::ns_addr`] without dispatch).
    pub fn notification_addr(&self) -> SocketAddr {
        self.notification_addr
    }

    /// The switchboard listener.
    pub fn sb_addr(&self) -> SocketAddr {
        self.sb_addr
    }

    /// The HTTPS listener of the Passport endpoints (`None` when they are off).
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https.as_ref().map(|(a, _, _)| *a)
    }

    /// The nexus URL clients ask for the login server (`https://127.0.0.1:PORT/rdr/pprdr.asp`).
    pub fn nexus_url(&self) -> Option<String> {
        self.https
            .as_ref()
            .map(|(_, base, _)| format!("{base}{}", msnp::proto::passport::NEXUS_PATH))
    }

    /// The login-server URL (what the nexus names as `DALogin` without test redirects).
    pub fn login_url(&self) -> Option<String> {
        self.https
            .as_ref()
            .map(|(_, base, _)| format!("{base}/login"))
    }

    /// The PEM certificate of the CA generated at start, which signed the HTTPS certificate:
    /// clients trust it as an extra CA.
    pub fn ca_pem(&self) -> Option<&str> {
        self.https.as_ref().map(|(_, _, pem)| pem.as_str())
    }

    /// Issues a Passport ticket for `passport` as the login endpoint would (for tests).
    pub fn issue_ticket(&self, passport: &str) -> String {
        self.shared.lock().issue_ticket(passport)
    }

    /// Sends `OUT SSD` to every client, closes every connection, saves the state and stops.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    // ----- queries ----------------------------------------------------------------------------

    /// A copy of an account's stored data (lists, groups, settings, version).
    pub fn account(&self, passport: &str) -> Option<AccountData> {
        self.shared.lock().data(&key(passport)).cloned()
    }

    /// The versions clients of this account sent in `SYN`, oldest first.
    pub fn syn_versions(&self, passport: &str) -> Vec<u32> {
        self.shared
            .lock()
            .syn_log
            .get(&key(passport))
            .cloned()
            .unwrap_or_default()
    }

    /// Every signed-in session (real and virtual).
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let core = self.shared.lock();
        let mut v: Vec<SessionInfo> = core
            .online
            .iter()
            .filter_map(|(a, id)| {
                let c = core.ns.get(id)?;
                Some(SessionInfo {
                    account: a.clone(),
                    status: c.status.clone(),
                    is_virtual: c.is_virtual,
                })
            })
            .collect();
        v.sort_by(|a, b| a.account.cmp(&b.account));
        v
    }

    /// The signed-in session of an account, if any.
    pub fn session(&self, passport: &str) -> Option<SessionInfo> {
        let k = key(passport);
        self.sessions().into_iter().find(|s| s.account == k)
    }

    /// Every switchboard session.
    pub fn switchboards(&self) -> Vec<SwitchboardInfo> {
        let core = self.shared.lock();
        let mut v: Vec<SwitchboardInfo> = core
            .sbs
            .values()
            .map(|b| SwitchboardInfo {
                session_id: b.session_id.clone(),
                participants: b
                    .members
                    .iter()
                    .filter_map(|m| core.sb_conns.get(m)?.account.clone())
                    .collect(),
            })
            .collect();
        v.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        v
    }

    /// Polls `f` until it returns true or `timeout` passes (for tests that wait on server-side
    /// effects); returns the last result.
    pub fn wait_for(&self, timeout: Duration, mut f: impl FnMut(&ServerHandle) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if f(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Adds an account at run time (or changes its password).
    pub fn add_account(&self, spec: &AccountSpec) {
        let display = spec
            .display_name
            .clone()
            .unwrap_or_else(|| spec.passport.split('@').next().unwrap_or("").to_string());
        self.shared
            .lock()
            .add_account(&spec.passport, &spec.password, &display);
    }

    // ----- fault injection ----------------------------------------------------------------

    /// Drops an account's notification socket at once, without `OUT` (the watchers see `FLN`).
    pub fn drop_session(&self, passport: &str) -> bool {
        let core = self.shared.lock();
        match core.session_of(&key(passport)) {
            Some((_, c)) => c.outlet.push(Out::Abort),
            None => false,
        }
    }

    /// Closes every connection of a switchboard session; false if there is no such session.
    pub fn close_switchboard(&self, session_id: &str) -> bool {
        let mut core = self.shared.lock();
        let members: Vec<_> = core
            .sbs
            .values()
            .filter(|b| b.session_id == session_id)
            .flat_map(|b| b.members.clone())
            .collect();
        if members.is_empty() {
            return false;
        }
        for m in members {
            core.close_sb(m);
        }
        true
    }

    /// Delays every later write to the account's notification and switchboard connections.
    pub fn set_reply_delay(&self, passport: &str, delay: Duration) -> bool {
        let core = self.shared.lock();
        let k = key(passport);
        let mut any = false;
        if let Some((_, c)) = core.session_of(&k) {
            any |= c.outlet.push(Out::SetDelay(delay));
        }
        for c in core.sb_conns.values() {
            if c.account.as_deref() == Some(k.as_str()) {
                any |= c.outlet.push(Out::SetDelay(delay));
            }
        }
        any
    }

    /// Writes raw bytes to an account's notification connection.
    pub fn send_raw(&self, passport: &str, bytes: &[u8]) -> bool {
        let core = self.shared.lock();
        match core.session_of(&key(passport)) {
            Some((_, c)) => c.outlet.push(Out::Data(bytes.to_vec())),
            None => false,
        }
    }

    /// Writes one line (CR LF appended) to an account's notification connection.
    pub fn send_line(&self, passport: &str, line: &str) -> bool {
        self.send_raw(passport, format!("{line}\r\n").as_bytes())
    }

    /// Writes raw bytes to an account's connection in a switchboard session.
    pub fn send_raw_sb(&self, passport: &str, session_id: &str, bytes: &[u8]) -> bool {
        let core = self.shared.lock();
        let k = key(passport);
        let conn = core
            .sbs
            .values()
            .filter(|b| b.session_id == session_id)
            .flat_map(|b| b.members.iter())
            .filter_map(|m| core.sb_conns.get(m))
            .find(|c| c.account.as_deref() == Some(k.as_str()));
        match conn {
            Some(c) => c.outlet.push(Out::Data(bytes.to_vec())),
            None => false,
        }
    }

    /// Sends a `CHL` challenge to an account's session now; returns the challenge string.
    pub fn send_challenge(&self, passport: &str) -> Option<String> {
        let mut core = self.shared.lock();
        let (id, _) = core.session_of(&key(passport))?;
        core.send_challenge(id)
    }

    /// Number of open connections (notification, dispatch and switchboard; virtual excluded).
    pub fn connection_count(&self) -> usize {
        let core = self.shared.lock();
        core.ns.values().filter(|c| !c.is_virtual).count() + core.sb_conns.len()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}
