//! The `X-MMS-IM-Format` header of text messages: font, effects, colour, charset hint, pitch and
//! family, direction (messages.md §4).

use crate::proto::names::url_decode;
use std::fmt::Write as _;

/// Longest font name kept from the network, in characters.
pub const MAX_FONT_NAME_CHARS: usize = 64;

/// A text colour as red, green and blue (sent on the wire as BGR hexadecimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rgb {
    /// Red, 0–255.
    pub r: u8,
    /// Green, 0–255.
    pub g: u8,
    /// Blue, 0–255.
    pub b: u8,
}

impl Rgb {
    /// Builds a colour from its components.
    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Rgb { r, g, b }
    }

    /// The wire value `0xBBGGRR`.
    pub fn to_bgr(self) -> u32 {
        u32::from(self.b) << 16 | u32::from(self.g) << 8 | u32::from(self.r)
    }

    /// Reads a wire value `0xBBGGRR` (bits above 24 are ignored).
    pub fn from_bgr(bgr: u32) -> Self {
        let [r, g, b, _] = bgr.to_le_bytes();
        Rgb { r, g, b }
    }

    /// Parses a `CO` value: 1–6 hexadecimal digits, BGR order; `None` if invalid.
    pub fn parse_co(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.is_empty() || value.len() > 6 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(value, 16).ok().map(Rgb::from_bgr)
    }
}

/// The formatting of one text message (`X-MMS-IM-Format`). `Default` is what a receiver assumes
/// for missing parameters: no font name, no effects, black, ANSI charset, pitch/family 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TextFormat {
    /// Font family hint (decoded); empty when not given. Never interpret it as markup.
    pub font: String,
    /// `EF` contains `B`.
    pub bold: bool,
    /// `EF` contains `I`.
    pub italic: bool,
    /// `EF` contains `U`.
    pub underline: bool,
    /// `EF` contains `S`.
    pub strikethrough: bool,
    /// Text colour (`CO`).
    pub color: Rgb,
    /// Windows font charset hint (`CS`), e.g. 0 ANSI, 0x80 Shift-JIS.
    pub charset: u8,
    /// Pitch and family (`PF`): family in the high nibble, pitch in the low one (0x22 = swiss,
    /// variable pitch).
    pub pitch_family: u8,
    /// `RL=1`: right-to-left text.
    pub right_to_left: bool,
}

impl TextFormat {
    /// A format with the given font and the usual sans-serif, variable-pitch `PF=22`.
    pub fn with_font(font: impl Into<String>) -> Self {
        TextFormat {
            font: font.into(),
            pitch_family: 0x22,
            ..TextFormat::default()
        }
    }

    /// Parses a header value; never fails. Parameters may come in any order with names in any
    /// case; unknown ones are ignored and invalid ones leave their default.
    pub fn parse(value: &str) -> TextFormat {
        let mut format = TextFormat::default();
        for part in value.split(';') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_uppercase().as_str() {
                "FN" => format.font = clean_font_name(&url_decode(value)),
                "EF" => {
                    format.bold = false;
                    format.italic = false;
                    format.underline = false;
                    format.strikethrough = false;
                    for c in value.chars() {
                        match c.to_ascii_uppercase() {
                            'B' => format.bold = true,
                            'I' => format.italic = true,
                            'U' => format.underline = true,
                            'S' => format.strikethrough = true,
                            _ => {}
                        }
                    }
                }
                "CO" => format.color = Rgb::parse_co(value).unwrap_or_default(),
                "CS" => format.charset = parse_hex_u8(value).unwrap_or(0),
                "PF" => format.pitch_family = parse_hex_u8(value).unwrap_or(0),
                "RL" => format.right_to_left = value == "1",
                _ => {}
            }
        }
        format
    }

    /// The header value, parameters in the order `FN`, `EF`, `CO`, `CS`, `PF`, then `RL` when
    /// set (e.g. `FN=Arial; EF=I; CO=0; CS=0; PF=22`). `CO` and `CS` are lower-case hexadecimal
    /// without leading zeros, `PF` two hexadecimal digits. The font name is capped at
    /// [`MAX_FONT_NAME_CHARS`] and only the necessary bytes are encoded ([`encode_font_name`]).
    pub fn to_header_value(&self) -> String {
        let mut effects = String::new();
        for (on, letter) in [
            (self.bold, 'B'),
            (self.italic, 'I'),
            (self.underline, 'U'),
            (self.strikethrough, 'S'),
        ] {
            if on {
                effects.push(letter);
            }
        }
        let mut out = format!(
            "FN={}; EF={}; CO={:x}; CS={:x}; PF={:02x}",
            encode_font_name(&clean_font_name(&self.font)),
            effects,
            self.color.to_bgr(),
            self.charset,
            self.pitch_family
        );
        if self.right_to_left {
            out.push_str("; RL=1");
        }
        out
    }
}

/// Drops control characters and caps the name at [`MAX_FONT_NAME_CHARS`] characters.
fn clean_font_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FONT_NAME_CHARS)
        .collect()
}

/// Parses one or two hexadecimal digits.
fn parse_hex_u8(value: &str) -> Option<u8> {
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(value, 16).ok()
}

/// Encodes a font name for `FN`: only what must be encoded becomes `%XX` — space, `%`, `;`
/// (the parameter separator), control bytes and non-ASCII bytes. Letters and digits are never
/// encoded (the official client misreads them).
pub fn encode_font_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_graphic() && b != b'%' && b != b';' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_examples() {
        let f = TextFormat::parse("FN=Arial; EF=I; CO=0; CS=0; PF=22");
        assert_eq!(f.font, "Arial");
        assert!(f.italic && !f.bold && !f.underline && !f.strikethrough);
        assert_eq!(f.color, Rgb::new(0, 0, 0));
        assert_eq!(
            (f.charset, f.pitch_family, f.right_to_left),
            (0, 0x22, false)
        );

        let f = TextFormat::parse("FN=Times%20New%20Roman; EF=BU; CO=ff; CS=0; PF=12; RL=1");
        assert_eq!(f.font, "Times New Roman");
        assert!(f.bold && f.underline && !f.italic && !f.strikethrough);
        assert_eq!(f.color, Rgb::new(255, 0, 0));
        assert_eq!(f.pitch_family, 0x12);
        assert!(f.right_to_left);

        let f = TextFormat::parse("FN=Segoe%20UI; EF=; CO=0; CS=0; PF=22");
        assert_eq!(f.font, "Segoe UI");
        assert!(!f.bold && !f.italic);
    }

    #[test]
    fn round_trips_every_example_byte_exact() {
        for value in [
            "FN=Arial; EF=I; CO=0; CS=0; PF=22",
            "FN=Segoe%20UI; EF=; CO=0; CS=0; PF=22",
            "FN=Times%20New%20Roman; EF=BU; CO=ff; CS=0; PF=12; RL=1",
            "FN=MS%20Sans%20Serif; EF=; CO=0; CS=0; PF=22",
            "FN=Arial; EF=; CO=0; CS=0; PF=22",
            "FN=Segoe%20UI; EF=B; CO=ff0000; CS=0; PF=22",
        ] {
            assert_eq!(TextFormat::parse(value).to_header_value(), value);
        }
    }

    #[test]
    fn colours_are_bgr() {
        for (co, rgb) in [
            ("0", Rgb::new(0, 0, 0)),
            ("ff", Rgb::new(255, 0, 0)),
            ("ff00", Rgb::new(0, 255, 0)),
            ("ff0000", Rgb::new(0, 0, 255)),
            ("808080", Rgb::new(128, 128, 128)),
            ("8000", Rgb::new(0, 128, 0)),
            ("FF", Rgb::new(255, 0, 0)),
            ("123456", Rgb::new(0x56, 0x34, 0x12)),
        ] {
            assert_eq!(Rgb::parse_co(co), Some(rgb), "{co}");
            let f = TextFormat {
                color: rgb,
                ..TextFormat::default()
            };
            assert!(f
                .to_header_value()
                .contains(&format!("CO={}", co.to_ascii_lowercase())));
        }
    }

    #[test]
    fn invalid_colour_is_default() {
        for co in ["", "1234567", "xyz", "-1", "+ff", "0x12", "ff ff"] {
            assert_eq!(Rgb::parse_co(co), None, "{co:?}");
            let f = TextFormat::parse(&format!("FN=Arial; CO={co}; PF=22"));
            assert_eq!(f.color, Rgb::default());
            assert_eq!(f.pitch_family, 0x22);
        }
    }

    #[test]
    fn any_order_any_case_unknown_ignored() {
        let f = TextFormat::parse("pf=31 ;co=FF00;  x-new=7; ef=sbq ; fn=Courier%20New;cs=80;rl=1");
        assert_eq!(f.font, "Courier New");
        assert!(f.bold && f.strikethrough && !f.italic && !f.underline);
        assert_eq!(f.color, Rgb::new(0, 255, 0));
        assert_eq!(
            (f.charset, f.pitch_family, f.right_to_left),
            (0x80, 0x31, true)
        );
        assert_eq!(
            f.to_header_value(),
            "FN=Courier%20New; EF=BS; CO=ff00; CS=80; PF=31; RL=1"
        );
    }

    #[test]
    fn missing_and_garbage_give_defaults() {
        assert_eq!(TextFormat::parse(""), TextFormat::default());
        assert_eq!(TextFormat::parse(";;;=;==;FN"), TextFormat::default());
        let f = TextFormat::parse("CS=zz; PF=123; RL=yes");
        assert_eq!((f.charset, f.pitch_family, f.right_to_left), (0, 0, false));
    }

    #[test]
    fn font_name_is_capped_and_cleaned() {
        let long = "A".repeat(200);
        assert_eq!(TextFormat::parse(&format!("FN={long}")).font.len(), 64);
        assert_eq!(TextFormat::parse("FN=a%0Db%00c").font, "abc");
        assert_eq!(
            TextFormat::parse("FN=%E3%83%A1%E3%82%A4%E3%83%AA%E3%82%AA").font,
            "メイリオ"
        );
    }

    #[test]
    fn font_name_encoding_is_minimal() {
        assert_eq!(encode_font_name("MS Sans Serif"), "MS%20Sans%20Serif");
        assert_eq!(encode_font_name("A1-b_(c)"), "A1-b_(c)");
        assert_eq!(encode_font_name("100%;x"), "100%25%3Bx");
        assert_eq!(encode_font_name("é"), "%C3%A9");
        for name in ["a b", "100%", "x;y", "Zoë", "メイリオ"] {
            let f = TextFormat::with_font(name);
            assert_eq!(TextFormat::parse(&f.to_header_value()), f);
        }
    }

    proptest::proptest! {
        #[test]
        fn header_value_round_trips(
            font in "\\PC{0,80}",
            effects in proptest::prelude::any::<[bool; 5]>(),
            bgr in 0u32..0x100_0000,
            charset in proptest::prelude::any::<u8>(),
            pitch_family in proptest::prelude::any::<u8>(),
        ) {
            let [bold, italic, underline, strikethrough, right_to_left] = effects;
            let format = TextFormat {
                font: clean_font_name(font.trim()),
                bold,
                italic,
                underline,
                strikethrough,
                color: Rgb::from_bgr(bgr),
                charset,
                pitch_family,
                right_to_left,
            };
            let value = format.to_header_value();
            proptest::prop_assert!(value.is_ascii());
            proptest::prop_assert!(value.starts_with("FN="));
            proptest::prop_assert_eq!(TextFormat::parse(&value), format);
        }
    }
}
