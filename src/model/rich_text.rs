//! Turns message text from the network into safe Pango markup: every piece of text is escaped,
//! standard MSN emoticon codes become Unicode emoji (drawn by the colour-emoji font), http/https
//! URLs become links, and `X-MMS-IM-Format` becomes a `<span>` built only from validated values.

use std::fmt::Write;

use gtk::glib;
use msnp::proto::payload::TextFormat;

/// Emoticon codes (emoticons.md) and the emoji drawn for them.
pub const EMOTICONS: &[(&str, &str)] = &[
    (":)", "🙂"),
    (":-)", "🙂"),
    (":D", "😃"),
    (":-D", "😃"),
    (";)", "😉"),
    (";-)", "😉"),
    (":(", "🙁"),
    (":-(", "🙁"),
    (":P", "😛"),
    (":-P", "😛"),
    (":O", "😮"),
    (":-O", "😮"),
    (":S", "😕"),
    (":-S", "😕"),
    (":|", "😐"),
    (":-|", "😐"),
    (":'(", "😢"),
    (":$", "😳"),
    (":-$", "😳"),
    (":@", "😠"),
    (":-@", "😠"),
    (":-#", "🤐"),
    ("8o|", "😬"),
    ("8-|", "🤓"),
    ("^o)", "🤨"),
    (":-*", "🤫"),
    ("+o(", "🤢"),
    (":^)", "🤷"),
    ("*-)", "🤔"),
    ("<:o)", "🥳"),
    ("8-)", "🙄"),
    (":[", "🦇"),
    (":-[", "🦇"),
    ("|-)", "😴"),
    ("(H)", "😎"),
    ("(A)", "😇"),
    ("(6)", "😈"),
    ("(L)", "❤️"),
    ("(U)", "💔"),
    ("(K)", "💋"),
    ("(G)", "🎁"),
    ("(F)", "🌹"),
    ("(W)", "🥀"),
    ("(P)", "📷"),
    ("(~)", "🎞️"),
    ("(@)", "🐱"),
    ("(&)", "🐶"),
    ("(T)", "📞"),
    ("(I)", "💡"),
    ("(8)", "🎵"),
    ("(S)", "🌙"),
    ("(*)", "⭐"),
    ("(E)", "✉️"),
    ("(O)", "🕒"),
    ("(M)", "🦋"),
    ("(Y)", "👍"),
    ("(N)", "👎"),
    ("(B)", "🍺"),
    ("(D)", "🍸"),
    ("(X)", "👧"),
    ("(Z)", "👦"),
    ("({)", "🤗"),
    ("(})", "🤗"),
    ("(C)", "☕"),
    ("(^)", "🎂"),
    ("(pi)", "🍕"),
    ("(h5)", "🙌"),
    ("(brb)", "🔙"),
    ("(bah)", "🐑"),
    ("(sn)", "🐌"),
    ("(tu)", "🐢"),
    ("(#)", "☀️"),
    ("('.')", "🐰"),
    ("(R)", "🌈"),
    ("(um)", "☂️"),
    ("(ip)", "🏝️"),
    ("(st)", "🌧️"),
    ("(li)", "⚡"),
    ("(co)", "💻"),
    ("(mp)", "📱"),
    ("(so)", "⚽"),
    ("(au)", "🚗"),
    ("(ap)", "✈️"),
    ("(mo)", "💰"),
    ("(ci)", "🚬"),
    ("(xx)", "🎮"),
    ("(yn)", "🤞"),
];

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text.
    Text(&'a str),
    /// An emoticon code and its emoji.
    Emoticon(&'a str, &'static str),
    /// An http/https URL.
    Link(&'a str),
}

/// Whether `code` matches at the start of `s`: `(S)` only in upper case, other letter codes in
/// either case, symbols exactly.
fn code_matches(s: &str, code: &str) -> bool {
    let Some(head) = s.get(..code.len()) else {
        return false;
    };
    if code == "(S)" {
        head == code
    } else {
        head.eq_ignore_ascii_case(code)
    }
}

/// The emoticon at the start of `s`, longest code first.
fn emoticon_at(s: &str) -> Option<(&'static str, &'static str)> {
    EMOTICONS
        .iter()
        .filter(|(code, _)| code_matches(s, code))
        .max_by_key(|(code, _)| code.len())
        .copied()
}

/// The length of the URL at the start of `s`, if one starts there (http/https only).
fn url_at(s: &str) -> Option<usize> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let mut url = &s[..end];
    // Trailing punctuation belongs to the sentence; a `)` only when it closes nothing inside.
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
        let unbalanced =
            trimmed.ends_with(')') && trimmed.matches(')').count() > trimmed.matches('(').count();
        url = if unbalanced {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if !unbalanced {
            break;
        }
    }
    let scheme = if lower.starts_with("https://") { 8 } else { 7 };
    (url.len() > scheme).then_some(url.len())
}

/// Splits `text` into text, emoticons and links.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let found = if let Some(n) = url_at(rest) {
            Some((n, Segment::Link(&rest[..n])))
        } else {
            emoticon_at(rest)
                .map(|(code, emoji)| (code.len(), Segment::Emoticon(&rest[..code.len()], emoji)))
        };
        match found {
            Some((n, seg)) => {
                if plain_start < i {
                    out.push(Segment::Text(&text[plain_start..i]));
                }
                out.push(seg);
                i += n;
                plain_start = i;
            }
            None => {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    if plain_start < text.len() {
        out.push(Segment::Text(&text[plain_start..]));
    }
    out
}

/// A font family name that is safe and plausible: at most 64 characters of letters, digits,
/// spaces, `-` and `_`. Anything else is refused.
pub fn valid_font_family(name: &str) -> Option<&str> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'));
    ok.then_some(name)
}

/// The opening `<span …>` for `format` (every value validated, then escaped anyway).
pub fn format_span(format: &TextFormat) -> String {
    let mut span = String::from("<span");
    if let Some(family) = valid_font_family(&format.font) {
        let _ = write!(
            span,
            " font_family=\"{}\"",
            glib::markup_escape_text(family)
        );
    }
    if format.bold {
        span.push_str(" weight=\"bold\"");
    }
    if format.italic {
        span.push_str(" style=\"italic\"");
    }
    if format.underline {
        span.push_str(" underline=\"single\"");
    }
    if format.strikethrough {
        span.push_str(" strikethrough=\"true\"");
    }
    let c = format.color;
    let _ = write!(span, " foreground=\"#{:02x}{:02x}{:02x}\">", c.r, c.g, c.b);
    span
}

/// Safe Pango markup for a message: escaped text, emoji for emoticons, links for URLs, wrapped
/// in the sender's formatting when given.
pub fn to_markup(text: &str, format: Option<&TextFormat>) -> String {
    let mut out = String::new();
    if let Some(f) = format {
        out.push_str(&format_span(f));
    }
    for seg in segments(text) {
        match seg {
            Segment::Text(t) => out.push_str(&glib::markup_escape_text(t)),
            Segment::Emoticon(_, emoji) => out.push_str(emoji),
            Segment::Link(url) => {
                let url = glib::markup_escape_text(url);
                let _ = write!(out, "<a href=\"{url}\">{url}</a>");
            }
        }
    }
    if format.is_some() {
        out.push_str("</span>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use msnp::proto::payload::Rgb;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(to_markup("<b>hi</b>", None), "&lt;b&gt;hi&lt;/b&gt;");
        assert_eq!(
            to_markup("<span size='999999'>big</span>", None),
            "&lt;span size=&apos;999999&apos;&gt;big&lt;/span&gt;"
        );
        assert_eq!(to_markup("&amp;", None), "&amp;amp;");
        // The escaped markup parses and shows the original text literally.
        for raw in ["<b>hi</b>", "<span size='999999'>big</span>", "&amp; &lt;"] {
            let (_, shown, _) =
                gtk::pango::parse_markup(&to_markup(raw, None), '\0').expect("valid markup");
            assert_eq!(shown, raw);
        }
    }

    #[test]
    fn emoticons_longest_first() {
        assert_eq!(segments(":-)"), vec![Segment::Emoticon(":-)", "🙂")]);
        assert_eq!(segments("(brb)"), vec![Segment::Emoticon("(brb)", "🔙")]);
        assert_eq!(segments("(Brb)"), vec![Segment::Emoticon("(Brb)", "🔙")]);
        assert_eq!(
            segments("hi :D!"),
            vec![
                Segment::Text("hi "),
                Segment::Emoticon(":D", "😃"),
                Segment::Text("!")
            ]
        );
    }

    #[test]
    fn sleeping_moon_is_upper_case_only() {
        assert_eq!(segments("(S)"), vec![Segment::Emoticon("(S)", "🌙")]);
        assert_eq!(segments("(s)"), vec![Segment::Text("(s)")]);
        assert_eq!(segments(":s"), vec![Segment::Emoticon(":s", "😕")]);
        assert_eq!(segments(":S"), vec![Segment::Emoticon(":S", "😕")]);
        assert_eq!(segments("(y)"), vec![Segment::Emoticon("(y)", "👍")]);
    }

    #[test]
    fn nothing_inside_urls() {
        assert_eq!(
            segments("see http://example.com/:D(Y) now"),
            vec![
                Segment::Text("see "),
                Segment::Link("http://example.com/:D(Y)"),
                Segment::Text(" now")
            ]
        );
        assert_eq!(
            segments("(https://a.example/x:P)."),
            vec![
                Segment::Text("("),
                Segment::Link("https://a.example/x:P"),
                Segment::Text(").")
            ]
        );
        assert_eq!(
            segments("ftp://x.example"),
            vec![Segment::Text("ftp://x.example")]
        );
        assert!(to_markup("go https://x.example/?a=1&b=<2>", None)
            .contains("<a href=\"https://x.example/?a=1&amp;b=&lt;2&gt;\">"));
        assert!(!to_markup("javascript:alert(1) http:// x", None).contains("<a"));
    }

    #[test]
    fn formatting_becomes_validated_span() {
        let f = TextFormat {
            font: "Times New Roman".into(),
            bold: true,
            italic: true,
            underline: true,
            strikethrough: true,
            color: Rgb {
                r: 0xff,
                g: 0,
                b: 0x10,
            },
            ..TextFormat::default()
        };
        assert_eq!(
            format_span(&f),
            "<span font_family=\"Times New Roman\" weight=\"bold\" style=\"italic\" \
             underline=\"single\" strikethrough=\"true\" foreground=\"#ff0010\">"
        );
        let evil = TextFormat {
            font: "x\" size=\"999999".into(),
            ..TextFormat::default()
        };
        assert_eq!(format_span(&evil), "<span foreground=\"#000000\">");
        let (attrs, text, _) =
            gtk::pango::parse_markup(&to_markup("<b>", Some(&f)), '\0').expect("valid");
        assert_eq!(text, "<b>");
        assert!(attrs.attributes().len() >= 5);
    }
}
