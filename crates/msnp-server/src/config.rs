//! Server configuration: addresses, accounts, timers and limits, plus loading `accounts.json`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

/// One account the server knows, as listed in `accounts.json` or given with `--account`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct AccountSpec {
    /// The sign-in address (stored and compared in lower case).
    pub passport: String,
    /// The password, used for the MD5 login check and the Passport login server.
    pub password: String,
    /// The initial display name (plain text; encoded on the wire). Defaults to the address.
    #[serde(default)]
    pub display_name: Option<String>,
}

impl AccountSpec {
    /// An account with the given address and password; the display name is the address's user
    /// part.
    pub fn new(passport: &str, password: &str) -> Self {
        AccountSpec {
            passport: passport.to_string(),
            password: password.to_string(),
            display_name: None,
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: &str) -> Self {
        self.display_name = Some(name.to_string());
        self
    }

    /// Parses `EMAIL:PASSWORD` (the `--account` option).
    pub fn parse_pair(pair: &str) -> Result<Self, Error> {
        match pair.split_once(':') {
            Some((email, password)) if !email.is_empty() => Ok(AccountSpec::new(email, password)),
            _ => Err(Error::Config(format!(
                "--account expects EMAIL:PASSWORD, got {pair:?}"
            ))),
        }
    }
}

/// Reads a JSON array of [`AccountSpec`] objects.
pub fn load_accounts(path: &Path) -> Result<Vec<AccountSpec>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::Config(format!(
            "{} is not a valid accounts file: {e}",
            path.display()
        ))
    })
}

/// Everything [`crate::Server::start`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where clients connect first: the dispatch server when `dispatch` is on, otherwise the
    /// notification server itself. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Run a separate dispatch server that answers the first `USR` with `XFR NS` (historical
    /// layout). Off: the listen address is directly the notification server (like Escargot).
    pub dispatch: bool,
    /// Where the notification server listens when `dispatch` is on (port 0: any free port).
    pub ns_listen: Option<SocketAddr>,
    /// Where the switchboard listens (port 0: any free port). Defaults to the listen IP, port 0.
    pub sb_listen: Option<SocketAddr>,
    /// Host name or IP written into `XFR` and `RNG` (defaults to the bound IP).
    pub public_host: Option<String>,
    /// The accounts.
    pub accounts: Vec<AccountSpec>,
    /// JSON file where lists, groups, settings and versions persist (None: memory only).
    pub state_path: Option<PathBuf>,
    /// Start the demo: the demo account, virtual contacts and the echo bot.
    pub demo: bool,
    /// Send `CHL` after the first `CHG` of every session (and expect `QRY`).
    pub challenges: bool,
    /// How long a client has to answer a `CHL` before the connection is closed.
    pub challenge_timeout: Duration,
    /// A switchboard connection without any traffic for this long is closed.
    pub sb_idle_timeout: Duration,
    /// A switchboard connection that has not sent a valid `USR`/`ANS` within this time is closed;
    /// the same limit applies to notification connections that have not signed in.
    pub auth_timeout: Duration,
    /// Lifetime of a switchboard cookie handed out in `XFR SB` or `RNG`.
    pub cookie_ttl: Duration,
    /// Most entries per list (`210` above it).
    pub max_list_entries: usize,
    /// Most groups per account, group 0 included (`223` above it).
    pub max_groups: usize,
    /// Tokio worker threads of the server runtime.
    pub worker_threads: usize,
    /// Speak MSNP8 (Tweener sign-in through the HTTPS Passport endpoints) besides MSNP2–7.
    pub msnp8: bool,
    /// Where the HTTPS nexus and login server listen (port 0: any free port); `None` turns the
    /// Passport endpoints, and with them MSNP8 sign-in, off.
    pub https_listen: Option<SocketAddr>,
    /// Lifetime of a Passport ticket (Escargot: 30 s); tickets are single-use.
    pub ticket_ttl: Duration,
    /// Test option: the nexus names a login URL that answers with this many `302` redirects
    /// before reaching the real login endpoint.
    pub login_redirects: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 1863)),
            dispatch: false,
            ns_listen: None,
            sb_listen: None,
            public_host: None,
            accounts: Vec::new(),
            state_path: None,
            demo: false,
            challenges: false,
            challenge_timeout: Duration::from_secs(50),
            sb_idle_timeout: DEFAULT_SB_IDLE_TIMEOUT,
            auth_timeout: Duration::from_secs(60),
            cookie_ttl: Duration::from_secs(120),
            max_list_entries: 10_000,
            max_groups: 30,
            worker_threads: 2,
            msnp8: true,
            https_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ticket_ttl: DEFAULT_TICKET_TTL,
            login_redirects: 0,
        }
    }
}

/// Default idle limit of a switchboard connection: five minutes without a byte either way.
pub const DEFAULT_SB_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default lifetime of a Passport ticket, as on Escargot.
pub const DEFAULT_TICKET_TTL: Duration = Duration::from_secs(30);

impl Config {
    /// A loopback configuration on free ports with the given accounts (for tests).
    pub fn loopback(accounts: Vec<AccountSpec>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            accounts,
            ..Config::default()
        }
    }
}
