//! Fuzz target `codec`: arbitrary bytes, split at arbitrary points, through `Decoder` in both
//! directions; every frame is parsed by both command parsers and re-serialised.
//!
//! Oracles: no panic; the split decode yields exactly the frames (and the error) of a one-shot
//! decode; a command parsed in its own direction re-serialises to bytes that decode to one frame
//! and parse back to the same command.

#![no_main]

use libfuzzer_sys::fuzz_target;
use msnp::proto::codec::{CodecError, Decoder, Direction, Frame, Limits};
use msnp::proto::command::{ClientCommand, ServerCommand};

/// Small limits too, so the fuzzer reaches the limit paths with short inputs.
const SMALL: Limits = Limits {
    max_line: 64,
    max_payload: 32,
};

/// Decodes `bytes` fed in pieces whose sizes come from `seed`; stops at the first error.
fn decode(
    direction: Direction,
    limits: Limits,
    bytes: &[u8],
    seed: &[u8],
) -> (Vec<Frame>, Option<CodecError>) {
    let mut d = Decoder::new(direction, limits);
    let mut frames = Vec::new();
    let mut sizes = seed.iter().cycle();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = if seed.is_empty() {
            rest.len()
        } else {
            (*sizes.next().unwrap_or(&0) as usize % 17).clamp(1, rest.len())
        };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        d.feed(chunk);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => {
                    // A failed decoder stays failed.
                    assert_eq!(d.next_frame(), Err(e.clone()));
                    return (frames, Some(e));
                }
            }
        }
    }
    if seed.is_empty() {
        // One-shot: also exercise `finish` and `take_remaining`.
        let _ = d.finish();
        let _ = d.take_remaining();
    }
    (frames, None)
}

/// A command parsed from `frame` in its own direction re-serialises to exactly one frame that
/// parses back to the same command.
fn round_trip<C: PartialEq + std::fmt::Debug, E: std::fmt::Display>(
    frame: &Frame,
    direction: Direction,
    parse: impl Fn(&Frame) -> Result<C, E>,
    to_bytes: impl Fn(&C) -> Vec<u8>,
) {
    let Ok(cmd) = parse(frame) else {
        return;
    };
    let bytes = to_bytes(&cmd);
    let mut d = Decoder::new(direction, Limits::CLIENT);
    d.feed(&bytes);
    let again = d
        .next_frame()
        .unwrap_or_else(|e| panic!("{cmd:?} re-serialised to undecodable {bytes:?}: {e}"))
        .unwrap_or_else(|| panic!("{cmd:?} re-serialised to an incomplete frame {bytes:?}"));
    assert_eq!(
        d.pending(),
        0,
        "{cmd:?} re-serialised to more than one frame"
    );
    let cmd2 = parse(&again)
        .unwrap_or_else(|e| panic!("{cmd:?} re-serialised to unparsable {bytes:?}: {e}"));
    assert_eq!(
        cmd, cmd2,
        "{direction:?} command changed on a round trip via {bytes:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    // First byte: how many following bytes drive the split sizes.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize % 9).min(rest.len());
    let (seed, bytes) = rest.split_at(n);
    for direction in [Direction::FromServer, Direction::FromClient] {
        for limits in [Limits::CLIENT, Limits::SB_SERVER, SMALL] {
            let whole = decode(direction, limits, bytes, &[]);
            let split = decode(direction, limits, bytes, seed);
            // Splitting may stop earlier only by running out of input, never differ.
            assert_eq!(whole.0, split.0, "frames differ when split");
            assert_eq!(whole.1, split.1, "errors differ when split");
            for frame in &whole.0 {
                // Both parsers must cope with anything; only the frame's own direction must
                // round-trip.
                let _ = ClientCommand::parse(frame).map(|c| c.to_bytes());
                let _ = ServerCommand::parse(frame).map(|c| c.to_bytes());
                match direction {
                    Direction::FromClient => round_trip(
                        frame,
                        direction,
                        ClientCommand::parse,
                        ClientCommand::to_bytes,
                    ),
                    Direction::FromServer => round_trip(
                        frame,
                        direction,
                        ServerCommand::parse,
                        ServerCommand::to_bytes,
                    ),
                }
            }
        }
    }
});
