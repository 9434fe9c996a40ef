//! Scenario benchmark on loopback: 1,000 concurrent signed-in sessions (with presence between
//! neighbours), SYN of a 5,000-entry list, and switchboard message relay. Prints figures.
//!
//! Run with `cargo bench -p msnp-server --bench scale`. The server runs in-process, so the memory
//! figure (resident set growth) includes the benchmark's own client sockets.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use msnp::proto::auth::md5_login_hash;
use msnp::proto::codec::{Decoder, Direction, Frame, Limits};
use msnp::proto::command::{List, ServerCommand};
use msnp_server::{AccountData, AccountSpec, Config, FlEntry, Server};

const USERS: usize = 1_000;
const NEIGHBOURS: usize = 10;
const BIG_LIST: usize = 5_000;
const THREADS: usize = 4;
const MESSAGES: usize = 5_000;

/// A minimal blocking client.
struct Client {
    stream: TcpStream,
    decoder: Decoder,
    trid: u32,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client {
            stream,
            decoder: Decoder::new(Direction::FromServer, Limits::CLIENT),
            trid: 0,
        }
    }

    fn send(&mut self, code: &str, args: &str) -> u32 {
        self.trid += 1;
        let line = format!("{code} {} {args}\r\n", self.trid);
        self.stream.write_all(line.as_bytes()).expect("write");
        self.trid
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn frame(&mut self) -> Frame {
        let mut buf = [0u8; 64 * 1024];
        loop {
            if let Some(f) = self.decoder.next_frame().expect("framing") {
                return f;
            }
            let n = self.stream.read(&mut buf).expect("read");
            assert!(n > 0, "server closed the connection");
            self.decoder.feed(&buf[..n]);
        }
    }

    fn cmd(&mut self) -> ServerCommand {
        let f = self.frame();
        ServerCommand::parse(&f).expect("parse")
    }

    /// Reads until a line starting with `prefix`.
    fn until(&mut self, prefix: &str) -> String {
        loop {
            let f = self.frame();
            if f.line.starts_with(prefix) {
                return f.line;
            }
        }
    }
}

fn user(i: usize) -> String {
    format!("user{i:04}@bench.invalid")
}

fn contact(i: usize) -> String {
    format!("contact{i:05}@bench.invalid")
}

/// VER, INF, USR MD5; returns the signed-in client (profile consumed).
fn sign_in(addr: SocketAddr, account: &str, password: &str) -> Client {
    let mut c = Client::connect(addr);
    c.send("VER", "MSNP7 CVR0");
    c.send("INF", "");
    c.send("USR", &format!("MD5 I {account}"));
    let salt = loop {
        if let ServerCommand::UsrMd5Salt { salt, .. } = c.cmd() {
            break salt;
        }
    };
    c.send("USR", &format!("MD5 S {}", md5_login_hash(&salt, password)));
    c.until("USR ");
    c.until("MSG Hotmail");
    c
}

/// Reads a full SYN answer; returns the number of lines.
fn read_syn(c: &mut Client) -> usize {
    let mut lines = 1;
    c.until("SYN ");
    loop {
        let cmd = c.cmd();
        lines += 1;
        if let ServerCommand::Lst {
            list: List::Reverse,
            index,
            count,
            ..
        } = cmd
        {
            if index == count {
                return lines;
            }
        }
    }
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn state_file(path: &std::path::Path) {
    let mut accounts = std::collections::BTreeMap::new();
    // Users: each follows and allows its neighbours, and is followed by them.
    for i in 0..USERS {
        let mut d = AccountData::new(&format!("User%20{i}"));
        for k in 1..=NEIGHBOURS / 2 {
            for j in [(i + k) % USERS, (i + USERS - k) % USERS] {
                let n = user(j);
                d.fl.insert(
                    n.clone(),
                    FlEntry {
                        nick: n.clone(),
                        groups: BTreeSet::from([0]),
                    },
                );
                d.al.insert(n.clone(), n.clone());
                d.rl.insert(n.clone(), n);
            }
        }
        d.version = 1;
        accounts.insert(user(i), d);
    }
    // The big account: 5,000 contacts in 10 groups, on FL, AL and RL.
    let mut big = AccountData::new("Big");
    for g in 1..=10u32 {
        big.groups.insert(g, format!("Group%20{g}"));
    }
    for i in 0..BIG_LIST {
        let c = contact(i);
        big.fl.insert(
            c.clone(),
            FlEntry {
                nick: format!("Contact%20{i}"),
                groups: BTreeSet::from([1 + (i % 10) as u32]),
            },
        );
        big.al.insert(c.clone(), c.clone());
        big.rl.insert(c.clone(), c);
    }
    big.version = 1;
    accounts.insert("big@bench.invalid".to_string(), big);
    let json = serde_json::json!({ "format": 1, "accounts": accounts });
    std::fs::write(path, serde_json::to_vec(&json).expect("json")).expect("write state");
}

fn main() {
    let state = std::env::temp_dir().join(format!("msnp-server-bench-{}.json", std::process::id()));
    let t = Instant::now();
    state_file(&state);
    println!(
        "state file with {USERS} users and a {BIG_LIST}-entry list written in {:?}",
        t.elapsed()
    );

    let mut accounts: Vec<AccountSpec> = (0..USERS)
        .map(|i| AccountSpec::new(&user(i), "pw"))
        .collect();
    accounts.push(AccountSpec::new("big@bench.invalid", "pw"));
    accounts.extend((0..BIG_LIST).map(|i| AccountSpec::new(&contact(i), "pw")));
    let mut cfg = Config::loopback(accounts);
    cfg.state_path = Some(state.clone());
    let rss_before = rss_kib();
    let t = Instant::now();
    let srv = Server::start(cfg).expect("server");
    println!("server start (load state, bind): {:?}", t.elapsed());
    let addr = srv.ns_addr();

    // 1. 1,000 sessions: sign in, SYN (current version), CHG NLN; all stay connected.
    let t = Instant::now();
    let per_thread = USERS / THREADS;
    let workers: Vec<_> = (0..THREADS)
        .map(|w| {
            std::thread::spawn(move || {
                let mut clients = Vec::new();
                let mut latencies = Vec::new();
                for i in w * per_thread..(w + 1) * per_thread {
                    let start = Instant::now();
                    let mut c = sign_in(addr, &user(i), "pw");
                    c.send("SYN", "1");
                    c.until("SYN ");
                    let tr = c.send("CHG", "NLN");
                    c.until(&format!("CHG {tr} "));
                    latencies.push(start.elapsed());
                    clients.push(c);
                }
                (clients, latencies)
            })
        })
        .collect();
    let mut clients = Vec::new();
    let mut latencies = Vec::new();
    for w in workers {
        let (c, l) = w.join().expect("worker");
        clients.extend(c);
        latencies.extend(l);
    }
    let total = t.elapsed();
    latencies.sort();
    let online = srv.sessions().iter().filter(|s| s.status.is_some()).count();
    println!(
        "sign-in of {USERS} sessions ({THREADS} client threads, VER/INF/USR/USR/SYN/CHG each, \
         {NEIGHBOURS} mutual contacts): total {total:?}, {:.0} sign-ins/s, latency p50 {:?} p99 {:?} max {:?}; {online} online",
        USERS as f64 / total.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    if let (Some(a), Some(b)) = (rss_before, rss_kib()) {
        println!(
            "resident memory growth with {USERS} sessions (server + client sockets, state loaded): {} KiB",
            b.saturating_sub(a)
        );
    }

    // 2. Presence fan-out: one user changes status; time until a neighbour sees it.
    let t = Instant::now();
    let rounds = 200;
    for r in 0..rounds {
        let status = if r % 2 == 0 { "AWY" } else { "NLN" };
        clients[0].send("CHG", status);
        clients[1].until(&format!("NLN {status} {}", user(0)));
    }
    println!(
        "presence change seen by a watcher: {:?} per change (mean of {rounds})",
        t.elapsed() / rounds
    );

    // 3. SYN of a 5,000-entry list (FL, AL, RL 5,000 each, 10 groups).
    let mut big = sign_in(addr, "big@bench.invalid", "pw");
    let mut times = Vec::new();
    let mut lines = 0;
    for _ in 0..5 {
        let t = Instant::now();
        big.send("SYN", "0");
        lines = read_syn(&mut big);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "SYN 0 of a {BIG_LIST}-entry list ({lines} lines): median {:?}, best {:?} (5 runs)",
        percentile(&times, 0.5),
        times[0]
    );

    // 4. Switchboard relay: alice → bob, mode A, acknowledged one by one.
    let (a, b) = clients.split_at_mut(1);
    let (alice, bob) = (&mut a[0], &mut b[0]);
    alice.send("XFR", "SB");
    let xfr = alice.until("XFR ");
    let parts: Vec<&str> = xfr.split(' ').collect();
    let mut asb = Client::connect(parts[3].parse().expect("sb address"));
    asb.send("USR", &format!("{} {}", user(0), parts[5]));
    asb.until("USR ");
    asb.send("CAL", &user(1));
    asb.until("CAL ");
    let rng = bob.until("RNG ");
    let r: Vec<&str> = rng.split(' ').collect();
    let mut bsb = Client::connect(r[2].parse().expect("sb address"));
    bsb.send("ANS", &format!("{} {} {}", user(1), r[4], r[1]));
    bsb.until("ANS ");
    asb.until("JOI ");
    let payload =
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nbenchmark message";
    let t = Instant::now();
    for _ in 0..MESSAGES {
        asb.trid += 1;
        let mut m = format!("MSG {} A {}\r\n", asb.trid, payload.len()).into_bytes();
        m.extend_from_slice(payload);
        asb.raw(&m);
        asb.until("ACK ");
        bsb.until("MSG ");
    }
    let el = t.elapsed();
    println!(
        "switchboard relay with ACK: {MESSAGES} messages in {el:?} ({:.0} msg/s, {:?} round trip)",
        MESSAGES as f64 / el.as_secs_f64(),
        el / MESSAGES as u32
    );

    let t = Instant::now();
    drop(clients);
    srv.shutdown();
    println!(
        "shutdown with OUT SSD and the final save: {:?}",
        t.elapsed()
    );
    let _ = std::fs::remove_file(&state);
}
