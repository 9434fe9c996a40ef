//! Criterion benchmark: decoding and parsing the login burst of a 5,000-contact account (profile
//! `MSG`, `SYN` reply with `LSG`, `LST` FL/AL/RL and `BPR` lines, then `ILN` and `NLN`), fed in
//! 16 KiB reads as a socket would deliver it. Reports throughput in bytes per second.
//!
//! Run: `cargo bench -p msnp --bench login_burst`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use msnp::proto::codec::{Decoder, Direction, Limits};
use msnp::proto::command::ServerCommand;

const CONTACTS: usize = 5_000;
const GROUPS: usize = 12;
const READ_BYTES: usize = 16 * 1024;

const FIRST: &[&str] = &[
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Zo%C3%AB",
    "Jos%C3%A9",
    "Fran%C3%A7ois",
    "Bj%C3%B6rk",
    "Mar%C3%ADa",
    "%E5%B0%8F%E6%98%8E",
    "Erin",
    "Frank",
    "Henry",
    "Ingrid",
];
const LAST: &[&str] = &[
    "Smith",
    "%5Bat%20work%5D",
    "%E2%98%95",
    "%28away%29",
    "O'Neil",
    "M%C3%BCller",
    "van%20der%20Berg",
    "%3A-%29",
    "100%25",
];
const STATUSES: &[&str] = &["NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN"];

fn account(i: usize) -> String {
    format!("contact{i:04}@example.com")
}

fn name(i: usize) -> String {
    format!(
        "{}%20{}",
        FIRST[i % FIRST.len()],
        LAST[(i / FIRST.len()) % LAST.len()]
    )
}

/// The bytes a notification server sends after `USR … OK` and `SYN 5 0`, then `CHG`.
fn login_burst() -> Vec<u8> {
    let mut s = String::new();
    let profile = "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n\
                   LoginTime: 1056561624\r\nEmailEnabled: 1\r\nMemberIdHigh: 85040\r\n\
                   MemberIdLow: -517030579\r\nlang_preference: 1033\r\n\
                   preferredEmail: alice@example.com\r\ncountry: US\r\nKid: 0\r\nFlags: 1027\r\n\
                   sid: 507\r\nkv: 4\r\nClientIP: 198.51.100.7\r\nClientPort: 22738\r\n\r\n";
    s.push_str(&format!(
        "MSG Hotmail Hotmail {}\r\n{profile}",
        profile.len()
    ));
    let ver = 4242;
    s.push_str(&format!(
        "SYN 5 {ver}\r\nGTC 5 {ver} A\r\nBLP 5 {ver} AL\r\n"
    ));
    s.push_str(&format!(
        "PRP 5 {ver} PHH 425%20555%200100\r\nPRP 5 {ver} MOB N\r\n"
    ));
    for g in 0..GROUPS {
        let gname = if g == 0 {
            "Other%20Contacts".to_string()
        } else {
            format!("Group%20{g}%20%E2%98%85")
        };
        s.push_str(&format!("LSG 5 {ver} {} {GROUPS} {g} {gname} 0\r\n", g + 1));
    }
    for i in 0..CONTACTS {
        let groups = if i % 3 == 0 {
            format!("{},{}", i % GROUPS, (i + 1) % GROUPS)
        } else {
            (i % GROUPS).to_string()
        };
        s.push_str(&format!(
            "LST 5 FL {ver} {} {CONTACTS} {} {} {groups}\r\n",
            i + 1,
            account(i),
            name(i)
        ));
        if i % 4 == 0 {
            s.push_str(&format!(
                "BPR {ver} {} PHH 425%20555%20{:04}\r\nBPR {ver} {} MOB Y\r\n",
                account(i),
                i,
                account(i)
            ));
        }
    }
    for list in ["AL", "RL"] {
        for i in 0..CONTACTS {
            s.push_str(&format!(
                "LST 5 {list} {ver} {} {CONTACTS} {} {}\r\n",
                i + 1,
                account(i),
                name(i)
            ));
        }
    }
    // First CHG: the online contacts arrive as ILN, then presence changes as NLN.
    s.push_str("CHG 6 NLN 0\r\n");
    for i in (0..CONTACTS).step_by(3) {
        s.push_str(&format!(
            "ILN 6 {} {} {} 268435492\r\n",
            STATUSES[i % STATUSES.len()],
            account(i),
            name(i)
        ));
    }
    for i in (0..CONTACTS).step_by(5) {
        s.push_str(&format!(
            "NLN {} {} {} 268435492\r\n",
            STATUSES[(i / 5) % STATUSES.len()],
            account(i),
            name(i)
        ));
    }
    s.into_bytes()
}

/// Decodes and parses the whole burst; returns the number of commands.
fn decode_and_parse(bytes: &[u8]) -> usize {
    let mut d = Decoder::new(Direction::FromServer, Limits::CLIENT);
    let mut n = 0;
    for read in bytes.chunks(READ_BYTES) {
        d.feed(read);
        while let Some(frame) = d.next_frame().expect("the burst is well formed") {
            let cmd = ServerCommand::parse(&frame).expect("every line parses");
            black_box(&cmd);
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let bytes = login_burst();
    let commands = decode_and_parse(&bytes);
    println!(
        "login burst: {CONTACTS} contacts, {commands} commands, {} bytes",
        bytes.len()
    );
    let mut group = c.benchmark_group("login_burst");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("decode_and_parse_5000_contacts", |b| {
        b.iter(|| decode_and_parse(black_box(&bytes)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
