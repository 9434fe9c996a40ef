//! Chat logs: one JSON Lines file per account and contact under the XDG data dir, appended and
//! flushed per line so a crash loses nothing already shown; read back in pages from the end
//! (so a log of any size opens at once), searched across all logs of an account, and exported
//! as plain text or HTML. Blocking: call it off the GTK main thread (`gio::spawn_blocking`).

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One logged line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Unix seconds.
    pub time: i64,
    /// Whether the user wrote it.
    pub own: bool,
    /// The sender's shown name.
    pub name: String,
    /// The text.
    pub text: String,
    /// The `X-MMS-IM-Format` value it was sent with (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
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
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    // A line cut short by a crash stays on its own line: the new one starts after a newline.
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    f.write_all(&line)?;
    f.flush()?;
    f.sync_data()
}

/// Lines longer than this (bytes) are skipped when reading: a damaged or hostile file cannot
/// make a reader hold more than this for one line.
pub const MAX_LINE: usize = 256 * 1024;
/// Bytes read per step when reading backwards.
const CHUNK: usize = 64 * 1024;

/// One line read back, with the byte offset where it starts in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where the line starts.
    pub offset: u64,
    /// The line.
    pub entry: Entry,
}

/// Lines read backwards from some point of a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The lines, oldest first.
    pub lines: Vec<Line>,
    /// Where the oldest line read starts: the `end` of the page before it; 0 at the start.
    pub start: u64,
    /// Damaged or oversized lines passed over.
    pub skipped: usize,
}

fn open_log(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    match std::fs::File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Parses one raw line: `None` for a blank line, `Some(None)` for a damaged one.
fn parse_line(raw: &[u8], too_long: bool) -> Option<Option<Entry>> {
    if too_long {
        return Some(None);
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(serde_json::from_slice::<Entry>(raw).ok())
}

/// Reads the log at `path` backwards from byte `end` (the end of the file when `None`), in
/// chunks, until `max_lines` readable lines are collected and, when `down_to` is given, the
/// line starting at or before that offset is included. A missing file is an empty log; blank
/// lines are ignored; damaged lines (a write cut short) and lines over [`MAX_LINE`] bytes are
/// skipped and counted.
pub fn read_before(
    path: &Path,
    end: Option<u64>,
    max_lines: usize,
    down_to: Option<u64>,
) -> std::io::Result<Page> {
    let Some(mut f) = open_log(path)? else {
        return Ok(Page::default());
    };
    let len = f.metadata()?.len();
    let mut pos = end.map_or(len, |e| e.min(len));
    let mut page = Page {
        start: pos,
        ..Page::default()
    };
    let mut newest_first: Vec<Line> = Vec::new();
    // The bytes of the line being assembled (its start not found yet).
    let mut tail: Vec<u8> = Vec::new();
    let mut too_long = false;
    let mut buf = vec![0u8; CHUNK];
    let done = |n: usize, start: u64| n >= max_lines && down_to.is_none_or(|d| start <= d);
    let mut take = |start: u64, tail: &mut Vec<u8>, too_long: &mut bool, page: &mut Page| {
        match parse_line(tail, *too_long) {
            Some(Some(entry)) => newest_first.push(Line {
                offset: start,
                entry,
            }),
            Some(None) => page.skipped += 1,
            None => {}
        }
        tail.clear();
        *too_long = false;
        page.start = start;
        newest_first.len()
    };
    let prepend = |tail: &mut Vec<u8>, too_long: &mut bool, piece: &[u8]| {
        if *too_long || tail.len() + piece.len() > MAX_LINE {
            *too_long = true;
            tail.clear();
        } else {
            tail.splice(0..0, piece.iter().copied());
        }
    };
    while pos > 0 {
        let n = CHUNK.min(pos as usize);
        pos -= n as u64;
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut buf[..n])?;
        let chunk = &buf[..n];
        let mut upto = n;
        while let Some(i) = chunk[..upto].iter().rposition(|&b| b == b'\n') {
            prepend(&mut tail, &mut too_long, &chunk[i + 1..upto]);
            let start = pos + i as u64 + 1;
            let count = take(start, &mut tail, &mut too_long, &mut page);
            upto = i;
            if done(count, start) {
                newest_first.reverse();
                page.lines = newest_first;
                return Ok(page);
            }
        }
        prepend(&mut tail, &mut too_long, &chunk[..upto]);
    }
    take(0, &mut tail, &mut too_long, &mut page);
    newest_first.reverse();
    page.lines = newest_first;
    Ok(page)
}

/// The last `n` readable lines (a missing file is an empty log; broken lines are skipped).
pub fn read_last(path: &Path, n: usize) -> std::io::Result<Vec<Entry>> {
    Ok(read_before(path, None, n, None)?
        .lines
        .into_iter()
        .map(|l| l.entry)
        .collect())
}

/// Calls `f(offset, entry)` for every line from the start of the log (`None` for a damaged or
/// oversized line) until it returns false. Memory per line is bounded by [`MAX_LINE`].
pub fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, Option<Entry>) -> bool,
) -> std::io::Result<()> {
    let Some(file) = open_log(path)? else {
        return Ok(());
    };
    let mut reader = BufReader::with_capacity(CHUNK, file);
    let mut line = Vec::new();
    let mut too_long = false;
    let mut offset = 0u64;
    let mut line_start = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            if let Some(entry) = parse_line(&line, too_long) {
                f(line_start, entry);
            }
            return Ok(());
        }
        let (piece, used, ends) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if too_long || line.len() + piece.len() > MAX_LINE {
            too_long = true;
            line.clear();
        } else {
            line.extend_from_slice(piece);
        }
        reader.consume(used);
        offset += used as u64;
        if ends {
            if let Some(entry) = parse_line(&line, too_long) {
                if !f(line_start, entry) {
                    return Ok(());
                }
            }
            line.clear();
            too_long = false;
            line_start = offset;
        }
    }
}

/// The directory of an account's logs.
pub fn account_dir(data_dir: &Path, own: &str) -> PathBuf {
    data_dir.join("history").join(safe(own))
}

/// One conversation log of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    /// The contact (the file name without `.jsonl`).
    pub contact: String,
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Last written, Unix seconds.
    pub modified: i64,
}

/// The account's logs, the most recently written first (no directory: none).
pub fn list_logs(data_dir: &Path, own: &str) -> std::io::Result<Vec<LogInfo>> {
    let dir = account_dir(data_dir, own);
    let read = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for item in read.flatten() {
        let path = item.path();
        let Some(contact) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jsonl"))
            .filter(|n| !n.is_empty())
            .map(str::to_string)
        else {
            continue;
        };
        let Ok(meta) = item.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        out.push(LogInfo {
            contact,
            path,
            size: meta.len(),
            modified,
        });
    }
    out.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| a.contact.cmp(&b.contact))
    });
    Ok(out)
}

/// A line that matched a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The contact whose log it is in.
    pub contact: String,
    /// The log.
    pub path: PathBuf,
    /// Where the line starts in the log.
    pub offset: u64,
    /// The line.
    pub entry: Entry,
}

/// What a search found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The matching lines, newest first, at most the limit asked for.
    pub hits: Vec<Hit>,
    /// How many lines matched in all (more than `hits` when the limit cut them).
    pub total: usize,
}

/// Searches every log of the account for lines whose text contains `query` (case-insensitive,
/// surrounding spaces ignored). Keeps the `limit` newest hits; an empty query finds nothing.
pub fn search(data_dir: &Path, own: &str, query: &str, limit: usize) -> std::io::Result<Found> {
    let needle = query.trim().to_lowercase();
    let mut found = Found::default();
    if needle.is_empty() || limit == 0 {
        return Ok(found);
    }
    let newest_first = |hits: &mut Vec<Hit>| {
        hits.sort_by(|a, b| {
            (b.entry.time, &a.contact, b.offset).cmp(&(a.entry.time, &b.contact, a.offset))
        });
    };
    for log in list_logs(data_dir, own)? {
        for_each_line(&log.path, |offset, entry| {
            if let Some(entry) = entry {
                if entry.text.to_lowercase().contains(&needle) {
                    found.total += 1;
                    found.hits.push(Hit {
                        contact: log.contact.clone(),
                        path: log.path.clone(),
                        offset,
                        entry,
                    });
                    if found.hits.len() >= 2 * limit {
                        newest_first(&mut found.hits);
                        found.hits.truncate(limit);
                    }
                }
            }
            true
        })?;
    }
    newest_first(&mut found.hits);
    found.hits.truncate(limit);
    Ok(found)
}

/// Local date and time of a line, "YYYY-MM-DD HH:MM:SS".
pub fn format_time(time: i64) -> String {
    gtk::glib::DateTime::from_unix_local(time)
        .and_then(|t| t.format("%Y-%m-%d %H:%M:%S"))
        .map(|s| s.to_string())
        .unwrap_or_else(|_| time.to_string())
}

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `[time] name: text`, one line each (continuation lines indented).
    Text,
    /// A standalone HTML page; every text escaped, formatting as validated inline styles.
    Html,
}

/// `text` with `& < > " '` escaped for HTML text and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline CSS for an `X-MMS-IM-Format` value, built only from validated values.
fn html_style(format: &str) -> String {
    if format.is_empty() {
        return String::new();
    }
    let f = msnp::proto::payload::TextFormat::parse(format);
    let mut style = String::new();
    if let Some(family) = crate::model::rich_text::valid_font_family(&f.font) {
        style.push_str(&format!("font-family:'{family}';"));
    }
    if f.bold {
        style.push_str("font-weight:bold;");
    }
    if f.italic {
        style.push_str("font-style:italic;");
    }
    match (f.underline, f.strikethrough) {
        (true, true) => style.push_str("text-decoration:underline line-through;"),
        (true, false) => style.push_str("text-decoration:underline;"),
        (false, true) => style.push_str("text-decoration:line-through;"),
        _ => {}
    }
    let c = f.color;
    style.push_str(&format!("color:#{:02x}{:02x}{:02x};", c.r, c.g, c.b));
    style
}

/// One line in the export format.
pub fn export_line(format: ExportFormat, entry: &Entry) -> String {
    let time = format_time(entry.time);
    match format {
        ExportFormat::Text => {
            let text = entry.text.replace("\r\n", "\n").replace('\n', "\n    ");
            format!("[{time}] {}: {text}\n", entry.name)
        }
        ExportFormat::Html => {
            let class = if entry.own { "line own" } else { "line" };
            let style = html_style(&entry.format);
            let style = if style.is_empty() {
                String::new()
            } else {
                format!(" style=\"{}\"", html_escape(&style))
            };
            let text = html_escape(&entry.text).replace('\n', "<br>\n");
            format!(
                "<p class=\"{class}\"><span class=\"time\">[{}]</span> \
                 <span class=\"name\">{}</span>: <span class=\"text\"{style}>{text}</span></p>\n",
                html_escape(&time),
                html_escape(&entry.name),
            )
        }
    }
}

/// Writes the whole log at `log` to `out` in `format` under the heading `title` (already
/// translated), streaming (any size), through a temporary file renamed into place. Returns the
/// number of lines written.
pub fn export(log: &Path, title: &str, format: ExportFormat, out: &Path) -> std::io::Result<usize> {
    let dir = out.parent().unwrap_or_else(|| Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        match format {
            ExportFormat::Text => writeln!(w, "{title}\n")?,
            ExportFormat::Html => write!(
                w,
                "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n\
                 <style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}\
                 .time{{color:#77767b}}.name{{font-weight:bold}}.own .name{{color:#1c71d8}}\
                 p{{margin:.3em 0}}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
                t = html_escape(title)
            )?,
        }
        let mut count = 0usize;
        let mut error = None;
        for_each_line(log, |_, entry| {
            if let Some(entry) = entry {
                if let Err(e) = w.write_all(export_line(format, &entry).as_bytes()) {
                    error = Some(e);
                    return false;
                }
                count += 1;
            }
            true
        })?;
        if let Some(e) = error {
            return Err(e);
        }
        if format == ExportFormat::Html {
            w.write_all(b"</body>\n</html>\n")?;
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(count)
    })();
    match result {
        Ok(count) => {
            if let Err(e) = std::fs::rename(&tmp, out) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            Ok(count)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// What the writer thread does, in order.
enum Job {
    Append(PathBuf, Entry),
    ReadLast(PathBuf, usize, async_channel::Sender<Vec<Entry>>),
}

/// Appends lines in order on one background thread ("mariposa-history"), so the GTK main thread
/// never waits for the disk and lines of one log never overtake each other. Reads of the last
/// lines go through the same thread, so a read asked for before an append never sees it (a
/// conversation window opened by an incoming line shows that line once, not also as history).
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Append(p, _) => write!(f, "Append({})", p.display()),
            Job::ReadLast(p, n, _) => write!(f, "ReadLast({}, {n})", p.display()),
        }
    }
}

impl Writer {
    /// Starts the writer thread; it ends when every `Writer` clone is dropped.
    pub fn start() -> Self {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("mariposa-history".into())
            .spawn(move || {
                for job in rx {
                    match job {
                        Job::Append(path, entry) => {
                            if let Err(e) = append(&path, &entry) {
                                eprintln!("mariposa: cannot write {}: {e}", path.display());
                            }
                        }
                        Job::ReadLast(path, n, reply) => {
                            let lines = read_last(&path, n).unwrap_or_else(|e| {
                                eprintln!("mariposa: cannot read {}: {e}", path.display());
                                Vec::new()
                            });
                            let _ = reply.send_blocking(lines);
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("mariposa: no history writer: {e}");
        }
        Writer { jobs }
    }

    /// Queues a line for `path`.
    pub fn append(&self, path: PathBuf, entry: Entry) {
        let _ = self.jobs.send(Job::Append(path, entry));
    }

    /// The last `n` lines of `path` as they are after every append queued before this call
    /// (the read is queued now, not when the future is first polled; none if the writer is gone).
    pub fn read_last(
        &self,
        path: PathBuf,
        n: usize,
    ) -> impl std::future::Future<Output = Vec<Entry>> + use<> {
        let (reply, answer) = async_channel::bounded(1);
        let queued = self.jobs.send(Job::ReadLast(path, n, reply)).is_ok();
        async move {
            if !queued {
                return Vec::new();
            }
            answer.recv().await.unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mariposa-history-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn entry(i: i64, text: &str) -> Entry {
        Entry {
            time: 1_700_000_000 + i,
            own: i % 2 == 0,
            name: "Bob".into(),
            text: text.into(),
            format: String::new(),
        }
    }

    #[test]
    fn append_and_read_back_the_last_lines() {
        let dir = temp("last");
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
                format: String::new(),
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

    #[test]
    fn pages_backwards_through_a_big_log() {
        let dir = temp("pages");
        let path = log_path(&dir, "me@x.com", "bob@x.com");
        // Long lines so pages cross chunk boundaries.
        let pad = "x".repeat(300);
        let mut f = std::io::BufWriter::new({
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::File::create(&path).unwrap()
        });
        for i in 0..1000 {
            let mut line = serde_json::to_vec(&entry(i, &format!("{i} {pad}"))).unwrap();
            line.push(b'\n');
            f.write_all(&line).unwrap();
        }
        drop(f);
        let mut end = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = read_before(&path, end, 128, None).unwrap();
            pages += 1;
            assert!(
                page.lines.len() == 128 || page.start == 0,
                "{}",
                page.lines.len()
            );
            assert_eq!(page.skipped, 0);
            assert_eq!(page.lines.first().map(|l| l.offset), Some(page.start));
            for l in page.lines.iter().rev() {
                seen.push(l.entry.time - 1_700_000_000);
            }
            if page.start == 0 {
                break;
            }
            end = Some(page.start);
        }
        assert_eq!(pages, 8);
        assert_eq!(seen, (0..1000).rev().collect::<Vec<_>>());
        // Down to a given line: the page reaches back far enough to include it.
        let target = read_before(&path, None, 1000, None).unwrap().lines[17].offset;
        let page = read_before(&path, None, 10, Some(target)).unwrap();
        assert_eq!(page.lines[0].offset, target);
        assert_eq!(page.lines.len(), 1000 - 17);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_truncated_last_line_is_skipped_and_the_next_append_is_kept() {
        let dir = temp("truncated");
        let path = log_path(&dir, "me@x.com", "bob@x.com");
        for i in 0..3 {
            append(&path, &entry(i, &format!("line {i}"))).unwrap();
        }
        // A crash in the middle of a write: half a line, no newline.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\":17000,\"own\":fal")
            .unwrap();
        let page = read_before(&path, None, 10, None).unwrap();
        assert_eq!(page.lines.len(), 3);
        assert_eq!(page.skipped, 1);
        assert_eq!(page.lines[2].entry.text, "line 2");
        append(&path, &entry(3, "after the crash")).unwrap();
        let texts: Vec<String> = read_last(&path, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.text)
            .collect();
        assert_eq!(texts, ["line 0", "line 1", "line 2", "after the crash"]);
        let mut forward = Vec::new();
        for_each_line(&path, |_, e| {
            forward.push(e.map(|e| e.text));
            true
        })
        .unwrap();
        assert_eq!(forward.len(), 5);
        assert_eq!(forward[3], None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_huge_line_is_bounded_and_skipped() {
        let dir = temp("huge");
        let path = log_path(&dir, "me@x.com", "bob@x.com");
        append(&path, &entry(0, "before")).unwrap();
        append(&path, &entry(1, &"y".repeat(3 * MAX_LINE))).unwrap();
        append(&path, &entry(2, "after")).unwrap();
        let page = read_before(&path, None, 10, None).unwrap();
        let texts: Vec<&str> = page.lines.iter().map(|l| l.entry.text.as_str()).collect();
        assert_eq!(texts, ["before", "after"]);
        assert_eq!(page.skipped, 1);
        let mut forward = Vec::new();
        for_each_line(&path, |_, e| {
            forward.push(e.map(|e| e.text));
            true
        })
        .unwrap();
        assert_eq!(
            forward,
            [Some("before".to_string()), None, Some("after".to_string())]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn search_finds_lines_in_every_log_newest_first() {
        let dir = temp("search");
        let bob = log_path(&dir, "me@x.com", "bob@x.com");
        let carol = log_path(&dir, "me@x.com", "carol@x.com");
        append(&bob, &entry(1, "Let us meet at the Lighthouse")).unwrap();
        append(&bob, &entry(2, "nothing here")).unwrap();
        append(&carol, &entry(3, "the LIGHTHOUSE is closed")).unwrap();
        append(&carol, &entry(4, "ok")).unwrap();
        // Another account's logs are not searched.
        append(
            &log_path(&dir, "other@x.com", "bob@x.com"),
            &entry(5, "lighthouse"),
        )
        .unwrap();
        let logs = list_logs(&dir, "me@x.com").unwrap();
        let mut contacts: Vec<&str> = logs.iter().map(|l| l.contact.as_str()).collect();
        contacts.sort();
        assert_eq!(contacts, ["bob@x.com", "carol@x.com"]);
        let found = search(&dir, "me@x.com", "  lighthouse ", 100).unwrap();
        assert_eq!(found.total, 2);
        let hits: Vec<(&str, &str)> = found
            .hits
            .iter()
            .map(|h| (h.contact.as_str(), h.entry.text.as_str()))
            .collect();
        assert_eq!(
            hits,
            [
                ("carol@x.com", "the LIGHTHOUSE is closed"),
                ("bob@x.com", "Let us meet at the Lighthouse")
            ]
        );
        // The offset names the line in its log.
        let page = read_before(&found.hits[1].path, None, 1, Some(found.hits[1].offset)).unwrap();
        assert_eq!(page.lines[0].entry.text, "Let us meet at the Lighthouse");
        assert_eq!(search(&dir, "me@x.com", "  ", 100).unwrap().total, 0);
        let limited = search(&dir, "me@x.com", "o", 1).unwrap();
        assert_eq!(limited.hits.len(), 1);
        assert_eq!(limited.hits[0].entry.text, "ok");
        assert_eq!(limited.total, 4);
        assert!(list_logs(&dir, "nobody@x.com").unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn export_as_text_and_escaped_html() {
        let dir = temp("export");
        let path = log_path(&dir, "me@x.com", "bob@x.com");
        append(&path, &entry(0, "<b>bold</b> &amp; two\nlines")).unwrap();
        let mut formatted = entry(1, "styled");
        formatted.name = "Bob <i>\"q\"".into();
        formatted.format = "FN=Times%20New%20Roman; EF=BI; CO=ff; CS=0; PF=22".to_string();
        append(&path, &formatted).unwrap();
        let mut evil = entry(2, "evil font");
        evil.format = "FN=x'%3B%20background:url(x); EF=; CO=0; CS=0; PF=0".into();
        append(&path, &evil).unwrap();

        let txt = dir.join("out.txt");
        assert_eq!(
            export(&path, "Conversation with Bob", ExportFormat::Text, &txt).unwrap(),
            3
        );
        let text = std::fs::read_to_string(&txt).unwrap();
        assert!(text.starts_with("Conversation with Bob\n\n"), "{text}");
        assert!(
            text.contains("] Bob: <b>bold</b> &amp; two\n    lines\n"),
            "{text}"
        );
        assert!(text.contains("] Bob <i>\"q\": styled\n"), "{text}");

        let html_path = dir.join("out.html");
        export(&path, "Bob & <Co>", ExportFormat::Html, &html_path).unwrap();
        let html = std::fs::read_to_string(&html_path).unwrap();
        assert!(
            html.contains("<title>Bob &amp; &lt;Co&gt;</title>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;b&gt;bold&lt;/b&gt; &amp;amp; two<br>\nlines"),
            "{html}"
        );
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("Bob &lt;i&gt;&quot;q&quot;"), "{html}");
        assert!(
            html.contains("font-family:&#39;Times New Roman&#39;;font-weight:bold;font-style:italic;color:#ff0000;"),
            "{html}"
        );
        assert!(!html.contains("background"), "{html}");
        assert!(html.trim_end().ends_with("</html>"));
        // No temporary files are left beside the exports.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_through_the_writer_come_in_order_with_appends() {
        let dir = temp("writer");
        let path = log_path(&dir, "me@x.com", "bob@x.com");
        let writer = Writer::start();
        writer.append(path.clone(), entry(0, "one"));
        let before = writer.read_last(path.clone(), 20);
        writer.append(path.clone(), entry(1, "two"));
        let after = writer.read_last(path.clone(), 20);
        let (before, after) =
            gtk::glib::MainContext::new().block_on(async { (before.await, after.await) });
        assert_eq!(before.len(), 1);
        assert_eq!(after.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn old_lines_without_format_still_read() {
        let e: Entry =
            serde_json::from_str(r#"{"time":1,"own":false,"name":"B","text":"t"}"#).unwrap();
        assert_eq!(e.format, "");
        assert!(!serde_json::to_string(&e).unwrap().contains("format"));
    }
}
