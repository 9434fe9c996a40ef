//! File names received from peers (msnftp.md §5.1): decoding, the nine cleaning steps that turn an
//! offered `Application-File` into a safe name for the download folder, and "name (n).ext"
//! candidates for never overwriting an existing file.

use unicode_normalization::UnicodeNormalization;

/// Longest cleaned name, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// Longest extension (the last `.` and what follows) kept when a name is shortened.
pub const MAX_EXTENSION_BYTES: usize = 16;
/// The name used when nothing is left after cleaning.
pub const FALLBACK_NAME: &str = "received-file";

/// Windows-1252 characters for the bytes 0x80–0x9F (undefined bytes map to the C1 control of
/// the same number, which cleaning then removes).
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}', '\u{178}',
];

/// Extensions that get a warning before saving (msnftp.md §5.1), lower case, without the dot.
const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe", "scr", "bat", "cmd", "com", "pif", "lnk", "vbs", "js", "jar", "msi", "desktop", "sh",
    "appimage",
];

/// Reserved Windows device names (compared case-insensitively with the part before the first `.`).
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Decodes an offered name: UTF-8 if valid, otherwise Windows-1252 (step 1). Never URL-decodes.
pub fn decode_file_name(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| match b {
                0x80..=0x9F => CP1252_HIGH
                    .get(usize::from(b - 0x80))
                    .copied()
                    .unwrap_or('\u{FFFD}'),
                _ => char::from(b),
            })
            .collect(),
    }
}

/// [`decode_file_name`] followed by [`sanitize_file_name`].
pub fn sanitize_file_name_bytes(bytes: &[u8]) -> String {
    sanitize_file_name(&decode_file_name(bytes))
}

/// Control and invisible formatting characters removed in step 3.
fn is_removed(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1F}'
        | '\u{7F}'..='\u{9F}'
        | '\u{61C}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}')
}

/// Cleans a name offered by a peer so it can be used as a file name in the download folder:
/// no folders, drive letters or streams, no control or bidi characters, Unicode NFC, no `<>"|?*`, no leading dot, no trailing dots or spaces,
/// no Windows device names, at most [`MAX_NAME_BYTES`] bytes, never empty.
pub fn sanitize_file_name(name: &str) -> String {
    // Step 2: the last path component, then what follows the last ':'.
    let unified = name.replace('\\', "/");
    let base = unified.rsplit('/').next().unwrap_or("");
    let base = base.rsplit(':').next().unwrap_or("");
    // Step 3: control and invisible characters.
    let visible: String = base.chars().filter(|&c| !is_removed(c)).collect();
    // Step 4: NFC.
    let composed: String = visible.nfc().collect();
    // Step 5: characters Windows forbids.
    let replaced: String = composed
        .chars()
        .map(|c| match c {
            '<' | '>' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    // Step 6: trailing spaces and dots, leading spaces, a leading dot.
    let mut name = trim_name(&replaced).to_owned();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    // Step 7: never empty.
    if name.is_empty() {
        return FALLBACK_NAME.to_owned();
    }
    // Step 8: device names.
    let first_part = name.split('.').next().unwrap_or("");
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(first_part)) {
        name.insert(0, '_');
    }
    // Step 9: length.
    shorten(&name)
}

fn trim_name(s: &str) -> &str {
    s.trim_end_matches([' ', '.']).trim_start_matches(' ')
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix_at_boundary(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    if let Some(dot) = name.rfind('.').filter(|&d| d > 0) {
        let (stem, ext) = name.split_at(dot);
        if ext.len() <= MAX_EXTENSION_BYTES {
            let stem = prefix_at_boundary(stem, MAX_NAME_BYTES - ext.len());
            return format!("{stem}{ext}");
        }
    }
    let cut = trim_name(prefix_at_boundary(name, MAX_NAME_BYTES));
    if cut.is_empty() {
        FALLBACK_NAME.to_owned()
    } else {
        cut.to_owned()
    }
}

/// Splits a name into stem and extension (the last `.` and what follows; empty without a `.`).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.').filter(|&d| d > 0) {
        Some(dot) => name.split_at(dot),
        None => (name, ""),
    }
}

/// The `n`-th candidate for saving `name` without overwriting: `n == 0` gives `name` itself,
/// then `stem (1).ext`, `stem (2).ext`, … Try them in order with an exclusive create.
pub fn unique_path_candidate(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let (stem, ext) = split_extension(name);
    format!("{stem} ({n}){ext}")
}

/// Whether the user should be warned before saving this name (executable extension, §5.1).
pub fn is_executable_name(name: &str) -> bool {
    let (_, ext) = split_extension(name);
    let ext = ext.strip_prefix('.').unwrap_or("");
    EXECUTABLE_EXTENSIONS
        .iter()
        .any(|e| e.eq_ignore_ascii_case(ext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_vectors_section_7_6() {
        let x300 = format!("{}.txt", "x".repeat(300));
        let x196 = format!("{}.txt", "x".repeat(196));
        let cases: &[(&str, &str)] = &[
            ("report.txt", "report.txt"),
            ("..\\..\\Windows\\win.ini", "win.ini"),
            ("/etc/passwd", "passwd"),
            ("C:evil.txt", "evil.txt"),
            ("CON.txt", "_CON.txt"),
            ("COM1.tar.gz", "_COM1.tar.gz"),
            ("photo\u{202E}gpj.exe", "photogpj.exe"),
            ("line\nbreak.txt", "linebreak.txt"),
            (".bashrc", "_bashrc"),
            ("..", "received-file"),
            (".", "received-file"),
            ("...", "received-file"),
            ("   ", "received-file"),
            ("a<b>.txt", "a_b_.txt"),
            ("report.txt. . ", "report.txt"),
            ("Zu\u{308}rich.jpg", "Zürich.jpg"),
            (&x300, &x196),
        ];
        for (offered, saved) in cases {
            assert_eq!(&sanitize_file_name(offered), saved, "{offered:?}");
        }
        assert_eq!(sanitize_file_name("Zu\u{308}rich.jpg").len(), 11);
        assert_eq!(x196.len(), 200);
        assert_eq!(
            sanitize_file_name_bytes(&[0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]),
            "café.txt"
        );
        assert_eq!(unique_path_candidate("report.txt", 1), "report (1).txt");
        assert_eq!(unique_path_candidate("report.txt", 2), "report (2).txt");
    }

    #[test]
    fn hostile_names() {
        let cases: &[(&str, &str)] = &[
            ("", "received-file"),
            ("/", "received-file"),
            ("\\\\server\\share\\", "received-file"),
            ("../../../../etc/shadow", "shadow"),
            ("..\\../..", "received-file"),
            ("dir/..", "received-file"),
            ("file.txt:Zone.Identifier", "Zone.Identifier"),
            ("\u{0}\u{1}\u{1F}\u{7F}", "received-file"),
            ("a\u{0}b.txt", "ab.txt"),
            ("\u{FEFF}\u{200B}.hidden", "_hidden"),
            ("\u{2066}evil\u{2069}.pdf", "evil.pdf"),
            ("nul", "_nul"),
            ("Lpt9.log", "_Lpt9.log"),
            ("COM10.txt", "COM10.txt"),
            ("console.txt", "console.txt"),
            ("  spaced name  ", "spaced name"),
            ("what?*.txt", "what__.txt"),
            ("50% off.txt", "50% off.txt"),
            ("%2e%2e%2fetc", "%2e%2e%2fetc"),
            ("\"quoted\"|pipe", "_quoted__pipe"),
            ("Grüße aus Zürich.jpg", "Grüße aus Zürich.jpg"),
        ];
        for (offered, saved) in cases {
            assert_eq!(&sanitize_file_name(offered), saved, "{offered:?}");
        }
    }

    #[test]
    fn long_names() {
        // Multi-byte characters are cut on a boundary.
        let name = format!("{}.jpg", "ü".repeat(150));
        let s = sanitize_file_name(&name);
        assert!(s.len() <= MAX_NAME_BYTES);
        assert!(s.ends_with(".jpg"));
        assert_eq!(s.len(), 196 + 4);
        // A long extension is not kept.
        let name = format!("{}.{}", "a".repeat(250), "e".repeat(40));
        let s = sanitize_file_name(&name);
        assert_eq!(s.len(), MAX_NAME_BYTES);
        assert!(s.starts_with("aaaa"));
        // No extension at all.
        assert_eq!(sanitize_file_name(&"z".repeat(1000)), "z".repeat(200));
    }

    #[test]
    fn names_are_composed_to_nfc() {
        for (offered, saved) in [
            ("Zu\u{308}rich", "Zürich"),
            ("e\u{301}te\u{301}.txt", "été.txt"),
            // a + dot below + circumflex: canonical reordering, then U+1EAD.
            ("a\u{302}\u{323}", "\u{1EAD}"),
            // Hangul L + V + T.
            ("\u{1100}\u{1161}\u{11A8}", "\u{AC01}"),
            ("\u{415}\u{308}", "\u{401}"),
            // Kana voicing mark, outside the old hand-written table.
            ("\u{304B}\u{3099}", "\u{304C}"),
            ("\u{301}x", "\u{301}x"),
            ("x\u{301}", "x\u{301}"),
        ] {
            assert_eq!(sanitize_file_name(offered), saved, "{offered:?}");
        }
    }

    #[test]
    fn candidates() {
        assert_eq!(unique_path_candidate("report.txt", 0), "report.txt");
        assert_eq!(unique_path_candidate("README", 3), "README (3)");
        assert_eq!(unique_path_candidate("a.tar.gz", 1), "a.tar (1).gz");
    }

    #[test]
    fn executable_names() {
        assert!(is_executable_name("setup.EXE"));
        assert!(is_executable_name("run.AppImage"));
        assert!(!is_executable_name("photo.jpg"));
        assert!(!is_executable_name("exe"));
    }

    #[test]
    fn windows_1252_decoding() {
        assert_eq!(
            decode_file_name(b"\x80 \x93q\x94 \x81"),
            "\u{20AC} \u{201C}q\u{201D} \u{81}"
        );
        assert_eq!(
            sanitize_file_name_bytes(b"\x93q\x94\x81.txt"),
            "\u{201C}q\u{201D}.txt"
        );
        assert_eq!(decode_file_name("ü".as_bytes()), "ü");
    }

    proptest! {
        #[test]
        fn cleaned_names_are_always_safe(name in any::<String>()) {
            let s = sanitize_file_name(&name);
            prop_assert!(!s.is_empty());
            prop_assert!(s.len() <= MAX_NAME_BYTES);
            prop_assert!(!s.contains(['/', '\\', ':', '<', '>', '"', '|', '?', '*']));
            prop_assert!(!s.starts_with('.') && !s.starts_with(' '));
            prop_assert!(!s.ends_with('.') && !s.ends_with(' '));
            prop_assert!(!s.chars().any(is_removed));
            prop_assert_eq!(sanitize_file_name(&s), s.clone());
        }

        #[test]
        fn byte_names_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let s = sanitize_file_name_bytes(&bytes);
            prop_assert!(!s.is_empty() && s.len() <= MAX_NAME_BYTES);
        }
    }
}
