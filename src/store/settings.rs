//! `settings.json`: preferences, window size and the account list (never passwords). Read once
//! at start-up (a small file, read before the first window exists); written atomically off the
//! main thread. A file that cannot be parsed is kept aside and reported, never overwritten.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use msnp::proto::msnp8::ProtocolChoice;

use super::{keep_aside, write_atomic};
use crate::config::DEFAULT_SERVER;

/// Default minutes without input before the status becomes Idle.
pub const DEFAULT_IDLE_MINUTES: u32 = 5;

/// A remembered account (the most recent first in [`Settings::accounts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountSettings {
    /// The e-mail address.
    pub email: String,
    /// `host:port` of the server.
    pub server: String,
    /// The status code to sign in with (`NLN`, `HDN`, …).
    pub status: String,
    /// Whether the password is kept in the Secret Service.
    pub remember_password: bool,
    /// Sign in at start-up (needs the remembered password).
    pub auto_sign_in: bool,
    /// Which protocol versions to offer (advanced; files from before it, or with a value this
    /// version does not know, load as Automatic).
    #[serde(deserialize_with = "lenient_protocol")]
    pub protocol: ProtocolChoice,
}

/// Reads a protocol choice; an unknown value becomes Automatic instead of failing the file.
fn lenient_protocol<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ProtocolChoice, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

impl Default for AccountSettings {
    fn default() -> Self {
        AccountSettings {
            email: String::new(),
            server: DEFAULT_SERVER.to_string(),
            status: "NLN".into(),
            remember_password: false,
            auto_sign_in: false,
            protocol: ProtocolChoice::Auto,
        }
    }
}

/// Everything in `settings.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// File format version.
    pub version: u32,
    /// Known accounts, the last used first.
    pub accounts: Vec<AccountSettings>,
    /// Show offline contacts.
    pub show_offline: bool,
    /// Minutes without input before Idle (0: never).
    pub idle_minutes: u32,
    /// Show desktop notifications.
    pub notifications: bool,
    /// Main window width.
    pub window_width: i32,
    /// Main window height.
    pub window_height: i32,
    /// Main window maximised.
    pub window_maximized: bool,
    /// Where received files are saved; empty: the XDG Downloads folder.
    pub download_dir: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: 1,
            accounts: Vec::new(),
            show_offline: true,
            idle_minutes: DEFAULT_IDLE_MINUTES,
            notifications: true,
            window_width: 380,
            window_height: 720,
            window_maximized: false,
            download_dir: String::new(),
        }
    }
}

impl Settings {
    /// The last used account (or defaults for a new one).
    pub fn last_account(&self) -> AccountSettings {
        self.accounts.first().cloned().unwrap_or_default()
    }

    /// The folder received files go to: the chosen one, else the XDG Downloads folder, else
    /// `~/Downloads`.
    pub fn download_folder(&self) -> PathBuf {
        if !self.download_dir.trim().is_empty() {
            return PathBuf::from(&self.download_dir);
        }
        default_download_folder()
    }

    /// Puts `account` first, replacing an older entry for the same address.
    pub fn remember_account(&mut self, account: AccountSettings) {
        self.accounts
            .retain(|a| !a.email.eq_ignore_ascii_case(&account.email));
        self.accounts.insert(0, account);
        self.accounts.truncate(20);
    }
}

/// The XDG Downloads folder (`user-dirs.dirs`), else `~/Downloads`, else the temporary folder.
pub fn default_download_folder() -> PathBuf {
    gtk::glib::user_special_dir(gtk::glib::UserDirectory::Downloads)
        .filter(|d| d.is_absolute())
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().join("Downloads")))
        .unwrap_or_else(std::env::temp_dir)
}

/// What loading found.
#[derive(Debug)]
pub struct Loaded {
    /// The settings (defaults when there was no usable file).
    pub settings: Settings,
    /// A problem to tell the user about (the file was corrupt and moved aside).
    pub problem: Option<String>,
}

/// Reads `path`; a missing file gives defaults; an unreadable one is moved aside.
pub fn load(path: &Path) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Loaded {
                settings: Settings::default(),
                problem: None,
            }
        }
        Err(e) => {
            return Loaded {
                settings: Settings::default(),
                problem: Some(format!("{}: {e}", path.display())),
            }
        }
    };
    match serde_json::from_slice::<Settings>(&bytes) {
        Ok(settings) => Loaded {
            settings,
            problem: None,
        },
        Err(e) => {
            let problem = match keep_aside(path) {
                Ok(aside) => format!("{} ({e}); kept as {}", path.display(), aside.display()),
                Err(move_err) => format!(
                    "{} ({e}); could not move it aside: {move_err}",
                    path.display()
                ),
            };
            Loaded {
                settings: Settings::default(),
                problem: Some(problem),
            }
        }
    }
}

/// Serialises writes of one file: at most one in flight, the newest content wins, in order.
#[derive(Clone)]
pub struct Writer(Rc<WriterInner>);

struct WriterInner {
    path: PathBuf,
    busy: Cell<bool>,
    next: RefCell<Option<Vec<u8>>>,
}

impl Writer {
    /// A writer for `path`.
    pub fn new(path: PathBuf) -> Self {
        Writer(Rc::new(WriterInner {
            path,
            busy: Cell::new(false),
            next: RefCell::new(None),
        }))
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Writes `bytes` on a worker thread (`gio::spawn_blocking`) after any write in flight.
    pub fn write(&self, bytes: Vec<u8>) {
        *self.0.next.borrow_mut() = Some(bytes);
        if self.0.busy.get() {
            return;
        }
        self.0.busy.set(true);
        let this = self.clone();
        gtk::glib::spawn_future_local(async move {
            loop {
                let Some(bytes) = this.0.next.borrow_mut().take() else {
                    break;
                };
                let path = this.0.path.clone();
                let result = gtk::gio::spawn_blocking(move || write_atomic(&path, &bytes)).await;
                match result {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        eprintln!("mariposa: cannot write {}: {e}", this.0.path.display())
                    }
                    Err(_) => eprintln!("mariposa: writing {} failed", this.0.path.display()),
                }
            }
            this.0.busy.set(false);
        });
    }

    /// Writes at once on the calling thread (at shutdown, when nothing may be lost).
    pub fn write_now(&self, bytes: &[u8]) -> std::io::Result<()> {
        write_atomic(&self.0.path, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mariposa-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("settings.json")
    }

    #[test]
    fn missing_file_gives_defaults_and_round_trips() {
        let path = temp("roundtrip");
        let l = load(&path);
        assert!(l.problem.is_none());
        assert_eq!(l.settings, Settings::default());
        assert_eq!(l.settings.last_account().server, DEFAULT_SERVER);
        let mut s = Settings::default();
        s.remember_account(AccountSettings {
            email: "a@example.com".into(),
            ..Default::default()
        });
        s.remember_account(AccountSettings {
            email: "b@example.com".into(),
            ..Default::default()
        });
        s.remember_account(AccountSettings {
            email: "A@example.com".into(),
            server: "127.0.0.1:1863".into(),
            ..Default::default()
        });
        assert_eq!(s.accounts.len(), 2);
        write_atomic(&path, &serde_json::to_vec_pretty(&s).unwrap()).unwrap();
        assert_eq!(load(&path).settings, s);
    }

    #[test]
    fn the_protocol_choice_round_trips_and_defaults_to_automatic() {
        let path = temp("protocol");
        // A file written before the setting existed.
        std::fs::write(
            &path,
            br#"{"version": 1, "accounts": [{"email": "a@example.com", "server": "h:1863",
                "status": "NLN", "remember_password": false, "auto_sign_in": false}]}"#,
        )
        .unwrap();
        let l = load(&path);
        assert!(l.problem.is_none());
        assert_eq!(l.settings.accounts[0].protocol, ProtocolChoice::Auto);
        assert_eq!(l.settings.last_account().protocol, ProtocolChoice::Auto);
        for choice in [
            ProtocolChoice::Msnp8Only,
            ProtocolChoice::Msnp7Only,
            ProtocolChoice::Auto,
        ] {
            let mut s = l.settings.clone();
            s.accounts[0].protocol = choice;
            write_atomic(&path, &serde_json::to_vec_pretty(&s).unwrap()).unwrap();
            let back = load(&path);
            assert!(back.problem.is_none());
            assert_eq!(back.settings.accounts[0].protocol, choice);
            assert_eq!(back.settings, s);
        }
        std::fs::write(
            &path,
            br#"{"accounts": [{"email": "a@example.com", "protocol": "Msnp9"}]}"#,
        )
        .unwrap();
        let l = load(&path);
        assert!(l.problem.is_none());
        assert_eq!(l.settings.accounts[0].protocol, ProtocolChoice::Auto);
    }

    #[test]
    fn the_download_folder_is_the_setting_or_downloads() {
        let mut s = Settings::default();
        let default = s.download_folder();
        assert!(default.is_absolute(), "{}", default.display());
        assert_eq!(default, default_download_folder());
        s.download_dir = "/srv/incoming".into();
        assert_eq!(s.download_folder(), PathBuf::from("/srv/incoming"));
        s.download_dir = "  ".into();
        assert_eq!(s.download_folder(), default);
    }

    #[test]
    fn unknown_and_missing_fields_are_tolerated() {
        let path = temp("partial");
        std::fs::write(&path, br#"{"idle_minutes": 9, "future_field": true}"#).unwrap();
        let l = load(&path);
        assert!(l.problem.is_none());
        assert_eq!(l.settings.idle_minutes, 9);
        assert!(l.settings.show_offline);
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_and_reported() {
        let path = temp("corrupt");
        std::fs::write(&path, b"{not json").unwrap();
        let l = load(&path);
        let problem = l.problem.expect("reported");
        assert!(problem.contains("corrupt-"), "{problem}");
        assert!(!path.exists());
        let kept: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(kept.iter().any(|n| n.starts_with("settings.json.corrupt-")));
        assert_eq!(
            std::fs::read(path.parent().unwrap().join(&kept[0])).unwrap(),
            b"{not json"
        );
    }
}
