//! Every NS/SB example of the protocol reference (`shared/protocol/*.md` and `recorded/*.txt`),
//! framed by `Decoder`, parsed by `ClientCommand`/`ServerCommand` and re-serialised byte-exact.
//!
//! # Where the examples come from
//!
//! * `*.md`: lines inside fenced code blocks written in the notation of README.md ("Notation used
//!   in every example"): `C: text` / `S: text` is `text` + CR LF; the `C| piece` / `S| piece` lines
//!   right after it are its payload (drop the prefix and one space, read the four characters `\r\n`
//!   as CR LF, concatenate). A `--` comment, a blank line or any other line ends a payload.
//! * `recorded/*.txt`: `[time] conn C>S text` lines (CR and LF written `\r` and `\n`), payload
//!   pieces on the following lines indented with `| `. Lines of one connection and direction form
//!   one byte stream (a `## conn connected` comment starts a new connection).
//!
//! # What is skipped, and how it is recognised
//!
//! * **HTTP** (msnp8.md and the `*/HTTP`, `*/HTTPS` connections of the recordings): in a `.md`
//!   block an HTTP message starts with a `C:`/`S:` line whose text begins with `GET `, `POST ` or
//!   `HTTP/`; its header lines run to the bare `C:`/`S:` (the empty line), its body is the `|`
//!   pieces that follow. The next `C:`/`S:` line after the header end is protocol again (or the
//!   next HTTP message). In the recordings, a connection whose name ends in `/HTTP` or `/HTTPS`.
//! * **MSNFTP** (msnftp.md): a whole code block is skipped when its first `--` comment mentions a
//!   "direct connection", when it contains a `C#`/`S#` hex line, or when one of its lines is
//!   `VER MSNFTP` (the direct connection always starts with it). MSNFTP lines (`VER MSNFTP`,
//!   `USR account cookie`, `FIL`, `TFR`, `BYE code`, `CCL`) therefore never reach the NS/SB
//!   parsers. The switchboard `MSG` invitations of msnftp.md are NS/SB traffic and are checked.
//!
//! # What is checked for every example
//!
//! 1. the payload's byte count equals the last token of its command line;
//! 2. a fresh `Decoder` for the example's direction (`C` → `FromClient`, `S` → `FromServer`)
//!    yields exactly one frame with that line and payload, and nothing is left over;
//! 3. `ClientCommand::parse` / `ServerCommand::parse` accepts the frame and `to_bytes()` gives the
//!    identical bytes back (unknown commands must come back as `Unknown`);
//! 4. per connection and direction, the concatenated stream fed in small pieces to one decoder
//!    yields the same frames in order;
//! 5. client `MSG` payloads over 1664 bytes are refused by `Limits::SB_SERVER`, others accepted.
//!
//! Lines that fail step 3 only because they are MSNP8 (or later) forms that `command.rs` does not
//! model yet are listed in [`ALLOWED`] with the reason, and printed; anything else fails the test.
//! Run with `--nocapture` to see the summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use msnp::proto::codec::{
    is_payload_command, CodecError, Decoder, Direction, Frame, Limits, MAX_INCOMING_PAYLOAD,
    MAX_LINE_BYTES, MAX_SB_MSG_PAYLOAD,
};
use msnp::proto::command::{ClientCommand, ServerCommand};

/// Decoder limits for the reference: everything the reference shows must frame, including the
/// deliberately oversize switchboard `MSG` of recorded/probes.txt (checked separately).
const REFERENCE_LIMITS: Limits = Limits {
    max_line: MAX_LINE_BYTES,
    max_payload: MAX_INCOMING_PAYLOAD,
};

/// One command of the reference: its line, its payload, and where it was found.
#[derive(Debug, Clone)]
struct Example {
    /// `file:line` of the command line.
    source: String,
    direction: Direction,
    /// Which byte stream (connection and direction) the example belongs to.
    stream: String,
    /// The command line without its line end.
    line: String,
    /// Payload pieces, concatenated (`None` when no piece followed the line).
    payload: Option<Vec<u8>>,
}

impl Example {
    fn dir_char(&self) -> char {
        match self.direction {
            Direction::FromClient => 'C',
            Direction::FromServer => 'S',
        }
    }

    /// The payload the decoder must produce: the pieces, or empty for a payload command
    /// without pieces, or none.
    fn expected_payload(&self) -> Option<Vec<u8>> {
        let code = self.line.split(' ').next().unwrap_or("");
        match (&self.payload, is_payload_command(self.direction, code)) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some(Vec::new()),
            (None, false) => None,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.line.as_bytes().to_vec();
        out.extend_from_slice(b"\r\n");
        if let Some(p) = self.expected_payload() {
            out.extend_from_slice(&p);
        }
        out
    }

    fn frame(&self) -> Frame {
        Frame {
            line: self.line.clone(),
            payload: self.expected_payload(),
        }
    }
}

/// Counts of what the extractor read and skipped.
#[derive(Debug, Default)]
struct Skipped {
    http_lines: usize,
    msnftp_blocks: usize,
    msnftp_lines: usize,
}

/// One rule of the allow-list: lines matching `matches` may fail to parse or round-trip.
struct Allowed {
    /// Short name of the form.
    form: &'static str,
    /// Why `command.rs` does not (yet) reproduce it.
    reason: &'static str,
    direction: char,
    matches: fn(&[&str]) -> bool,
}

/// Forms that `command.rs` does not model, each reported in the test output with its reason.
/// Empty since the MSNP8 forms (`SYN` with counts, `GTC`/`BLP`/`LSG`/`LST` inside `SYN`, the
/// four-parameter `USR … OK`) are modelled; kept so a later dialect can be allowed explicitly.
const ALLOWED: &[Allowed] = &[];

fn protocol_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MSNP_PROTOCOL_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/protocol")
}

/// Why `dir` cannot be the protocol reference, if it cannot.
fn check_protocol_dir(dir: &Path) -> Result<(), String> {
    if dir.join("README.md").is_file() && dir.join("recorded").is_dir() {
        Ok(())
    } else {
        Err(format!(
            "protocol reference not found at {} (expected shared/protocol beside the repository \
             with README.md and recorded/; set MSNP_PROTOCOL_DIR to its path)",
            dir.display()
        ))
    }
}

fn checked_protocol_dir() -> PathBuf {
    let dir = protocol_dir();
    if let Err(e) = check_protocol_dir(&dir) {
        panic!("{e}");
    }
    dir
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads the four characters `\r\n` as CR LF (README.md notation; nothing else is an escape).
fn md_unescape(piece: &str) -> Vec<u8> {
    piece.replace("\\r\\n", "\r\n").into_bytes()
}

/// Reads `\r` and `\n` as CR and LF (recorded/README.md).
fn recorded_unescape(piece: &str) -> Vec<u8> {
    piece.replace("\\r", "\r").replace("\\n", "\n").into_bytes()
}

/// A `C:`/`S:` (`sep` = ':') or `C|`/`S|` (`sep` = '|') line: its direction and text.
fn notation(line: &str, sep: char) -> Option<(Direction, &str)> {
    let mut chars = line.chars();
    let direction = match chars.next()? {
        'C' => Direction::FromClient,
        'S' => Direction::FromServer,
        _ => return None,
    };
    if chars.next()? != sep {
        return None;
    }
    let rest = &line[2..];
    if rest.is_empty() {
        return Some((direction, ""));
    }
    rest.strip_prefix(' ').map(|text| (direction, text))
}

fn is_http_start(text: &str) -> bool {
    text.starts_with("GET ") || text.starts_with("POST ") || text.starts_with("HTTP/")
}

/// Whether a code block is an MSNFTP direct connection (see the module documentation).
fn is_msnftp_block(lines: &[&str]) -> bool {
    let first_comment = lines.iter().find(|l| l.starts_with("--"));
    first_comment.is_some_and(|c| c.contains("direct connection"))
        || lines
            .iter()
            .any(|l| l.starts_with("C#") || l.starts_with("S#"))
        || lines
            .iter()
            .any(|l| notation(l, ':').is_some_and(|(_, t)| t == "VER MSNFTP"))
}

/// Extracts the examples of one `.md` file.
fn extract_md(name: &str, text: &str, out: &mut Vec<Example>, skipped: &mut Skipped) {
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut block_no = 0;
    while i < lines.len() {
        if !lines[i].starts_with("```") {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].starts_with("```") {
            end += 1;
        }
        block_no += 1;
        let block = &lines[start..end];
        i = end + 1;
        if is_msnftp_block(block) {
            skipped.msnftp_blocks += 1;
            skipped.msnftp_lines += block
                .iter()
                .filter(|l| {
                    notation(l, ':').is_some() || l.starts_with("C#") || l.starts_with("S#")
                })
                .count();
            continue;
        }
        extract_md_block(name, block_no, start, block, out, skipped);
    }
}

#[derive(PartialEq)]
enum Http {
    Off,
    Headers,
    Body,
}

fn extract_md_block(
    name: &str,
    block_no: usize,
    first_line: usize,
    block: &[&str],
    out: &mut Vec<Example>,
    skipped: &mut Skipped,
) {
    let mut http = Http::Off;
    // Whether the last example may still receive payload pieces.
    let mut open = false;
    for (k, raw) in block.iter().enumerate() {
        let source = format!("{name}:{}", first_line + k + 1);
        if let Some((direction, text)) = notation(raw, ':') {
            open = false;
            match http {
                Http::Headers => {
                    skipped.http_lines += 1;
                    if text.is_empty() {
                        http = Http::Body;
                    }
                    continue;
                }
                Http::Body | Http::Off => http = Http::Off,
            }
            if is_http_start(text) {
                skipped.http_lines += 1;
                http = Http::Headers;
                continue;
            }
            assert!(
                !text.is_empty(),
                "{source}: a bare C:/S: line outside an HTTP exchange"
            );
            let stream = format!("{name}#{block_no}/{}", dir_char(direction));
            out.push(Example {
                source,
                direction,
                stream,
                line: text.to_string(),
                payload: None,
            });
            open = true;
        } else if let Some((direction, piece)) = notation(raw, '|') {
            if http != Http::Off {
                skipped.http_lines += 1;
                continue;
            }
            let last = out
                .last_mut()
                .filter(|_| open)
                .unwrap_or_else(|| panic!("{source}: payload piece without a command line"));
            assert_eq!(
                last.direction, direction,
                "{source}: payload piece of the other direction"
            );
            last.payload
                .get_or_insert_with(Vec::new)
                .extend(md_unescape(piece));
        } else {
            // Comments, blank lines and prose end a payload.
            open = false;
        }
    }
}

fn dir_char(direction: Direction) -> char {
    match direction {
        Direction::FromClient => 'C',
        Direction::FromServer => 'S',
    }
}

/// Extracts the examples of one recorded session.
fn extract_recorded(name: &str, text: &str, out: &mut Vec<Example>, skipped: &mut Skipped) {
    let mut generation: BTreeMap<String, usize> = BTreeMap::new();
    let mut open = false;
    for (k, raw) in text.lines().enumerate() {
        let source = format!("recorded/{name}:{}", k + 1);
        let trimmed = raw.trim_start();
        if let Some(piece) = trimmed.strip_prefix('|') {
            if !open {
                // The body of a skipped HTTP message.
                skipped.http_lines += 1;
                continue;
            }
            let piece = piece.strip_prefix(' ').unwrap_or(piece);
            let last = out.last_mut().expect("open implies an example");
            last.payload
                .get_or_insert_with(Vec::new)
                .extend(recorded_unescape(piece));
            continue;
        }
        open = false;
        let Some(rest) = raw.strip_prefix('[') else {
            continue;
        };
        let Some((_, rest)) = rest.split_once(']') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix("## ") {
            if let Some((conn, _)) = comment.split_once(" connected to ") {
                *generation.entry(conn.to_string()).or_default() += 1;
            }
            continue;
        }
        let Some((conn, rest)) = rest.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let (direction, text) = if let Some(t) = rest.strip_prefix("C>S  ") {
            (Direction::FromClient, t)
        } else if let Some(t) = rest.strip_prefix("S>C  ") {
            (Direction::FromServer, t)
        } else {
            panic!("{source}: unreadable recorded line {raw:?}");
        };
        if conn.ends_with("/HTTP") || conn.ends_with("/HTTPS") {
            skipped.http_lines += 1;
            continue;
        }
        let bytes = recorded_unescape(text);
        let line = bytes
            .strip_suffix(b"\r\n")
            .unwrap_or_else(|| panic!("{source}: command line without CR LF"));
        let line = String::from_utf8(line.to_vec())
            .unwrap_or_else(|_| panic!("{source}: command line is not UTF-8"));
        let gen = generation.get(conn).copied().unwrap_or(0);
        out.push(Example {
            source,
            direction,
            stream: format!("recorded/{name}/{conn}#{gen}/{}", dir_char(direction)),
            line,
            payload: None,
        });
        open = true;
    }
}

/// Reads every example of the reference.
fn load() -> (Vec<Example>, Skipped, usize) {
    let dir = checked_protocol_dir();
    let mut examples = Vec::new();
    let mut skipped = Skipped::default();
    let mut files = 0;
    for path in sorted_files(&dir, "md") {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        extract_md(&file_name(&path), &text, &mut examples, &mut skipped);
        files += 1;
    }
    let recorded = dir.join("recorded");
    for path in sorted_files(&recorded, "txt") {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        extract_recorded(&file_name(&path), &text, &mut examples, &mut skipped);
        files += 1;
    }
    (examples, skipped, files)
}

/// The result of the parse + re-serialise step for one example.
enum Outcome {
    /// Parsed as a typed command, identical bytes back.
    Typed,
    /// Parsed as `Unknown`, identical bytes back.
    Unknown,
    /// Rejected or not reproduced.
    Failed(String),
}

fn round_trip(ex: &Example, frame: &Frame) -> Outcome {
    let bytes = ex.bytes();
    let (unknown, result) = match ex.direction {
        Direction::FromClient => match ClientCommand::parse(frame) {
            Ok(cmd) => (
                matches!(cmd, ClientCommand::Unknown(_)),
                Ok((cmd.to_bytes(), format!("{cmd:?}"))),
            ),
            Err(e) => (false, Err(e.to_string())),
        },
        Direction::FromServer => match ServerCommand::parse(frame) {
            Ok(cmd) => (
                matches!(cmd, ServerCommand::Unknown(_)),
                Ok((cmd.to_bytes(), format!("{cmd:?}"))),
            ),
            Err(e) => (false, Err(e.to_string())),
        },
    };
    match result {
        Err(e) => Outcome::Failed(format!("parse error: {e}")),
        Ok((out, _)) if out == bytes => {
            if unknown {
                Outcome::Unknown
            } else {
                Outcome::Typed
            }
        }
        Ok((out, debug)) => Outcome::Failed(format!(
            "re-serialised as {:?} ({debug})",
            String::from_utf8_lossy(out.split(|&b| b == b'\n').next().unwrap_or(&[])).trim_end()
        )),
    }
}

/// Steps 1 and 2: length check and framing of one example on its own.
fn frame_alone(ex: &Example) -> Result<Frame, String> {
    let expected = ex.frame();
    if let Some(p) = &expected.payload {
        let last = ex.line.rsplit(' ').next().unwrap_or("");
        if last.parse::<usize>().ok() != Some(p.len()) {
            return Err(format!(
                "payload is {} bytes but the line announces {last:?}",
                p.len()
            ));
        }
    }
    let mut d = Decoder::new(ex.direction, REFERENCE_LIMITS);
    d.feed(&ex.bytes());
    let frame = match d.next_frame() {
        Ok(Some(f)) => f,
        Ok(None) => return Err("decoder wants more bytes".into()),
        Err(e) => return Err(format!("decoder error: {e}")),
    };
    if frame != expected {
        return Err(format!("decoded as {frame:?}"));
    }
    match d.next_frame() {
        Ok(None) => {}
        other => return Err(format!("bytes left after the frame: {other:?}")),
    }
    if d.pending() != 0 || d.finish().is_err() {
        return Err(format!("{} bytes left undecoded", d.pending()));
    }
    Ok(frame)
}

/// Step 5: the switchboard server limit applies to client `MSG`.
fn check_sb_limit(ex: &Example) -> Result<(), String> {
    if ex.direction != Direction::FromClient || !ex.line.starts_with("MSG ") {
        return Ok(());
    }
    let len = ex.expected_payload().map_or(0, |p| p.len());
    let mut d = Decoder::new(Direction::FromClient, Limits::SB_SERVER);
    d.feed(&ex.bytes());
    match (d.next_frame(), len > MAX_SB_MSG_PAYLOAD) {
        (Err(CodecError::PayloadTooLarge { .. }), true) | (Ok(Some(_)), false) => Ok(()),
        (r, _) => Err(format!("Limits::SB_SERVER gave {r:?} for {len} bytes")),
    }
}

/// Step 4: every stream decoded as one, fed in 7-byte pieces.
fn check_streams(examples: &[Example]) -> Vec<String> {
    let mut streams: BTreeMap<&str, Vec<&Example>> = BTreeMap::new();
    for ex in examples {
        streams.entry(&ex.stream).or_default().push(ex);
    }
    let mut failures = Vec::new();
    for (name, exs) in streams {
        let direction = exs[0].direction;
        let bytes: Vec<u8> = exs.iter().flat_map(|e| e.bytes()).collect();
        let mut d = Decoder::new(direction, REFERENCE_LIMITS);
        let mut frames = Vec::new();
        let mut error = None;
        for chunk in bytes.chunks(7) {
            d.feed(chunk);
            loop {
                match d.next_frame() {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            if error.is_some() {
                break;
            }
        }
        let expected: Vec<Frame> = exs.iter().map(|e| e.frame()).collect();
        if let Some(e) = error {
            failures.push(format!("stream {name}: decoder error {e}"));
        } else if frames != expected {
            let at = frames
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(frames.len().min(expected.len()));
            failures.push(format!(
                "stream {name}: frame {at} differs ({} decoded, {} expected; near {})",
                frames.len(),
                expected.len(),
                exs.get(at).map_or("the end", |e| e.source.as_str())
            ));
        } else if let Err(e) = d.finish() {
            failures.push(format!("stream {name}: {e}"));
        }
    }
    failures
}

fn allowed_rule(ex: &Example) -> Option<&'static Allowed> {
    let toks: Vec<&str> = ex.line.split(' ').collect();
    ALLOWED
        .iter()
        .find(|a| a.direction == ex.dir_char() && (a.matches)(&toks))
}

#[test]
fn every_reference_example_round_trips_byte_exact() {
    let (examples, skipped, files) = load();
    assert!(
        !examples.is_empty(),
        "no examples found in {}: the extractor or the reference changed",
        protocol_dir().display()
    );

    let mut failures: Vec<String> = Vec::new();
    let mut typed = 0;
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut payloads = 0;
    for ex in &examples {
        let frame = match frame_alone(ex) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!(
                    "{} {}: {:?}: {e}",
                    ex.source,
                    ex.dir_char(),
                    ex.line
                ));
                continue;
            }
        };
        if frame.payload.is_some() {
            payloads += 1;
        }
        if let Err(e) = check_sb_limit(ex) {
            failures.push(format!(
                "{} {}: {:?}: {e}",
                ex.source,
                ex.dir_char(),
                ex.line
            ));
        }
        match round_trip(ex, &frame) {
            Outcome::Typed => typed += 1,
            Outcome::Unknown => {
                *unknown
                    .entry(format!("{} {}", ex.dir_char(), frame.code()))
                    .or_default() += 1
            }
            Outcome::Failed(why) => {
                let entry = format!("{} {}: {:?}: {why}", ex.source, ex.dir_char(), ex.line);
                if let Some(rule) = allowed_rule(ex) {
                    allowed.entry(rule.form).or_default().push(entry);
                } else {
                    failures.push(entry);
                }
            }
        }
    }
    failures.extend(check_streams(&examples));
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for ex in &examples {
        let file = ex.source.rsplit_once(':').map_or("", |(f, _)| f);
        *per_file.entry(file).or_default() += 1;
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "reference examples: {} from {files} files ({payloads} with payloads): {typed} typed \
         round-trips, {} unknown-command round-trips, {} allowed (unmodelled forms), {} failures; skipped {} HTTP lines and {} MSNFTP blocks ({} lines)",
        examples.len(),
        unknown.values().sum::<usize>(),
        allowed.values().map(Vec::len).sum::<usize>(),
        failures.len(),
        skipped.http_lines,
        skipped.msnftp_blocks,
        skipped.msnftp_lines,
    );
    for (code, n) in &unknown {
        let _ = writeln!(report, "  unknown command {code}: {n}");
    }
    for (form, lines) in &allowed {
        let reason = ALLOWED
            .iter()
            .find(|a| a.form == *form)
            .map_or("", |a| a.reason);
        let _ = writeln!(
            report,
            "  allowed: {form} ({reason}): {} lines",
            lines.len()
        );
        for l in lines {
            let _ = writeln!(report, "    {l}");
        }
    }
    for rule in ALLOWED.iter().filter(|r| !allowed.contains_key(r.form)) {
        let _ = writeln!(report, "  allow-list rule no longer needed: {}", rule.form);
    }
    for (file, n) in &per_file {
        let _ = writeln!(report, "  {file}: {n} examples");
    }
    for f in &failures {
        let _ = writeln!(report, "  FAILED: {f}");
    }
    println!("{report}");
    assert!(
        failures.is_empty(),
        "{} reference examples failed:\n{report}",
        failures.len()
    );
}

#[test]
fn missing_protocol_dir_is_reported_clearly() {
    let err = check_protocol_dir(Path::new("/nonexistent/shared/protocol")).unwrap_err();
    assert!(err.contains("MSNP_PROTOCOL_DIR"), "{err}");
    assert!(check_protocol_dir(&checked_protocol_dir()).is_ok());
}
