//! msnftp.md §4 and §3.4 transcripts, byte-exact, for both roles: the peer's lines are fed in and
//! everything our machine writes is compared with the spec, including totals and SHA-256 digests.

use std::time::Instant;

use msnp::proto::ftp::{FtpEvent, Receiver, Sender};

/// A minimal SHA-256 (FIPS 180-4) for checking the spec's digests in this test only.
fn sha256(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend(((data.len() as u64) * 8).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for (k, wi) in K.iter().zip(w) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(*k)
                .wrapping_add(wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// The 5000-byte file of §4: byte n = n mod 256.
fn report_txt() -> Vec<u8> {
    (0..5000u32).map(|n| (n % 256) as u8).collect()
}

const FILE_SHA256: &str = "8026e5c96cf1e502c8deb3e89f8b8bc342f5039b871911a92eb10edf9c6542d3";
const BLOCKS_SHA256: &str = "2e77011b7ac0edea15c73de8669a65ce46388b8ee4e1bafe8c25c2a8481be7be";

/// What the sender writes after `TFR` in §4: three headers and the data.
fn section4_blocks() -> Vec<u8> {
    let file = report_txt();
    let mut wire = vec![0x00, 0xfd, 0x07];
    wire.extend(&file[0..2045]);
    wire.extend([0x00, 0xfd, 0x07]);
    wire.extend(&file[2045..4090]);
    wire.extend([0x00, 0x8e, 0x03]);
    wire.extend(&file[4090..5000]);
    wire
}

fn drain_tx_r(r: &mut Receiver) -> Vec<u8> {
    std::iter::from_fn(|| r.poll_transmit()).flatten().collect()
}

fn drain_tx_s(s: &mut Sender) -> Vec<u8> {
    std::iter::from_fn(|| s.poll_transmit()).flatten().collect()
}

#[test]
fn sha256_self_check() {
    assert_eq!(
        sha256(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn section4_file_vectors() {
    assert_eq!(sha256(&report_txt()), FILE_SHA256);
    assert_eq!(section4_blocks().len(), 5009);
    assert_eq!(sha256(&section4_blocks()), BLOCKS_SHA256);
}

#[test]
fn section4_receiver_side() {
    let now = Instant::now();
    let mut r = Receiver::new("bob@example.com", "580493217", 5000, now);
    let mut wrote = Vec::new();

    let out = drain_tx_r(&mut r);
    assert_eq!(out, b"VER MSNFTP\r\n");
    wrote.extend(out);
    r.handle_input(b"VER MSNFTP\r\n", now);
    let out = drain_tx_r(&mut r);
    assert_eq!(out, b"USR bob@example.com 580493217\r\n");
    wrote.extend(out);
    r.handle_input(b"FIL 5000\r\n", now);
    let out = drain_tx_r(&mut r);
    assert_eq!(out, b"TFR\r\n");
    wrote.extend(out);

    // The blocks arrive in awkward TCP pieces.
    let blocks = section4_blocks();
    let mut file = Vec::new();
    for piece in blocks.chunks(1460) {
        r.handle_input(piece, now);
        while let Some(ev) = r.poll_event() {
            match ev {
                FtpEvent::Data(d) => file.extend(d),
                FtpEvent::AllDataReceived => r.file_stored(),
                _ => {}
            }
        }
    }
    let out = drain_tx_r(&mut r);
    assert_eq!(out, b"BYE 16777989\r\n");
    wrote.extend(out);
    assert!(r.is_closed());

    assert_eq!(file.len(), 5000);
    assert_eq!(sha256(&file), FILE_SHA256);
    assert_eq!(wrote.len(), 62);
    assert_eq!(
        wrote,
        b"VER MSNFTP\r\nUSR bob@example.com 580493217\r\nTFR\r\nBYE 16777989\r\n"
    );
}

#[test]
fn section4_sender_side() {
    let now = Instant::now();
    let file = report_txt();
    let mut s = Sender::new("bob@example.com", 580_493_217, 5000, now);
    let mut wrote = Vec::new();

    assert_eq!(drain_tx_s(&mut s), b"");
    s.handle_input(b"VER MSNFTP\r\n", now);
    wrote.extend(drain_tx_s(&mut s));
    s.handle_input(b"USR bob@example.com 580493217\r\n", now);
    wrote.extend(drain_tx_s(&mut s));
    assert_eq!(wrote, b"VER MSNFTP\r\nFIL 5000\r\n");
    s.handle_input(b"TFR\r\n", now);

    let mut pos = 0;
    let mut after_tfr = Vec::new();
    let mut completed = false;
    for _ in 0..100 {
        after_tfr.extend(drain_tx_s(&mut s));
        let Some(ev) = s.poll_event() else { break };
        match ev {
            FtpEvent::NeedData { max } => {
                let n = max.min(file.len() - pos);
                s.provide_data(file[pos..pos + n].to_vec(), now);
                pos += n;
            }
            FtpEvent::Completed => completed = true,
            _ => {}
        }
    }
    assert_eq!(after_tfr.len(), 5009);
    assert_eq!(after_tfr, section4_blocks());
    assert_eq!(sha256(&after_tfr), BLOCKS_SHA256);
    assert_eq!(wrote.len() + after_tfr.len(), 5031);

    assert!(!completed);
    s.handle_input(b"BYE 16777989\r\n", now);
    assert_eq!(s.poll_event(), Some(FtpEvent::Completed));
    assert!(s.is_closed());
}

#[test]
fn section4_reverse_variant_usr_line() {
    let now = Instant::now();
    let mut r = Receiver::new("bob@example.com", "1994127703", 5000, now);
    r.handle_input(b"VER MSNFTP\r\n", now);
    assert_eq!(
        drain_tx_r(&mut r),
        b"VER MSNFTP\r\nUSR bob@example.com 1994127703\r\n"
    );
    let mut s = Sender::new("bob@example.com", 1_994_127_703, 5000, now);
    s.handle_input(b"VER MSNFTP\r\nUSR bob@example.com 1994127703\r\n", now);
    assert_eq!(drain_tx_s(&mut s), b"VER MSNFTP\r\nFIL 5000\r\n");
}
