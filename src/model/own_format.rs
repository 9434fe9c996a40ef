//! The user's own message format: the font and colour chosen with the chat window's Font and
//! Text colour buttons (kept in the settings as a Pango font description and `#rrggbb`) turned
//! into the `X-MMS-IM-Format` sent with each message and used to show own lines.

use gtk::pango;
use msnp::proto::payload::{Rgb, TextFormat};

/// Parses `#rrggbb` (case-insensitive); `None` for anything else.
pub fn parse_hex_color(value: &str) -> Option<Rgb> {
    let hex = value.trim().strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(Rgb::new(byte(0)?, byte(2)?, byte(4)?))
}

/// `#rrggbb` of a colour given as 0.0–1.0 components (what `gdk::RGBA` holds).
pub fn hex_color(red: f32, green: f32, blue: f32) -> String {
    let c = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(red), c(green), c(blue))
}

/// The format sent with own messages for the chosen font description and colour; `None` when
/// neither is set (messages go without `X-MMS-IM-Format`, as before a choice). The family goes
/// to `FN`, a bold weight and an italic or oblique style to `EF`; the size is not sent (MSN
/// has no size).
pub fn build(font: &str, color: &str) -> Option<TextFormat> {
    let color = parse_hex_color(color);
    let font = font.trim();
    if font.is_empty() && color.is_none() {
        return None;
    }
    let mut format = TextFormat::with_font("");
    if !font.is_empty() {
        let desc = pango::FontDescription::from_string(font);
        if let Some(family) = desc.family() {
            // A description may list fallbacks ("Serif,Sans"): the first is the choice.
            let first = family.split(',').next().unwrap_or_default().trim();
            format.font = first.to_string();
        }
        format.bold = desc.weight() >= pango::Weight::Bold;
        format.italic = matches!(desc.style(), pango::Style::Italic | pango::Style::Oblique);
    }
    if let Some(color) = color {
        format.color = color;
    }
    Some(format)
}

/// CSS for the message input (class `own-format`) showing `format`; empty for none. The font
/// name keeps only letters, digits, spaces, `-` and `_`, so it cannot break out of the string.
pub fn input_css(format: Option<&TextFormat>) -> String {
    let Some(f) = format else {
        return String::new();
    };
    let mut rules = Vec::new();
    let family: String = f
        .font
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .collect();
    if !family.trim().is_empty() {
        rules.push(format!("font-family: \"{}\";", family.trim()));
    }
    rules.push(format!(
        "font-weight: {};",
        if f.bold { "bold" } else { "normal" }
    ));
    rules.push(format!(
        "font-style: {};",
        if f.italic { "italic" } else { "normal" }
    ));
    let c = f.color;
    rules.push(format!("color: #{:02x}{:02x}{:02x};", c.r, c.g, c.b));
    // The text view takes its font from its own node, the colour from the `text` node.
    format!(
        "textview.own-format, textview.own-format text {{ {} }}",
        rules.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_print() {
        assert_eq!(parse_hex_color("#1C71d8"), Some(Rgb::new(0x1c, 0x71, 0xd8)));
        assert_eq!(parse_hex_color("1c71d8"), None);
        assert_eq!(parse_hex_color("#1c71d"), None);
        assert_eq!(parse_hex_color("#1c71dg"), None);
        assert_eq!(hex_color(0.0, 0.5, 1.0), "#0080ff");
        assert_eq!(hex_color(-1.0, 2.0, 0.2), "#00ff33");
    }

    #[test]
    fn the_input_shows_the_format_and_the_css_stays_closed() {
        assert_eq!(input_css(None), "");
        let f = build("DejaVu Serif Bold 11", "#c01c28").unwrap();
        assert_eq!(
            input_css(Some(&f)),
            "textview.own-format, textview.own-format text { font-family: \"DejaVu Serif\"; font-weight: bold; \
             font-style: normal; color: #c01c28; }"
        );
        let mut evil = TextFormat::with_font("x\"; } * { color: red; /*");
        evil.italic = true;
        let css = input_css(Some(&evil));
        assert_eq!(css.matches('{').count(), 1, "{css}");
        assert!(css.contains("font-family: \"x    color red\";"), "{css}");
        assert!(css.contains("font-style: italic;"));
    }

    #[test]
    fn nothing_chosen_sends_no_format() {
        assert_eq!(build("", ""), None);
        assert_eq!(build("  ", "not a colour"), None);
    }

    #[test]
    fn the_chosen_font_and_colour_become_the_header() {
        let f = build("DejaVu Serif Bold Italic 12", "#1c71d8").unwrap();
        assert_eq!(f.font, "DejaVu Serif");
        assert!(f.bold && f.italic && !f.underline && !f.strikethrough);
        assert_eq!(f.color, Rgb::new(0x1c, 0x71, 0xd8));
        // Wire order is BGR.
        assert_eq!(
            f.to_header_value(),
            "FN=DejaVu%20Serif; EF=BI; CO=d8711c; CS=0; PF=22"
        );
        // And it reads back the same.
        assert_eq!(TextFormat::parse(&f.to_header_value()), f);
        let plain = build("Cantarell 11", "").unwrap();
        assert_eq!(
            plain.to_header_value(),
            "FN=Cantarell; EF=; CO=0; CS=0; PF=22"
        );
        let colour_only = build("", "#ff0000").unwrap();
        assert_eq!(colour_only.font, "");
        assert_eq!(colour_only.color, Rgb::new(255, 0, 0));
    }
}
