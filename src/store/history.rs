//! Chat logs: one JSON Lines file per account and contact under the XDG data dir, appended and
//! flushed per line so a crash loses nothing already shown. Blocking: call it off the GTK main
//! thread (`gio::spawn_blocking`).

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One logged line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds.
    pub time: i64,
    /// Whether the user wrote it.
    pub own: bool,
    /// The sender's shown name.
    pub name: String,
    /// The text.
    pub text: String,
}

/// A file-name-safe form of an account (letters, digits, `@ . _ -`; anything else `_`).
fn safe(account: &str) -> String {
    let s: String = account
        .to_ascii_lowercase()
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// `<data dir>/history/<own account>/<contact>.jsonl`.
pub fn log_path(data_dir: &Path, own: &str, contact: &str) -> PathBuf {
    data_dir
        .join("history")
        .join(safe(own))
        .join(format!("{}.jsonl", safe(contact)))
}

/// Appends one line and flushes it.
pub fn append(path: &Path, entry: &Entry) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&line)?;
    f.flush()?;
    f.sync_data()
}

/// The last `n` readable lines (a missing file is an empty log; broken lines are skipped).
pub fn read_last(path: &Path, n: usize) -> std::io::Result<Vec<Entry>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = std::collections::VecDeque::with_capacity(n + 1);
    for line in BufReader::new(f).lines() {
        let Ok(line) = line else { continue };
        if let Ok(e) = serde_json::from_str::<Entry>(&line) {
            out.push_back(e);
            if out.len() > n {
                out.pop_front();
            }
        }
    }
    Ok(out.into())
}

/// Appends lines in order on one background thread ("mariposa-history"), so the GTK main thread
/// never waits for the disk and lines of one log never overtake each other.
#[derive(Debug, Clone)]
pub struct Writer {
    lines: std::sync::mpsc::Sender<(PathBuf, Entry)>,
}

impl Writer {
    /// Starts the writer thread; it ends when every `Writer` clone is dropped.
    pub fn start() -> Self {
        let (lines, rx) = std::sync::mpsc::channel::<(PathBuf, Entry)>();
        let spawned = std::thread::Builder::new()
            .name("mariposa-history".into())
            .spawn(move || {
                for (path, entry) in rx {
                    if let Err(e) = append(&path, &entry) {
                        eprintln!("mariposa: cannot write {}: {e}", path.display());
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("mariposa: no history writer: {e}");
        }
        Writer { lines }
    }

    /// Queues a line for `path`.
    pub fn append(&self, path: PathBuf, entry: Entry) {
        let _ = self.lines.send((path, entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_and_read_back_the_last_lines() {
        let dir = std::env::temp_dir().join(format!("mariposa-history-{}", std::process::id()));
        let path = log_path(&dir, "Me@Example.com", "../bob/..@x.com");
        assert!(path.starts_with(dir.join("history").join("me@example.com")));
        assert_eq!(path.file_name().unwrap(), "_.._bob_..@x.com.jsonl");
        assert_eq!(read_last(&path, 20).unwrap(), vec![]);
        for i in 0..25 {
            let e = Entry {
                time: i,
                own: i % 2 == 0,
                name: "Bob".into(),
                text: format!("line {i}\nwith \"quotes\""),
            };
            append(&path, &e).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{broken\n")
            .unwrap();
        let last = read_last(&path, 20).unwrap();
        assert_eq!(last.len(), 20);
        assert_eq!(last[0].time, 5);
        assert_eq!(last[19].text, "line 24\nwith \"quotes\"");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
