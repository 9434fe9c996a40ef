//! Turns protocol examples written in the README.md notation back into bytes, for tests.

/// Reads an example block: the length from its `MSG` line and the payload from its `C|`/`S|`
/// pieces (the one space after `|` is not data; `\r\n` stands for CR LF).
pub(crate) fn example(block: &str) -> (usize, Vec<u8>) {
    let mut length = None;
    let mut payload = Vec::new();
    for line in block.lines().map(str::trim_start) {
        if let Some(command) = line
            .strip_prefix("C: ")
            .or_else(|| line.strip_prefix("S: "))
        {
            assert!(command.starts_with("MSG "), "not an MSG line: {command}");
            length = command.rsplit(' ').next().and_then(|n| n.parse().ok());
        } else if let Some(piece) = line.strip_prefix("C|").or_else(|| line.strip_prefix("S|")) {
            let piece = piece.strip_prefix(' ').unwrap_or(piece);
            payload.extend_from_slice(piece.replace("\\r\\n", "\r\n").as_bytes());
        } else {
            assert!(line.is_empty(), "unexpected line in example: {line}");
        }
    }
    let length = length.expect("example without MSG line");
    assert_eq!(payload.len(), length, "length on the MSG line");
    (length, payload)
}
