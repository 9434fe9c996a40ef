//! Application constants (id, version, resource paths, default server) and the XDG directories.

use std::path::PathBuf;

/// The application id: desktop file, D-Bus name, notifications.
pub const APP_ID: &str = "io.github.mariposa.Mariposa";
/// The version from `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The gettext domain of every translatable string (Rust and `.ui`).
pub const GETTEXT_PACKAGE: &str = "mariposa";
/// Where the embedded resources live.
pub const RESOURCE_PREFIX: &str = "/io/github/mariposa/Mariposa";
/// The public Escargot dispatch server, the default for new accounts.
pub const DEFAULT_SERVER: &str = "ds.escargot.nina.chat:1863";
/// The catalogues compiled by `build.rs`, used when no installed ones exist.
pub const BUILD_LOCALE_DIR: &str = concat!(env!("OUT_DIR"), "/locale");

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("io.github", "mariposa", "Mariposa")
}

/// `~/.config/mariposa` (or `$XDG_CONFIG_HOME/mariposa`): settings and the account list.
pub fn config_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.config_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("mariposa-config"))
}

/// `~/.cache/mariposa` (or `$XDG_CACHE_HOME/mariposa`): contact-list caches.
pub fn cache_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("mariposa-cache"))
}

/// `~/.local/share/mariposa` (or `$XDG_DATA_HOME/mariposa`): chat logs.
pub fn data_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("mariposa-data"))
}
