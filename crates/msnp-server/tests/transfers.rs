//! File transfers (MSNFTP) between two `msnp::client` engines through the in-process server on
//! 127.0.0.1, and against a raw fake sender built from the test helpers: block-boundary sizes,
//! 50 MB, several at once, decline, cancel from either side, the answer time-out, the reverse
//! connection, hostile names, name collisions, a lying sender, an unreachable sender, and the
//! demo bot's SHA-256.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::engine::{befriend, server_for, Client};
use msnp::client::{Event, Request, TransferId, TransferOptions};
use msnp::proto::command::ServerCommand;
use msnp::proto::ftp::{Accept, FileInvite};
use msnp::proto::payload::{CancelCode, Invitation, Payload};
use msnp_server::{Config, Server, ServerHandle, DEMO_ACCOUNT, DEMO_BOT, DEMO_PASSWORD};
use sha2::{Digest, Sha256};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
/// Time allowed for a large transfer in a debug build.
const LONG: Duration = Duration::from_secs(120);

/// A folder under the system's temporary folder, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("mariposa-ft-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// The names in the folder, sorted (hidden temporary files included).
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes a file of `size` bytes (byte n = (n * 7 + n / 251) mod 256), in pieces.
fn make_file(dir: &Path, name: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut buf = Vec::with_capacity(1 << 16);
    let mut n = 0u64;
    while n < size {
        buf.clear();
        while n < size && buf.len() < 1 << 16 {
            buf.push(((n * 7 + n / 251) % 256) as u8);
            n += 1;
        }
        f.write_all(&buf).expect("write");
    }
    f.flush().expect("flush");
    path
}

/// A sparse file of `size` bytes (nothing is written).
fn sparse_file(dir: &Path, name: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).expect("create");
    f.set_len(size).expect("set_len");
    path
}

fn sha256_of(path: &Path) -> String {
    let mut f = std::fs::File::open(path).expect("open");
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

fn sha256_bytes(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A server with alice, bob and carol; alice and bob signed in as friends.
fn pair() -> (ServerHandle, Client, Client) {
    let server = server_for(&[ALICE, BOB, CAROL], |_| {});
    let mut alice = Client::signed_in(&server, ALICE);
    let mut bob = Client::signed_in(&server, BOB);
    befriend(&mut alice, &mut bob);
    (server, alice, bob)
}

/// What the receiver saw of an offer.
struct Offered {
    transfer: TransferId,
    name: String,
    size: u64,
    cookie: u32,
}

fn offered(e: &Event) -> Option<Offered> {
    match e {
        Event::FileOffered {
            transfer,
            name,
            size,
            cookie,
            ..
        } => Some(Offered {
            transfer: *transfer,
            name: name.clone(),
            size: *size,
            cookie: *cookie,
        }),
        _ => None,
    }
}

fn wait_offer(c: &mut Client) -> Offered {
    let e = c.wait(|e| matches!(e, Event::FileOffered { .. }));
    offered(&e).expect("an offer")
}

/// Waits for the end of `transfer` (any kind) and returns that event.
fn wait_end(c: &mut Client, transfer: TransferId, limit: Duration) -> Event {
    c.wait_within(limit, move |e| match e {
        Event::TransferCompleted { transfer: t, .. }
        | Event::TransferFailed { transfer: t, .. }
        | Event::TransferCancelled { transfer: t, .. }
        | Event::TransferDeclined { transfer: t } => *t == transfer,
        _ => false,
    })
}

fn completed_path(e: Event) -> PathBuf {
    match e {
        Event::TransferCompleted {
            path, confirmed, ..
        } => {
            assert!(confirmed, "confirmed by BYE");
            path
        }
        other => panic!("expected completion, got {other:?}"),
    }
}

/// Sends `path` from `from` to `to`, accepts into `dir`, and returns where it was saved.
fn send_and_receive(
    from: &mut Client,
    to: &mut Client,
    transfer: TransferId,
    path: &Path,
    dir: &Path,
    limit: Duration,
) -> PathBuf {
    from.send(Request::SendFile {
        transfer,
        to: to.account.clone(),
        path: path.to_path_buf(),
    });
    let offer = wait_offer(to);
    let size = std::fs::metadata(path).expect("metadata").len();
    assert_eq!(offer.size, size);
    to.send(Request::AcceptFile {
        transfer: offer.transfer,
        dir: dir.to_path_buf(),
    });
    let sent = completed_path(wait_end(from, transfer, limit));
    assert_eq!(sent, path);
    completed_path(wait_end(to, offer.transfer, limit))
}

#[test]
fn files_of_block_boundary_sizes_arrive_intact() {
    let (_server, mut alice, mut bob) = pair();
    let src = TempDir::new("src");
    let dst = TempDir::new("dst");
    for (i, size) in [0u64, 1, 2044, 2045, 2046, 4090].into_iter().enumerate() {
        let name = format!("file-{size}.bin");
        let path = make_file(src.path(), &name, size);
        let saved = send_and_receive(&mut alice, &mut bob, 10 + i as u64, &path, dst.path(), LONG);
        assert_eq!(saved, dst.path().join(&name));
        assert_eq!(std::fs::metadata(&saved).expect("saved").len(), size);
        assert_eq!(sha256_of(&saved), sha256_of(&path), "size {size}");
    }
    // No temporary file is left behind.
    assert!(
        dst.names().iter().all(|n| !n.starts_with('.')),
        "{:?}",
        dst.names()
    );
    alice.stop();
    bob.stop();
}

#[test]
fn a_50_mb_file_with_rate_limited_progress() {
    let (_server, mut alice, mut bob) = pair();
    let src = TempDir::new("src50");
    let dst = TempDir::new("dst50");
    let size = 50 * 1024 * 1024;
    let path = make_file(src.path(), "big.bin", size);
    let start = Instant::now();
    let saved = send_and_receive(&mut alice, &mut bob, 1, &path, dst.path(), LONG);
    let elapsed = start.elapsed();
    assert_eq!(sha256_of(&saved), sha256_of(&path));
    // Progress: at most about ten per second, the last one complete.
    let progress: Vec<(u64, u64)> = bob
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::TransferProgress { bytes, total, .. } => Some((*bytes, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress.last(), Some(&(size, size)));
    let allowed = (elapsed.as_secs_f64() * 10.0).ceil() as usize + 2;
    assert!(
        progress.len() <= allowed,
        "{} progress events in {elapsed:?}",
        progress.len()
    );
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
    alice.stop();
    bob.stop();
}

#[test]
fn several_transfers_at_once_in_both_directions() {
    let (_server, mut alice, mut bob) = pair();
    let a_dir = TempDir::new("a");
    let b_dir = TempDir::new("b");
    let to_bob: Vec<PathBuf> = (0..3)
        .map(|i| make_file(a_dir.path(), &format!("to-bob-{i}.bin"), 300_000 + i * 4093))
        .collect();
    let to_alice = make_file(b_dir.path(), "to-alice.bin", 777_777);
    let in_a = TempDir::new("in-a");
    let in_b = TempDir::new("in-b");
    for (i, p) in to_bob.iter().enumerate() {
        alice.send(Request::SendFile {
            transfer: 100 + i as u64,
            to: BOB.into(),
            path: p.clone(),
        });
    }
    bob.send(Request::SendFile {
        transfer: 200,
        to: ALICE.into(),
        path: to_alice.clone(),
    });
    // Accept everything before any transfer has finished.
    let mut incoming = Vec::new();
    for _ in 0..3 {
        let o = wait_offer(&mut bob);
        bob.send(Request::AcceptFile {
            transfer: o.transfer,
            dir: in_b.path().to_path_buf(),
        });
        incoming.push(o);
    }
    let o = wait_offer(&mut alice);
    alice.send(Request::AcceptFile {
        transfer: o.transfer,
        dir: in_a.path().to_path_buf(),
    });
    for o in &incoming {
        let saved = completed_path(wait_end(&mut bob, o.transfer, LONG));
        assert_eq!(sha256_of(&saved), sha256_of(&a_dir.path().join(&o.name)));
    }
    let saved = completed_path(wait_end(&mut alice, o.transfer, LONG));
    assert_eq!(sha256_of(&saved), sha256_of(&to_alice));
    for t in [100, 101, 102] {
        completed_path(wait_end(&mut alice, t, LONG));
    }
    completed_path(wait_end(&mut bob, 200, LONG));
    alice.stop();
    bob.stop();
}

#[test]
fn declined_offer_reaches_the_sender() {
    let (_server, mut alice, mut bob) = pair();
    let src = TempDir::new("decl");
    let path = make_file(src.path(), "nope.txt", 10);
    alice.send(Request::SendFile {
        transfer: 5,
        to: BOB.into(),
        path,
    });
    let offer = wait_offer(&mut bob);
    assert_eq!((offer.name.as_str(), offer.size), ("nope.txt", 10));
    bob.send(Request::DeclineFile {
        transfer: offer.transfer,
    });
    assert_eq!(
        wait_end(&mut bob, offer.transfer, LONG),
        Event::TransferCancelled {
            transfer: offer.transfer,
            by_peer: false
        }
    );
    assert_eq!(
        wait_end(&mut alice, 5, LONG),
        Event::TransferDeclined { transfer: 5 }
    );
    alice.stop();
    bob.stop();
}

/// Starts a 1 GiB transfer from a sparse file and waits until data flows at the receiver.
fn start_big_transfer(alice: &mut Client, bob: &mut Client, src: &Path, dst: &Path) -> TransferId {
    let path = sparse_file(src, "huge.iso", 1 << 30);
    alice.send(Request::SendFile {
        transfer: 7,
        to: BOB.into(),
        path,
    });
    let offer = wait_offer(bob);
    bob.send(Request::AcceptFile {
        transfer: offer.transfer,
        dir: dst.to_path_buf(),
    });
    let incoming = offer.transfer;
    bob.wait(move |e| {
        matches!(e, Event::TransferProgress { transfer, bytes, total } if *transfer == incoming && *bytes > 0 && bytes < total)
    });
    incoming
}

#[test]
fn sender_cancels_mid_transfer() {
    let (_server, mut alice, mut bob) = pair();
    let src = TempDir::new("scancel-src");
    let dst = TempDir::new("scancel-dst");
    let incoming = start_big_transfer(&mut alice, &mut bob, src.path(), dst.path());
    alice.send(Request::CancelTransfer { transfer: 7 });
    assert_eq!(
        wait_end(&mut alice, 7, LONG),
        Event::TransferCancelled {
            transfer: 7,
            by_peer: false
        }
    );
    assert_eq!(
        wait_end(&mut bob, incoming, LONG),
        Event::TransferCancelled {
            transfer: incoming,
            by_peer: true
        }
    );
    assert_eq!(dst.names(), Vec::<String>::new(), "nothing left behind");
    alice.stop();
    bob.stop();
}

#[test]
fn receiver_cancels_mid_transfer() {
    let (_server, mut alice, mut bob) = pair();
    let src = TempDir::new("rcancel-src");
    let dst = TempDir::new("rcancel-dst");
    let incoming = start_big_transfer(&mut alice, &mut bob, src.path(), dst.path());
    bob.send(Request::CancelTransfer { transfer: incoming });
    assert_eq!(
        wait_end(&mut bob, incoming, LONG),
        Event::TransferCancelled {
            transfer: incoming,
            by_peer: false
        }
    );
    assert_eq!(
        wait_end(&mut alice, 7, LONG),
        Event::TransferCancelled {
            transfer: 7,
            by_peer: true
        }
    );
    assert_eq!(dst.names(), Vec::<String>::new(), "nothing left behind");
    alice.stop();
    bob.stop();
}

#[test]
fn unanswered_offer_is_withdrawn_after_the_time_limit() {
    let (_server, mut alice, mut bob) = pair();
    alice.send(Request::SetTransferOptions(TransferOptions {
        answer_timeout: Duration::from_millis(500),
        ..TransferOptions::default()
    }));
    let src = TempDir::new("timeout");
    let path = make_file(src.path(), "late.txt", 3);
    alice.send(Request::SendFile {
        transfer: 9,
        to: BOB.into(),
        path,
    });
    let offer = wait_offer(&mut bob);
    match wait_end(&mut alice, 9, LONG) {
        Event::TransferFailed { reason, .. } => assert_eq!(reason, format!("No answer from {BOB}")),
        other => panic!("{other:?}"),
    }
    // Bob's offer disappears (CANCEL TIMEOUT: the sender withdrew it).
    assert_eq!(
        wait_end(&mut bob, offer.transfer, LONG),
        Event::TransferCancelled {
            transfer: offer.transfer,
            by_peer: true
        }
    );
    alice.stop();
    bob.stop();
}

#[test]
fn reverse_connection_when_the_sender_cannot_listen() {
    let (_server, mut alice, mut bob) = pair();
    alice.send(Request::SetTransferOptions(TransferOptions {
        cannot_listen: true,
        ..TransferOptions::default()
    }));
    let src = TempDir::new("rev-src");
    let dst = TempDir::new("rev-dst");
    let path = make_file(src.path(), "reverse.bin", 123_456);
    let saved = send_and_receive(&mut alice, &mut bob, 3, &path, dst.path(), LONG);
    assert_eq!(sha256_of(&saved), sha256_of(&path));
    alice.stop();
    bob.stop();
}

#[test]
fn an_existing_name_gets_a_number_and_is_never_overwritten() {
    let (_server, mut alice, mut bob) = pair();
    let src = TempDir::new("coll-src");
    let dst = TempDir::new("coll-dst");
    std::fs::write(dst.path().join("report.txt"), b"mine").expect("write");
    let path = make_file(src.path(), "report.txt", 5000);
    let first = send_and_receive(&mut alice, &mut bob, 1, &path, dst.path(), LONG);
    assert_eq!(first, dst.path().join("report (1).txt"));
    let second = send_and_receive(&mut alice, &mut bob, 2, &path, dst.path(), LONG);
    assert_eq!(second, dst.path().join("report (2).txt"));
    assert_eq!(
        std::fs::read(dst.path().join("report.txt")).expect("read"),
        b"mine"
    );
    assert_eq!(sha256_of(&second), sha256_of(&path));
    assert_eq!(
        dst.names(),
        ["report (1).txt", "report (2).txt", "report.txt"]
    );
    alice.stop();
    bob.stop();
}

// ---------------------------------------------------------------------------------------------
// A raw fake sender: carol on a raw switchboard with bob, offering with invitation messages she
// writes herself, and serving MSNFTP by hand.

struct FakeSender {
    _ns: common::Client,
    sb: common::Client,
}

impl FakeSender {
    /// Carol signs in raw and opens a switchboard with bob (an engine client).
    fn start(server: &ServerHandle, bob: &mut Client) -> FakeSender {
        let mut ns = common::sign_in(server.ns_addr(), CAROL, "pw");
        common::syn(&mut ns, 0);
        let t = ns.cmd("CHG", "NLN");
        ns.expect(&format!("CHG {t} NLN"));
        let mut sb = common::open_sb(&mut ns);
        let t = sb.cmd("CAL", BOB);
        assert!(sb.next_line().starts_with(&format!("CAL {t} RINGING")));
        sb.until(|l| l.starts_with(&format!("JOI {BOB}")));
        bob.wait(|e| matches!(e, Event::Joined { account, .. } if account == CAROL));
        FakeSender { _ns: ns, sb }
    }

    fn invite(&mut self, cookie: u32, name: &str, size: u64) {
        let inv = Invitation::file_transfer_invite(cookie.to_string(), name, size, false);
        self.sb.msg("N", &inv.build());
    }

    /// The next invitation bob sends.
    fn next_invitation(&mut self) -> FileInvite {
        loop {
            if let ServerCommand::Msg { payload, .. } = self.sb.next() {
                if let Payload::Invitation(inv) = Payload::parse(&payload) {
                    return FileInvite::parse(&inv.fields).expect("a file-transfer invitation");
                }
            }
        }
    }

    /// Sends the listener's ACCEPT for `port` on 127.0.0.1.
    fn announce(&mut self, cookie: u32, port: u16, auth: u32) {
        let ip = Ipv4Addr::LOCALHOST.to_string();
        let inv = Invitation::listener_accept(cookie.to_string(), &ip, None, port, auth, false);
        self.sb.msg("N", &inv.build());
    }
}

/// Serves MSNFTP on `listener` as a sender announcing `fil` bytes, then writes `after_tfr`
/// raw; returns what the receiver wrote after `TFR` (until it closed).
fn serve(listener: &TcpListener, auth: u32, fil: u64, after_tfr: &[u8]) -> String {
    let (stream, _) = listener.accept().expect("bob connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let mut line = String::new();
    reader.read_line(&mut line).expect("VER");
    assert_eq!(line, "VER MSNFTP\r\n");
    writer.write_all(b"VER MSNFTP\r\n").expect("write");
    line.clear();
    reader.read_line(&mut line).expect("USR");
    assert_eq!(line, format!("USR {BOB} {auth}\r\n"));
    writer
        .write_all(format!("FIL {fil}\r\n").as_bytes())
        .expect("write");
    line.clear();
    reader.read_line(&mut line).expect("TFR or CCL");
    if line != "TFR\r\n" {
        return line;
    }
    // Bob may close before everything is written.
    let _ = writer.write_all(after_tfr);
    let _ = writer.shutdown(std::net::Shutdown::Write);
    let mut rest = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&rest).into_owned()
}

/// Data blocks (msnftp.md §3.4) of at most `block` bytes.
fn blocks(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(block) {
        let len = chunk.len() as u16;
        out.extend_from_slice(&[0, len as u8, (len >> 8) as u8]);
        out.extend_from_slice(chunk);
    }
    out
}

/// Carol offers `name` with `size`; bob accepts into `dir`; carol listens and announces.
fn offer_and_accept(
    carol: &mut FakeSender,
    bob: &mut Client,
    cookie: u32,
    name: &str,
    size: u64,
    dir: &Path,
) -> (Offered, TcpListener, u32) {
    carol.invite(cookie, name, size);
    let offer = wait_offer(bob);
    assert_eq!((offer.cookie, offer.size), (cookie, size));
    bob.send(Request::AcceptFile {
        transfer: offer.transfer,
        dir: dir.to_path_buf(),
    });
    match carol.next_invitation() {
        FileInvite::Accept(Accept { cookie: c, .. }) => assert_eq!(c, cookie),
        other => panic!("expected ACCEPT, got {other:?}"),
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let auth = 1_234_567 + cookie;
    carol.announce(cookie, port, auth);
    (offer, listener, auth)
}

#[test]
fn hostile_file_names_land_cleaned_in_the_folder() {
    let server = server_for(&[BOB, CAROL], |_| {});
    let mut bob = Client::signed_in(&server, BOB);
    let mut carol = FakeSender::start(&server, &mut bob);
    let dst = TempDir::new("hostile");
    let data = b"root:x:0:0::/root:/bin/sh\n".to_vec();
    let cases = [
        ("../../etc/passwd", "passwd"),
        (".bashrc", "_bashrc"),
        ("evil\u{1}name\u{7f}\u{202e}txt.exe", "evilnametxt.exe"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
    ];
    for (i, (offered_name, clean)) in cases.into_iter().enumerate() {
        let cookie = 50 + i as u32;
        let (offer, listener, auth) = offer_and_accept(
            &mut carol,
            &mut bob,
            cookie,
            offered_name,
            data.len() as u64,
            dst.path(),
        );
        assert_eq!(offer.name, clean);
        let tail = serve(&listener, auth, data.len() as u64, &blocks(&data, 2045));
        assert_eq!(tail, "BYE 16777989\r\n");
        let saved = completed_path(wait_end(&mut bob, offer.transfer, LONG));
        assert_eq!(saved, dst.path().join(clean));
        assert_eq!(std::fs::read(&saved).expect("read"), data);
    }
    assert_eq!(
        dst.names(),
        ["_bashrc", "evilnametxt.exe", "passwd", "win.ini"]
    );
    bob.stop();
}

#[test]
fn a_sender_that_lies_about_the_size_fails_cleanly() {
    let server = server_for(&[BOB, CAROL], |_| {});
    let mut bob = Client::signed_in(&server, BOB);
    let mut carol = FakeSender::start(&server, &mut bob);
    let dst = TempDir::new("liar");
    let data: Vec<u8> = (0..7000u32).map(|i| (i % 256) as u8).collect();

    // More data than announced (in the invitation and in FIL): CCL, nothing saved.
    let (offer, listener, auth) =
        offer_and_accept(&mut carol, &mut bob, 61, "a.bin", 5000, dst.path());
    let tail = serve(&listener, auth, 5000, &blocks(&data, 2045));
    assert_eq!(tail, "CCL\r\n");
    match wait_end(&mut bob, offer.transfer, LONG) {
        Event::TransferFailed { reason, .. } => {
            assert_eq!(
                reason,
                format!("{CAROL} sent a different amount of data than announced")
            )
        }
        other => panic!("{other:?}"),
    }

    // FIL differs from the accepted size: CCL right away.
    let (offer, listener, auth) =
        offer_and_accept(&mut carol, &mut bob, 62, "b.bin", 5000, dst.path());
    let tail = serve(&listener, auth, 7000, &[]);
    assert_eq!(tail, "CCL\r\n");
    assert!(matches!(
        wait_end(&mut bob, offer.transfer, LONG),
        Event::TransferFailed { .. }
    ));
    // Before TFR, the switchboard hears of it too.
    assert_eq!(
        carol.next_invitation(),
        FileInvite::Cancel {
            cookie: 62,
            code: Some(CancelCode::FtTimeout)
        }
    );

    // Fewer bytes, then the connection closes: the connection was lost.
    let (offer, listener, auth) =
        offer_and_accept(&mut carol, &mut bob, 63, "c.bin", 5000, dst.path());
    serve(&listener, auth, 5000, &blocks(&data[..3000], 2045));
    match wait_end(&mut bob, offer.transfer, LONG) {
        Event::TransferFailed { reason, .. } => assert_eq!(reason, "The connection was lost"),
        other => panic!("{other:?}"),
    }
    assert_eq!(dst.names(), Vec::<String>::new(), "nothing left behind");
    bob.stop();
}

#[test]
fn an_unreachable_sender_fails_in_words() {
    let server = server_for(&[BOB, CAROL], |_| {});
    let mut bob = Client::signed_in(&server, BOB);
    let mut carol = FakeSender::start(&server, &mut bob);
    let dst = TempDir::new("unreach");

    // Nothing listens on the announced port: refused at once.
    carol.invite(71, "x.bin", 10);
    let offer = wait_offer(&mut bob);
    bob.send(Request::AcceptFile {
        transfer: offer.transfer,
        dir: dst.path().to_path_buf(),
    });
    assert!(matches!(carol.next_invitation(), FileInvite::Accept(_)));
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    carol.announce(71, closed_port, 99);
    let reason = match wait_end(&mut bob, offer.transfer, LONG) {
        Event::TransferFailed { reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason, format!("{CAROL}'s computer could not be reached"));
    match carol.next_invitation() {
        FileInvite::Cancel { cookie, code } => {
            assert_eq!((cookie, code), (71, Some(CancelCode::FtTimeout)))
        }
        other => panic!("expected CANCEL, got {other:?}"),
    }

    // A port that never answers (its queue of pending connections is full): the connect time
    // limit applies.
    bob.send(Request::SetTransferOptions(TransferOptions {
        connect_timeout: Duration::from_secs(1),
        ..TransferOptions::default()
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let black_hole = socket.listen(0).expect("listen");
    let port = black_hole.local_addr().expect("addr").port();
    // Fill the queue; later connection attempts get no answer at all.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().expect("addr"),
            Duration::from_millis(200),
        ) {
            fillers.push(s);
        }
    }
    carol.invite(72, "y.bin", 10);
    let offer = wait_offer(&mut bob);
    bob.send(Request::AcceptFile {
        transfer: offer.transfer,
        dir: dst.path().to_path_buf(),
    });
    assert!(matches!(carol.next_invitation(), FileInvite::Accept(_)));
    carol.announce(72, port, 99);
    let start = Instant::now();
    match wait_end(&mut bob, offer.transfer, LONG) {
        Event::TransferFailed { reason, .. } => {
            assert_eq!(reason, format!("{CAROL}'s computer could not be reached"))
        }
        other => panic!("{other:?}"),
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "{took:?}: the port answered"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(matches!(
        carol.next_invitation(),
        FileInvite::Cancel {
            code: Some(CancelCode::FtTimeout),
            ..
        }
    ));
    assert_eq!(dst.names(), Vec::<String>::new());
    drop(fillers);
    bob.stop();
}

#[test]
fn other_applications_bad_sizes_and_group_offers_are_not_offered() {
    let server = server_for(&[ALICE, BOB, CAROL], |_| {});
    let mut bob = Client::signed_in(&server, BOB);
    let mut carol = FakeSender::start(&server, &mut bob);
    // Another application (voice): REJECT_NOT_INSTALLED.
    let voice = Invitation::new(msnp::proto::payload::InviteCommand::Invite, "81")
        .with("Application-Name", "Voice")
        .with("Application-GUID", msnp::proto::payload::invite::VOICE_GUID);
    carol.sb.msg("N", &voice.build());
    assert_eq!(
        carol.next_invitation(),
        FileInvite::Cancel {
            cookie: 81,
            code: Some(CancelCode::RejectNotInstalled)
        }
    );
    // An invalid size: REJECT.
    let mut bad = Invitation::file_transfer_invite("82", "x.bin", 1, false);
    for (name, value) in &mut bad.fields {
        if name == "Application-FileSize" {
            *value = "-5".into();
        }
    }
    carol.sb.msg("N", &bad.build());
    assert_eq!(
        carol.next_invitation(),
        FileInvite::Cancel {
            cookie: 82,
            code: Some(CancelCode::Reject)
        }
    );
    // With a third person in the switchboard, an offer is ignored (msnftp.md §2.1).
    let alice = Client::signed_in(&server, ALICE);
    let t = carol.sb.cmd("CAL", ALICE);
    assert!(carol
        .sb
        .next_line()
        .starts_with(&format!("CAL {t} RINGING")));
    carol.sb.until(|l| l.starts_with(&format!("JOI {ALICE}")));
    bob.wait(|e| matches!(e, Event::Joined { account, .. } if account == ALICE));
    carol.invite(83, "group.txt", 5);
    carol.sb.msg(
        "N",
        &msnp::proto::payload::text_message_plain("after the offer"),
    );
    let (_, text) = bob.wait_text(CAROL);
    assert_eq!(text, "after the offer");
    assert!(
        !bob.seen
            .iter()
            .any(|e| matches!(e, Event::FileOffered { .. })),
        "{:?}",
        bob.seen
    );
    alice.stop();
    bob.stop();
}

#[test]
fn the_demo_bot_answers_with_the_sha256_it_received() {
    let mut config = Config::loopback(Vec::new());
    config.demo = true;
    let server = Server::start(config).expect("demo server");
    let mut you = Client::start(&server, DEMO_ACCOUNT, DEMO_PASSWORD);
    you.wait(|e| matches!(e, Event::Ns(msnp::proto::ns::NsEvent::OwnStatus(_))));
    let src = TempDir::new("bot");
    let size = 100_000;
    let path = make_file(src.path(), "for-the-bot.bin", size);
    let digest = sha256_of(&path);
    you.send(Request::SendFile {
        transfer: 1,
        to: DEMO_BOT.into(),
        path: path.clone(),
    });
    completed_path(wait_end(&mut you, 1, LONG));
    let (_, text) = you.wait_text(DEMO_BOT);
    assert_eq!(
        text,
        format!("Received for-the-bot.bin: {size} bytes, SHA-256 {digest}")
    );
    // The reference digest of msnftp.md §4 (byte n = n mod 256, 5000 bytes) through the bot.
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
    assert_eq!(
        sha256_bytes(&data),
        "8026e5c96cf1e502c8deb3e89f8b8bc342f5039b871911a92eb10edf9c6542d3"
    );
    let report = src.path().join("report.txt");
    std::fs::write(&report, &data).expect("write");
    you.send(Request::SendFile {
        transfer: 2,
        to: DEMO_BOT.into(),
        path: report,
    });
    completed_path(wait_end(&mut you, 2, LONG));
    let (_, text) = you.wait_text(DEMO_BOT);
    assert_eq!(
        text,
        "Received report.txt: 5000 bytes, SHA-256 \
         8026e5c96cf1e502c8deb3e89f8b8bc342f5039b871911a92eb10edf9c6542d3"
    );
    you.stop();
}
