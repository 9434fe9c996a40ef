//! Fuzz target `commands`: an arbitrary command line (plus payload) → decode → parse →
//! `to_bytes` → decode again → parse, which must give the same command and the same bytes.
//!
//! The first input byte picks the direction; the rest up to the first LF is the line, what
//! follows is offered as payload bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use msnp::proto::codec::{Decoder, Direction, Frame, Limits};
use msnp::proto::command::{ClientCommand, ServerCommand};

fn one_frame(direction: Direction, bytes: &[u8]) -> Option<Frame> {
    let mut d = Decoder::new(direction, Limits::CLIENT);
    d.feed(bytes);
    d.next_frame().ok().flatten()
}

fn exactly_one_frame(direction: Direction, bytes: &[u8]) -> Frame {
    let mut d = Decoder::new(direction, Limits::CLIENT);
    d.feed(bytes);
    let frame = d
        .next_frame()
        .unwrap_or_else(|e| panic!("re-serialised bytes {bytes:?} do not decode: {e}"))
        .unwrap_or_else(|| panic!("re-serialised bytes {bytes:?} are an incomplete frame"));
    assert_eq!(
        d.pending(),
        0,
        "re-serialised bytes {bytes:?} hold more than one frame"
    );
    frame
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let direction = if sel & 1 == 0 {
        Direction::FromServer
    } else {
        Direction::FromClient
    };
    let (line, payload) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut bytes = line.to_vec();
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(payload);
    let Some(frame) = one_frame(direction, &bytes) else {
        return;
    };
    match direction {
        Direction::FromClient => {
            let Ok(cmd) = ClientCommand::parse(&frame) else {
                return;
            };
            let out = cmd.to_bytes();
            let again = ClientCommand::parse(&exactly_one_frame(direction, &out))
                .unwrap_or_else(|e| panic!("{cmd:?} → {out:?} does not parse: {e}"));
            assert_eq!(cmd, again, "{out:?}");
            assert_eq!(out, again.to_bytes(), "serialisation is not stable");
        }
        Direction::FromServer => {
            let Ok(cmd) = ServerCommand::parse(&frame) else {
                return;
            };
            let out = cmd.to_bytes();
            let again = ServerCommand::parse(&exactly_one_frame(direction, &out))
                .unwrap_or_else(|e| panic!("{cmd:?} → {out:?} does not parse: {e}"));
            assert_eq!(cmd, again, "{out:?}");
            assert_eq!(out, again.to_bytes(), "serialisation is not stable");
        }
    }
});
