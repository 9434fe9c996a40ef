//! The demo: the demo account, virtual contacts with changing presence, and the echo bot.

use std::sync::Arc;

use tokio::sync::watch;

use crate::config::Config;
use crate::net::Shared;

/// The demo user's address.
pub const DEMO_ACCOUNT: &str = "you@mariposa.invalid";
/// The demo user's password.
pub const DEMO_PASSWORD: &str = "demo";
/// The echo bot's address.
pub const DEMO_BOT: &str = "echo@mariposa.invalid";

/// Adds the demo accounts to the configuration.
pub(crate) fn add_demo_accounts(_config: &mut Config) {}

/// Starts the virtual sessions.
pub(crate) fn start(_shared: Arc<Shared>, _stop: watch::Receiver<bool>) {}
