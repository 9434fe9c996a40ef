//! Per-account contact-list cache (`~/.cache/mariposa/contacts/<account>.json`): the lists,
//! groups and list version, so the next sign-in's `SYN` can skip the download when nothing
//! changed. Read and written off the main thread.

use std::path::{Path, PathBuf};

use msnp::proto::contacts::ContactList;

use super::{keep_aside, write_atomic};
use crate::config::cache_dir;

/// The cache file of `account` under `dir`: the address lower-cased, anything but letters,
/// digits, `@`, `.`, `-` and `_` replaced by `_`.
pub fn path_in(dir: &Path, account: &str) -> PathBuf {
    let safe: String = account
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    dir.join("contacts").join(format!("{safe}.json"))
}

/// The cache file of `account`.
pub fn path_for(account: &str) -> PathBuf {
    path_in(&cache_dir(), account)
}

/// Reads a cache (blocking). Missing: `None`. Unreadable: moved aside, `None`.
pub fn load(path: &Path) -> Option<ContactList> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(list) => Some(list),
        Err(e) => {
            eprintln!(
                "mariposa: ignoring the contact cache {}: {e}",
                path.display()
            );
            let _ = keep_aside(path);
            None
        }
    }
}

/// Writes a cache (blocking).
pub fn save(path: &Path, list: &ContactList) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(list).map_err(std::io::Error::other)?;
    write_atomic(path, &bytes)
}

/// Loads `account`'s cache on a worker thread.
pub async fn load_async(account: &str) -> Option<ContactList> {
    let path = path_for(account);
    gtk::gio::spawn_blocking(move || load(&path))
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use msnp::proto::command::List;

    #[test]
    fn paths_are_sanitised() {
        let p = path_in(Path::new("/c"), "../Evil/..@x.com");
        assert_eq!(p, Path::new("/c/contacts/_evil_..@x.com.json"));
        assert_eq!(
            path_in(Path::new("/c"), "Bob@Example.com"),
            Path::new("/c/contacts/bob@example.com.json")
        );
    }

    #[test]
    fn round_trip_and_corrupt_cache() {
        let dir = std::env::temp_dir().join(format!("mariposa-cache-{}", std::process::id()));
        let path = path_in(&dir, "me@example.com");
        let mut list = ContactList {
            version: 7,
            ..Default::default()
        };
        list.add(List::Forward, "bob@example.com", "Bob", Some(0));
        save(&path, &list).unwrap();
        assert_eq!(load(&path), Some(list));
        std::fs::write(&path, b"garbage").unwrap();
        assert_eq!(load(&path), None);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
