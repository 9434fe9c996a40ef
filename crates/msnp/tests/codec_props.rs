//! Property tests of the codec: a long, realistic NS login burst (profile and e-mail `MSG`s,
//! `LST`/`ILN`/`NLN`/`BPR` lines) and switchboard traffic, cut at random points and fed in
//! random merges, decode to exactly the frames of a one-shot decode; random bytes never panic.

use msnp::proto::codec::{CodecError, Decoder, Direction, Frame, Limits};
use msnp::proto::command::{ClientCommand, ServerCommand};
use proptest::prelude::*;

/// A display name as the wire carries it: %-escapes for blanks and `%`, raw or escaped UTF-8.
fn wire_name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[A-Za-z0-9._!~*'()-]{1,8}",
        Just("%20".to_string()),
        Just("%25".to_string()),
        Just("Zo%C3%AB".to_string()),
        Just("café".to_string()),
        Just("%E2%98%95".to_string()),
        Just("☺".to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat())
}

fn account() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9._]{0,12}@(example\\.com|example\\.org|hotmail\\.com)"
}

fn status() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN"])
}

/// Payload bytes: MIME headers and text, sometimes arbitrary bytes (CR LF, NUL, invalid UTF-8).
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[ -~]{0,200}".prop_map(|body| format!(
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: \
             FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\n{body}"
        )
        .into_bytes()),
        1 => account().prop_map(|a| format!(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {a}\r\n\r\n\r\n"
        )
        .into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// One server → client command, as a canonical frame.
fn server_frame() -> impl Strategy<Value = Frame> {
    let line = |s: String| Frame {
        line: s,
        payload: None,
    };
    prop_oneof![
        4 => (1u32..100, 1u32..5000, 1u32..5000, account(), wire_name(), prop::collection::vec(0u32..20, 1..4))
            .prop_map(move |(tr, ver, i, a, n, g)| {
                let groups: Vec<String> = g.iter().map(u32::to_string).collect();
                line(format!("LST {tr} FL {ver} {i} 5000 {a} {n} {}", groups.join(",")))
            }),
        2 => (1u32..100, account(), wire_name(), prop::sample::select(vec!["AL", "BL", "RL"]))
            .prop_map(move |(tr, a, n, l)| line(format!("LST {tr} {l} 12 1 5000 {a} {n}"))),
        3 => (1u32..100, status(), account(), wire_name())
            .prop_map(move |(tr, s, a, n)| line(format!("ILN {tr} {s} {a} {n}"))),
        3 => (status(), account(), wire_name(), prop::option::of(0u32..0x5000_0000))
            .prop_map(move |(s, a, n, c)| match c {
                Some(c) => line(format!("NLN {s} {a} {n} {c}")),
                None => line(format!("NLN {s} {a} {n}")),
            }),
        1 => account().prop_map(move |a| line(format!("FLN {a}"))),
        1 => (account(), "[0-9 ]{0,12}").prop_map(move |(a, v)| {
            let v = v.trim().replace(' ', "%20");
            if v.is_empty() {
                line(format!("BPR 12 {a} PHH"))
            } else {
                line(format!("BPR 12 {a} PHH {v}"))
            }
        }),
        2 => payload().prop_map(|p| Frame {
            line: format!("MSG Hotmail Hotmail {}", p.len()),
            payload: Some(p),
        }),
        2 => (account(), wire_name(), payload()).prop_map(|(a, n, p)| Frame {
            line: format!("MSG {a} {n} {}", p.len()),
            payload: Some(p),
        }),
        1 => Just(line("QNG".to_string())),
        1 => (0u32..1000).prop_map(move |t| line(format!("ACK {t}"))),
        1 => (0u32..1000).prop_map(move |t| line(format!("217 {t}"))),
    ]
}

/// One client → server command (switchboard and notification server), as a canonical frame.
fn client_frame() -> impl Strategy<Value = Frame> {
    let line = |s: String| Frame {
        line: s,
        payload: None,
    };
    prop_oneof![
        4 => (1u32..10_000, prop::sample::select(vec!["U", "N", "A", "D"]), payload())
            .prop_map(|(tr, ack, p)| Frame {
                line: format!("MSG {tr} {ack} {}", p.len()),
                payload: Some(p),
            }),
        1 => (1u32..10_000, "[0-9a-f]{32}").prop_map(|(tr, a)| Frame {
            line: format!("QRY {tr} msmsgs@msnmsgr.com 32"),
            payload: Some(a.into_bytes()),
        }),
        1 => (1u32..10_000, account(), wire_name())
            .prop_map(move |(tr, a, n)| line(format!("ADD {tr} FL {a} {n} 0"))),
        1 => (1u32..10_000, account()).prop_map(move |(tr, a)| line(format!("CAL {tr} {a}"))),
        1 => Just(line("PNG".to_string())),
        1 => (1u32..10_000, status()).prop_map(move |(tr, s)| line(format!("CHG {tr} {s}"))),
    ]
}

fn bytes_of(frames: &[Frame]) -> Vec<u8> {
    frames.iter().flat_map(Frame::to_bytes).collect()
}

/// Decodes `bytes` in one read.
fn one_shot(direction: Direction, bytes: &[u8]) -> (Vec<Frame>, Option<CodecError>) {
    let mut d = Decoder::new(direction, Limits::CLIENT);
    d.feed(bytes);
    drain(&mut d, &mut Vec::new())
}

fn drain(d: &mut Decoder, frames: &mut Vec<Frame>) -> (Vec<Frame>, Option<CodecError>) {
    loop {
        match d.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (std::mem::take(frames), None),
            Err(e) => return (std::mem::take(frames), Some(e)),
        }
    }
}

/// Decodes `bytes` cut into pieces of the given sizes (cycled); after a piece the decoder is
/// drained only when its flag is set, so several pieces are often merged into one read.
fn split(
    direction: Direction,
    limits: Limits,
    bytes: &[u8],
    cuts: &[(usize, bool)],
) -> (Vec<Frame>, Option<CodecError>) {
    let mut d = Decoder::new(direction, limits);
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let &(size, drain_now) = cuts.next().unwrap_or(&(1, true));
        let n = size.clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        d.feed(piece);
        if drain_now || rest.is_empty() {
            let (mut got, err) = drain(&mut d, &mut Vec::new());
            frames.append(&mut got);
            if err.is_some() {
                return (frames, err);
            }
        }
    }
    (frames, None)
}

fn cuts() -> impl Strategy<Value = Vec<(usize, bool)>> {
    prop::collection::vec((1usize..200, any::<bool>()), 1..64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// A login burst and a switchboard conversation decode identically in any split.
    #[test]
    fn realistic_server_stream_splits_like_one_shot(
        frames in prop::collection::vec(server_frame(), 50..400),
        cuts in cuts(),
    ) {
        let bytes = bytes_of(&frames);
        let whole = one_shot(Direction::FromServer, &bytes);
        prop_assert_eq!(&whole.1, &None);
        prop_assert_eq!(&whole.0, &frames);
        let parts = split(Direction::FromServer, Limits::CLIENT, &bytes, &cuts);
        prop_assert_eq!(&parts, &whole);
        // Every canonical frame parses to a typed command that re-serialises byte-exact.
        for f in &frames {
            let cmd = ServerCommand::parse(f).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(!matches!(cmd, ServerCommand::Unknown(_)), "{:?}", f);
            prop_assert_eq!(cmd.to_bytes(), f.to_bytes());
        }
    }

    /// Client traffic, decoded as a switchboard server would, in any split.
    #[test]
    fn realistic_client_stream_splits_like_one_shot(
        frames in prop::collection::vec(client_frame(), 20..200),
        cuts in cuts(),
    ) {
        let bytes = bytes_of(&frames);
        let whole = one_shot(Direction::FromClient, &bytes);
        prop_assert_eq!(&whole.1, &None);
        prop_assert_eq!(&whole.0, &frames);
        let parts = split(Direction::FromClient, Limits::CLIENT, &bytes, &cuts);
        prop_assert_eq!(&parts, &whole);
        for f in &frames {
            let cmd = ClientCommand::parse(f).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(cmd.to_bytes(), f.to_bytes());
        }
    }

    /// Byte at a time is the extreme split.
    #[test]
    fn byte_at_a_time_equals_one_shot(frames in prop::collection::vec(server_frame(), 1..60)) {
        let bytes = bytes_of(&frames);
        let parts = split(Direction::FromServer, Limits::CLIENT, &bytes, &[(1, true)]);
        prop_assert_eq!(parts, (frames, None));
    }

    /// Random bytes: no panic in the decoder or the parsers, in either direction and with tight
    /// limits; splitting changes neither the frames nor the error.
    #[test]
    fn random_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        cuts in cuts(),
        tight in any::<bool>(),
    ) {
        let limits = if tight {
            Limits { max_line: 40, max_payload: 20 }
        } else {
            Limits::CLIENT
        };
        for direction in [Direction::FromServer, Direction::FromClient] {
            let mut d = Decoder::new(direction, limits);
            d.feed(&bytes);
            let whole = drain(&mut d, &mut Vec::new());
            let _ = d.finish();
            let parts = split(direction, limits, &bytes, &cuts);
            prop_assert_eq!(&parts, &whole);
            for f in &whole.0 {
                if let Ok(c) = ClientCommand::parse(f) {
                    let _ = c.to_bytes();
                }
                if let Ok(c) = ServerCommand::parse(f) {
                    let _ = c.to_bytes();
                }
            }
        }
    }

    /// Random bytes that look like commands (letters, digits, blanks, line ends) reach the
    /// parsers far more often than uniform bytes do.
    #[test]
    fn command_like_noise_never_panics(text in "([A-Z]{3}|[0-9]{1,4}|[ \t]|\r\n|\n|[a-z@.%]{1,6}){0,200}") {
        for direction in [Direction::FromServer, Direction::FromClient] {
            let (frames, _) = one_shot(direction, text.as_bytes());
            for f in &frames {
                if let Ok(c) = ClientCommand::parse(f) {
                    let _ = c.to_bytes();
                }
                if let Ok(c) = ServerCommand::parse(f) {
                    let _ = c.to_bytes();
                }
            }
        }
    }
}
