//! Hostile and malformed input for the codec and the command parsers: oversize lines and
//! payloads, bad lengths, truncation, unknown commands, bad UTF-8, empty lines, LF-only line
//! ends, odd blanks and numeric errors. Nothing may panic; every framing error is fatal.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use msnp::proto::codec::{
    CodecError, Decoder, Direction, Frame, Limits, MAX_INCOMING_PAYLOAD, MAX_LINE_BYTES,
    MAX_SB_MSG_PAYLOAD,
};
use msnp::proto::command::{ClientCommand, ServerCommand};
use msnp::proto::error::ServerError;

/// Records the largest single allocation, to prove that announced sizes are never allocated.
struct Tracking;

static LARGEST_ALLOCATION: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST_ALLOCATION.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

fn client() -> Decoder {
    Decoder::new(Direction::FromServer, Limits::CLIENT)
}

fn server(limits: Limits) -> Decoder {
    Decoder::new(Direction::FromClient, limits)
}

/// Every frame until the first error or until more bytes are needed.
fn drain(d: &mut Decoder) -> (Vec<Frame>, Option<CodecError>) {
    let mut frames = Vec::new();
    loop {
        match d.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
}

fn decode(direction: Direction, bytes: &[u8]) -> (Vec<Frame>, Option<CodecError>) {
    let mut d = Decoder::new(direction, Limits::CLIENT);
    d.feed(bytes);
    drain(&mut d)
}

fn line(text: &str) -> Frame {
    Frame {
        line: text.to_string(),
        payload: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes

#[test]
fn one_gigabyte_payload_is_refused_before_allocation() {
    for (direction, text) in [
        (Direction::FromServer, "MSG Hotmail Hotmail 1000000000\r\n"),
        (Direction::FromServer, "NOT 1073741824\r\n"),
        (Direction::FromClient, "MSG 4 N 1073741824\r\n"),
        (
            Direction::FromClient,
            "QRY 7 msmsgs@msnmsgr.com 1073741824\r\n",
        ),
    ] {
        let mut d = Decoder::new(direction, Limits::CLIENT);
        d.feed(text.as_bytes());
        let before = LARGEST_ALLOCATION.load(Ordering::Relaxed);
        let result = d.next_frame();
        assert!(
            matches!(result, Err(CodecError::PayloadTooLarge { length, .. }) if length >= 1_000_000_000),
            "{text:?}: {result:?}"
        );
        // Refused as soon as the line is complete: nothing of the payload was awaited or
        // reserved (other tests run in parallel, so compare against a generous bound).
        let after = LARGEST_ALLOCATION.load(Ordering::Relaxed);
        assert!(
            after < 16 << 20,
            "{text:?}: an allocation of {after} bytes happened (was {before})"
        );
        // Fatal: the decoder stays failed whatever follows.
        d.feed(b"QNG\r\n");
        assert!(d.next_frame().is_err());
        assert!(d.finish().is_err());
    }
}

#[test]
fn payload_limits_are_exact() {
    let at = |limit: usize, len: usize| {
        let mut d = Decoder::new(
            Direction::FromServer,
            Limits {
                max_line: MAX_LINE_BYTES,
                max_payload: limit,
            },
        );
        d.feed(format!("MSG a b {len}\r\n").as_bytes());
        d.feed(&vec![b'x'; len]);
        d.next_frame()
    };
    assert!(matches!(
        at(MAX_INCOMING_PAYLOAD, MAX_INCOMING_PAYLOAD),
        Ok(Some(_))
    ));
    assert!(matches!(
        at(MAX_INCOMING_PAYLOAD, MAX_INCOMING_PAYLOAD + 1),
        Err(CodecError::PayloadTooLarge { .. })
    ));
    let mut sb = server(Limits::SB_SERVER);
    sb.feed(format!("MSG 3 A {MAX_SB_MSG_PAYLOAD}\r\n").as_bytes());
    sb.feed(&vec![b'x'; MAX_SB_MSG_PAYLOAD]);
    assert!(matches!(sb.next_frame(), Ok(Some(_))));
    let mut sb = server(Limits::SB_SERVER);
    sb.feed(format!("MSG 3 A {}\r\n", MAX_SB_MSG_PAYLOAD + 1).as_bytes());
    assert!(matches!(
        sb.next_frame(),
        Err(CodecError::PayloadTooLarge {
            length: 1665,
            limit: 1664,
            ..
        })
    ));
}

#[test]
fn oversize_lines_are_refused() {
    // Without a line end: refused as soon as the limit is passed, not buffered forever.
    let mut d = client();
    for _ in 0..(MAX_LINE_BYTES / 1024) {
        d.feed(&[b'A'; 1024]);
        assert_eq!(d.next_frame(), Ok(None));
    }
    d.feed(b"A");
    assert_eq!(
        d.next_frame(),
        Err(CodecError::LineTooLong {
            limit: MAX_LINE_BYTES
        })
    );
    // With a line end, one byte too long.
    let mut long = vec![b'B'; MAX_LINE_BYTES + 1];
    long.extend_from_slice(b"\r\n");
    assert!(matches!(
        decode(Direction::FromServer, &long).1,
        Some(CodecError::LineTooLong { .. })
    ));
    // Exactly at the limit, in one read: accepted.
    let mut max = vec![b'C'; MAX_LINE_BYTES];
    max.extend_from_slice(b"\r\n");
    let (frames, err) = decode(Direction::FromServer, &max);
    assert_eq!((frames.len(), err), (1, None));
}

#[test]
// Found by the `codec` fuzz target (fixed in codec.rs).
fn line_of_max_length_split_between_cr_and_lf() {
    // Minimised from fuzz artifact crash-04e3ac80: Decoder::next_line checks the unterminated
    // bytes (which include the CR) against max_line before the LF has arrived.
    let small = Limits {
        max_line: 4,
        max_payload: 16,
    };
    let mut d = Decoder::new(Direction::FromServer, small);
    d.feed(b"ABCD\r");
    assert_eq!(d.next_frame(), Ok(None));
    d.feed(b"\n");
    assert_eq!(d.next_frame(), Ok(Some(line("ABCD"))));

    let mut d = client();
    d.feed(&vec![b'A'; MAX_LINE_BYTES]);
    d.feed(b"\r");
    assert_eq!(d.next_frame(), Ok(None));
    d.feed(b"\n");
    assert!(matches!(d.next_frame(), Ok(Some(f)) if f.line.len() == MAX_LINE_BYTES));
}

// ---------------------------------------------------------------------------------------------
// Lengths

#[test]
fn malformed_payload_lengths_are_fatal() {
    let server_lines = [
        "MSG Hotmail Hotmail -1",
        "MSG Hotmail Hotmail 12x",
        "MSG Hotmail Hotmail +5",
        "MSG Hotmail Hotmail 0x10",
        "MSG Hotmail Hotmail 5.0",
        "MSG Hotmail Hotmail ５",
        "MSG Hotmail Hotmail 184467440737095516160",
        "MSG",
        "NOT",
        "NOT abc",
        "IPG -0",
    ];
    for text in server_lines {
        let (frames, err) = decode(Direction::FromServer, format!("{text}\r\n").as_bytes());
        assert!(frames.is_empty(), "{text}");
        assert!(
            matches!(err, Some(CodecError::BadLength { .. })),
            "{text}: {err:?}"
        );
    }
    for text in [
        "MSG 4 N x",
        "QRY 7 msmsgs@msnmsgr.com",
        "SDC 1 a b c -3",
        "MSG",
    ] {
        let (_, err) = decode(Direction::FromClient, format!("{text}\r\n").as_bytes());
        assert!(
            matches!(err, Some(CodecError::BadLength { .. })),
            "{text}: {err:?}"
        );
    }
    // Leading zeros are digits: accepted, and the payload is read.
    let (frames, err) = decode(Direction::FromServer, b"MSG a b 003\r\nabcQNG\r\n");
    assert_eq!(err, None);
    assert_eq!(frames[0].payload.as_deref(), Some(&b"abc"[..]));
    assert_eq!(frames[1].line, "QNG");
}

#[test]
fn a_length_shorter_than_the_payload_desynchronises_only_into_errors_or_frames() {
    // The server lies: announces 2 bytes but sends a full header. The rest is read as lines;
    // whatever happens, no panic and every frame is still parseable or a ParseError.
    let bytes = b"MSG a b 2\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhi";
    let (frames, _) = decode(Direction::FromServer, bytes);
    assert_eq!(frames[0].payload.as_deref(), Some(&b"MI"[..]));
    for f in &frames {
        let _ = ServerCommand::parse(f);
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation

#[test]
fn truncated_lines_and_payloads_are_reported_on_close() {
    for (bytes, pending) in [
        (&b"VER 1 MSN"[..], 9),
        (b"VER 1 MSNP7\r", 12),
        (b"MSG Hotmail Hotmail 10\r\n", 10),
        (b"MSG Hotmail Hotmail 10\r\nabcdefghi", 10),
    ] {
        let mut d = client();
        d.feed(bytes);
        assert_eq!(d.next_frame(), Ok(None), "{bytes:?}");
        assert_eq!(
            d.finish(),
            Err(CodecError::Truncated { pending }),
            "{bytes:?}"
        );
    }
    let mut d = client();
    d.feed(b"QNG\r\n");
    assert!(d.next_frame().unwrap().is_some());
    assert_eq!(d.finish(), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// Unknown commands

#[test]
fn unknown_commands_are_kept_raw_in_both_directions() {
    for text in [
        "FOO 16 bar",
        "ZZZ",
        "UUX 5 0",
        "abc 1 2",
        "A",
        "é 1",
        "GCF 0 0",
    ] {
        let frame = line(text);
        match ClientCommand::parse(&frame) {
            Ok(ClientCommand::Unknown(f)) => assert_eq!(f, frame),
            other => panic!("{text}: {other:?}"),
        }
        match ServerCommand::parse(&frame) {
            Ok(ServerCommand::Unknown(f)) => assert_eq!(f, frame),
            other => panic!("{text}: {other:?}"),
        }
    }
    // A later dialect's payload command from the server is skipped safely with its payload.
    let (frames, err) = decode(
        Direction::FromServer,
        b"UBX bob@example.com 5\r\nhelloQNG\r\n",
    );
    assert_eq!(err, None);
    assert_eq!(frames.len(), 2);
    let cmd = ServerCommand::parse(&frames[0]).unwrap();
    assert!(matches!(cmd, ServerCommand::Unknown(_)));
    assert_eq!(cmd.to_bytes(), b"UBX bob@example.com 5\r\nhello");
}

#[test]
fn every_known_command_with_junk_parameters_errs_or_parses_without_panic() {
    let codes = [
        "VER", "INF", "CVR", "USR", "XFR", "SYN", "GTC", "BLP", "PRP", "LSG", "LST", "BPR", "ADD",
        "REM", "REA", "ADG", "RMG", "REG", "CHG", "ILN", "NLN", "FLN", "CHL", "QRY", "QNG", "RNG",
        "OUT", "URL", "SND", "SDC", "IMS", "MSG", "NOT", "IPG", "CAL", "JOI", "IRO", "ANS", "BYE",
        "ACK", "NAK", "PNG", "200", "911", "000", "999",
    ];
    let junk = [
        "",
        "x",
        "-1",
        "0",
        "4294967296",
        "99999999999",
        "FL",
        "OK",
        "MD5",
        "S",
        "CKI",
        "a@b",
        "%",
        "%zz",
        "1,2,",
        ",",
        "RINGING",
        "NS",
        "SB",
        "\u{0}",
        "ÿ",
    ];
    let mut parsed = 0;
    for code in codes {
        for n in 0..7 {
            for (k, _) in junk.iter().enumerate() {
                let mut toks = vec![code.to_string()];
                toks.extend((0..n).map(|i| junk[(k + i * 7) % junk.len()].to_string()));
                let text = toks
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                for payload in [None, Some(b"xy".to_vec())] {
                    let frame = Frame {
                        line: text.clone(),
                        payload,
                    };
                    if let Ok(c) = ClientCommand::parse(&frame) {
                        let _ = c.to_bytes();
                        parsed += 1;
                    }
                    if let Ok(c) = ServerCommand::parse(&frame) {
                        let _ = c.to_bytes();
                        parsed += 1;
                    }
                }
            }
        }
    }
    assert!(parsed > 0);
}

// ---------------------------------------------------------------------------------------------
// Encoding

#[test]
fn bad_utf8_in_a_line_is_fatal_but_not_in_a_payload() {
    for bytes in [
        &b"NLN NLN bob@example.com B\xffb\r\n"[..],
        b"\xc3\r\n",
        b"FLN \xed\xa0\x80@example.com\r\n", // a UTF-16 surrogate encoded in UTF-8
        b"MSG Hotmail Hotmail \xff5\r\n",
    ] {
        let (frames, err) = decode(Direction::FromServer, bytes);
        assert!(frames.is_empty());
        assert_eq!(err, Some(CodecError::BadUtf8), "{bytes:?}");
    }
    // Payloads are bytes: Windows-1252 text or binary data pass through untouched.
    let (frames, err) = decode(
        Direction::FromServer,
        b"MSG bob@example.com Bob 3\r\n\xff\x00\xe9",
    );
    assert_eq!(err, None);
    let cmd = ServerCommand::parse(&frames[0]).unwrap();
    assert_eq!(cmd.to_bytes(), b"MSG bob@example.com Bob 3\r\n\xff\x00\xe9");
    // Raw (unescaped) UTF-8 names, as Escargot sends them, are fine.
    let (frames, err) = decode(
        Direction::FromServer,
        "NLN NLN zoe@example.com Zoë☕ 0\r\n".as_bytes(),
    );
    assert_eq!(err, None);
    assert!(matches!(
        ServerCommand::parse(&frames[0]),
        Ok(ServerCommand::Nln { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Line ends and blanks

#[test]
fn empty_and_blank_lines_are_skipped() {
    let (frames, err) = decode(
        Direction::FromServer,
        b"\r\n\n\r\n   \r\n\t\r\nQNG\r\n\r\n\r\nFLN a@b.c\r\n",
    );
    assert_eq!(err, None);
    assert_eq!(frames, vec![line("QNG"), line("FLN a@b.c")]);
    // Only empty lines: no frame, nothing pending, a clean close.
    let mut d = client();
    d.feed(b"\r\n\r\n\n");
    assert_eq!(d.next_frame(), Ok(None));
    assert_eq!(d.pending(), 0);
    assert_eq!(d.finish(), Ok(()));
}

#[test]
fn lf_only_line_ends_are_accepted() {
    let (frames, err) = decode(
        Direction::FromServer,
        b"VER 1 MSNP7\nMSG Hotmail Hotmail 4\nab\r\nCHL 0 15570131571988941333\n",
    );
    assert_eq!(err, None);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[1].payload.as_deref(), Some(&b"ab\r\n"[..]));
    assert!(matches!(
        ServerCommand::parse(&frames[2]),
        Ok(ServerCommand::Chl { trid: 0, .. })
    ));
    // Re-serialised with the canonical CR LF.
    assert_eq!(
        ServerCommand::parse(&frames[0]).unwrap().to_bytes(),
        b"VER 1 MSNP7\r\n"
    );
    // Mixed: a bare CR inside a line is a blank, not a line end.
    let (frames, _) = decode(Direction::FromServer, b"FLN\ra@b.c\n");
    assert_eq!(frames, vec![line("FLN a@b.c")]);
}

#[test]
fn tabs_and_runs_of_spaces_collapse() {
    let (frames, err) = decode(
        Direction::FromServer,
        b"  NLN \t NLN\t\tbob@example.com   Bob%20B.  268435492 \r\nMSG  a\tb   2 \r\nhi",
    );
    assert_eq!(err, None);
    assert_eq!(frames[0].line, "NLN NLN bob@example.com Bob%20B. 268435492");
    assert_eq!(frames[1].line, "MSG a b 2");
    assert_eq!(frames[1].payload.as_deref(), Some(&b"hi"[..]));
    let nln = ServerCommand::parse(&frames[0]).unwrap();
    assert_eq!(
        nln.to_bytes(),
        b"NLN NLN bob@example.com Bob%20B. 268435492\r\n"
    );
    // The client side too: the payload length is still the last token.
    let (frames, err) = decode(Direction::FromClient, b"MSG\t4  A\t\t3\r\nabc");
    assert_eq!(err, None);
    assert!(matches!(
        ClientCommand::parse(&frames[0]),
        Ok(ClientCommand::Msg { trid: 4, .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Numeric errors

#[test]
fn numeric_errors_with_and_without_trid() {
    let cases: [(&str, u16, Option<u32>); 6] = [
        ("911 4", 911, Some(4)),
        ("217 2", 217, Some(2)),
        ("500", 500, None),
        ("913 0", 913, Some(0)),
        ("999 7", 999, Some(7)),
        ("007 1", 7, Some(1)),
    ];
    for (text, code, trid) in cases {
        let cmd = ServerCommand::parse(&line(text)).unwrap_or_else(|e| panic!("{text}: {e}"));
        match &cmd {
            ServerCommand::Error { error, trid: t } => {
                assert_eq!(error.code(), code, "{text}");
                assert_eq!(*t, trid, "{text}");
            }
            other => panic!("{text}: {other:?}"),
        }
        assert_eq!(cmd.to_bytes(), format!("{text}\r\n").into_bytes());
    }
    // TrID 0 and a missing TrID both mean "not an answer to a command".
    assert_eq!(ServerCommand::parse(&line("913 0")).unwrap().trid(), None);
    assert_eq!(ServerCommand::parse(&line("500")).unwrap().trid(), None);
    assert_eq!(
        ServerCommand::parse(&line("911 4")).unwrap().trid(),
        Some(4)
    );
    assert_eq!(
        ServerCommand::parse(&line("911 4")).unwrap(),
        ServerCommand::Error {
            error: ServerError::AuthenticationFailed,
            trid: Some(4)
        }
    );
    // A non-numeric TrID is a parse error, not a panic; four digits are not an error code.
    assert!(ServerCommand::parse(&line("911 x")).is_err());
    assert!(matches!(
        ServerCommand::parse(&line("9110 4")),
        Ok(ServerCommand::Unknown(_))
    ));
    // Extra parameters after the TrID (later dialects) are accepted and dropped.
    assert_eq!(
        ServerCommand::parse(&line("200 5 extra"))
            .unwrap()
            .to_bytes(),
        b"200 5\r\n"
    );
}
