//! Scenario benchmark: a 1 GiB file sent between two `msnp::client` engines through the
//! in-process `msnp-server` on 127.0.0.1, over a real MSNFTP direct connection, into a temporary
//! folder; twice: from a sparse source file, and from one written in pieces beforehand (neither
//! is ever held in memory). Prints the throughput, the CPU time and the process's peak resident
//! memory while each transfer ran (VmHWM of /proc/self/status, reset just before each transfer
//! where the kernel allows it).
//!
//! Run: `cargo bench -p msnp --bench transfer`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use msnp::client::{self, ClientConfig, Event, Request};
use msnp::proto::command::{List, Status};
use msnp::proto::msnp8::ProtocolChoice;
use msnp::proto::ns::{NsEvent, NsRequest};
use msnp_server::{AccountSpec, Config, Server, ServerHandle};

const SIZE: u64 = 1 << 30;
const LIMIT: Duration = Duration::from_secs(600);
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

struct Peer {
    session: client::Session,
}

impl Peer {
    fn start(server: &ServerHandle, account: &str) -> Peer {
        let session = client::start(ClientConfig {
            server: server.ns_addr().to_string(),
            account: account.into(),
            password: "pw".into(),
            initial_status: Status::Online,
            cache: None,
            protocol: ProtocolChoice::Msnp7Only,
            ..ClientConfig::default()
        })
        .expect("engine starts");
        let peer = Peer { session };
        peer.wait(|e| matches!(e, Event::Ns(NsEvent::OwnStatus(_))));
        peer
    }

    fn send(&self, r: Request) {
        self.session
            .requests
            .send_blocking(r)
            .expect("engine alive");
    }

    /// Waits for an event matching `pred`, dropping the others.
    fn wait(&self, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let deadline = Instant::now() + LIMIT;
        loop {
            assert!(Instant::now() < deadline, "timed out");
            match self.session.events.recv_blocking() {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(_) => panic!("engine stopped"),
            }
        }
    }

    fn follow(&self, other: &str) {
        for list in [List::Forward, List::Allow] {
            self.send(Request::Ns(NsRequest::AddContact {
                list,
                account: other.into(),
                nick: None,
                group: (list == List::Forward).then_some(0),
            }));
        }
    }
}

/// A `VmHWM`/`VmRSS` line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system) the process has used so far, from /proc/self/stat, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks: 100 per second on Linux.
    Some((utime + stime) / 100.0)
}

/// Resets the peak RSS counter (Linux `clear_refs` value 5); returns whether it worked.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mariposa-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn sparse(dir: &Path) -> PathBuf {
    let path = dir.join("sparse.bin");
    let f = std::fs::File::create(&path).expect("create");
    f.set_len(SIZE).expect("set_len");
    path
}

/// A real 1 GiB file written in 1 MiB pieces (never held in memory), so the transfer then
/// reads it from the page cache.
fn streamed(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("streamed.bin");
    let mut f = std::fs::File::create(&path).expect("create");
    let mut piece: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for round in 0..SIZE / (1 << 20) {
        piece[0] = round as u8;
        f.write_all(&piece).expect("write");
    }
    f.sync_all().expect("sync");
    path
}

/// Sends `path` from alice to bob and prints the figures under `label`.
fn run(alice: &Peer, bob: &Peer, transfer: u64, path: PathBuf, dst: &Path, label: &str) {
    let before = status_kib("VmRSS:").unwrap_or(0);
    let reset = reset_peak();
    alice.send(Request::SendFile {
        transfer,
        to: BOB.into(),
        path,
    });
    let offer = bob.wait(|e| matches!(e, Event::FileOffered { .. }));
    let Event::FileOffered {
        transfer: incoming, ..
    } = offer
    else {
        unreachable!()
    };
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    bob.send(Request::AcceptFile {
        transfer: incoming,
        dir: dst.to_path_buf(),
    });
    // The last progress event comes when every byte is in (before the flush to disk).
    let mut all_in = None;
    let end = bob.wait(|e| {
        if matches!(e, Event::TransferProgress { bytes, .. } if *bytes == SIZE) {
            all_in = Some(start.elapsed());
        }
        matches!(
            e,
            Event::TransferCompleted { .. }
                | Event::TransferFailed { .. }
                | Event::TransferCancelled { .. }
        )
    });
    let elapsed = start.elapsed();
    let cpu = cpu_seconds().zip(cpu_start).map(|(b, a)| b - a);
    let peak = status_kib("VmHWM:").unwrap_or(0);
    let Event::TransferCompleted { path: saved, .. } = end else {
        panic!("the transfer did not complete: {end:?}");
    };
    let saved_len = std::fs::metadata(&saved).map(|m| m.len()).unwrap_or(0);
    assert_eq!(saved_len, SIZE);
    let _ = std::fs::remove_file(&saved);
    let mib_s = SIZE as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64();
    println!(
        "transfer/{label}: {:.2} s, {mib_s:.0} MiB/s (accept to saved, fsync included)",
        elapsed.as_secs_f64()
    );
    if let Some(t) = all_in {
        let mib_s = SIZE as f64 / (1024.0 * 1024.0) / t.as_secs_f64();
        println!(
            "transfer/{label}/data: {:.2} s, {mib_s:.0} MiB/s (accept to last byte in, before \
             the flush to disk)",
            t.as_secs_f64()
        );
    }
    if let Some(cpu) = cpu {
        println!(
            "transfer/{label}/cpu: {cpu:.2} s of CPU time (both engines and the server; {:.0} \
             MiB per CPU-second)",
            1024.0 / cpu
        );
    }
    println!(
        "transfer/{label}/peak-rss: {:.1} MiB during the transfer{} (RSS before: {:.1} MiB; \
         whole process: server and both engines)",
        peak as f64 / 1024.0,
        if reset {
            ""
        } else {
            " (peak since start: clear_refs refused)"
        },
        before as f64 / 1024.0
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let server = Server::start(Config::loopback(vec![
        AccountSpec::new(ALICE, "pw"),
        AccountSpec::new(BOB, "pw"),
    ]))
    .expect("server");
    let alice = Peer::start(&server, ALICE);
    let bob = Peer::start(&server, BOB);
    alice.follow(BOB);
    bob.follow(ALICE);
    bob.wait(|e| matches!(e, Event::Ns(NsEvent::Presence { account, .. }) if account == ALICE));
    let src = temp_dir("src");
    let dst = temp_dir("dst");

    // A sparse source costs nothing to make, but reading its holes makes the kernel zero-fill
    // every page; a written one is read from the page cache.
    run(&alice, &bob, 1, sparse(&src), &dst, "1GiB-sparse-source");
    run(&alice, &bob, 2, streamed(&src), &dst, "1GiB-written-source");

    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_dir_all(&dst);
    for p in [alice, bob] {
        let _ = p.session.requests.send_blocking(Request::Shutdown);
        p.session.join();
    }
    server.shutdown();
}
