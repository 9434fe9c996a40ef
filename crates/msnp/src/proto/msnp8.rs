//! What MSNP8 adds to the MSNP7 model (msnp8.md): the dialect choice and negotiation, the `CVR`
//! client-version report, client capabilities, and the list bit mask of MSNP8 `LST` lines.

use std::fmt;

use super::command::List;

/// A protocol dialect this crate speaks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Dialect {
    /// MSNP7 (MSN Messenger 4.x): `INF`, MD5 sign-in, MSNP7 `SYN` lines.
    Msnp7,
    /// MSNP8 (MSN Messenger 5.0): `CVR`, Tweener (Passport 1.4) sign-in, MSNP8 `SYN` lines,
    /// client capabilities.
    Msnp8,
}

impl Dialect {
    /// The token in `VER` (`MSNP7`, `MSNP8`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Msnp7 => "MSNP7",
            Dialect::Msnp8 => "MSNP8",
        }
    }

    /// Parses a `VER` token (case-insensitive, as Escargot accepts).
    pub fn from_token(token: &str) -> Option<Dialect> {
        if token.eq_ignore_ascii_case("MSNP7") {
            Some(Dialect::Msnp7)
        } else if token.eq_ignore_ascii_case("MSNP8") {
            Some(Dialect::Msnp8)
        } else {
            None
        }
    }

    /// The dialect a `VER` reply chose: the highest one in the reply that was offered
    /// (notification.md §1.2, msnp8.md §1.2). `None` when the reply names none of them
    /// (`VER tr 0`).
    pub fn chosen(reply: &[String], offered: &[Dialect]) -> Option<Dialect> {
        reply
            .iter()
            .filter_map(|t| Dialect::from_token(t))
            .filter(|d| offered.contains(d))
            .max()
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which dialects a client offers (the "protocol version" setting of the app).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum ProtocolChoice {
    /// `VER 1 MSNP8 MSNP7 CVR0`: the server picks, the client follows.
    #[default]
    Auto,
    /// `VER 1 MSNP8 CVR0` only.
    Msnp8Only,
    /// `VER 1 MSNP7 CVR0` only (the MSNP7 client of before).
    Msnp7Only,
}

impl ProtocolChoice {
    /// The dialects offered, highest first.
    pub fn dialects(self) -> &'static [Dialect] {
        match self {
            ProtocolChoice::Auto => &[Dialect::Msnp8, Dialect::Msnp7],
            ProtocolChoice::Msnp8Only => &[Dialect::Msnp8],
            ProtocolChoice::Msnp7Only => &[Dialect::Msnp7],
        }
    }

    /// The `VER` parameters: the dialects, highest first, then `CVR0`.
    pub fn ver_tokens(self) -> Vec<String> {
        let mut v: Vec<String> = self.dialects().iter().map(|d| d.to_string()).collect();
        v.push("CVR0".into());
        v
    }

    /// Parses a command-line or settings value: `auto`, `MSNP7`, `MSNP8` (any case).
    pub fn parse(text: &str) -> Option<ProtocolChoice> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Some(ProtocolChoice::Auto),
            "msnp8" | "8" => Some(ProtocolChoice::Msnp8Only),
            "msnp7" | "7" => Some(ProtocolChoice::Msnp7Only),
            _ => None,
        }
    }
}

impl fmt::Display for ProtocolChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolChoice::Auto => "auto",
            ProtocolChoice::Msnp8Only => "MSNP8",
            ProtocolChoice::Msnp7Only => "MSNP7",
        })
    }
}

/// `CVR` locale id sent when nothing better is known: English (US) (msnp8.md §2.1).
pub const CVR_DEFAULT_LOCALE: &str = "0x0409";
/// `CVR` operating-system type.
pub const CVR_OS_TYPE: &str = "winnt";
/// `CVR` operating-system version (Windows XP).
pub const CVR_OS_VERSION: &str = "5.1";
/// `CVR` processor architecture.
pub const CVR_CPU: &str = "i386";
/// `CVR` client name of MSN Messenger 5.0 and later.
pub const CVR_CLIENT_NAME: &str = "MSNMSGR";
/// `CVR` client version of MSN Messenger 5.0, the official client of MSNP8.
pub const CVR_CLIENT_VERSION: &str = "5.0.0544";
/// `CVR` constant seventh parameter.
pub const CVR_MSMSGS: &str = "MSMSGS";

/// The eight `CVR` parameters of msnp8.md §2.1 for `account`: locale, OS, version, CPU, client
/// name and version, `MSMSGS`, account. `locale` must be `0x` and four hex digits; anything else
/// falls back to [`CVR_DEFAULT_LOCALE`].
pub fn cvr_fields(locale: &str, account: &str) -> Vec<String> {
    let locale_ok = locale.len() == 6
        && locale.starts_with("0x")
        && locale.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
    let locale = if locale_ok {
        locale
    } else {
        CVR_DEFAULT_LOCALE
    };
    [
        locale,
        CVR_OS_TYPE,
        CVR_OS_VERSION,
        CVR_CPU,
        CVR_CLIENT_NAME,
        CVR_CLIENT_VERSION,
        CVR_MSMSGS,
        account,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The client-capabilities number of `CHG`, `ILN` and `NLN` (msnp8.md §5.2), as unsigned 32 bits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Capabilities(pub u32);

impl Capabilities {
    /// What this client sends: `0` — no MSNC bits, so MSN 6+ clients fall back to what MSNP7/8
    /// clients understand (msnp8.md §5.3).
    pub const OWN: Capabilities = Capabilities(0);
    /// Runs on a mobile device.
    pub const MOBILE: u32 = 0x0000_0001;
    /// MSN Explorer 8.
    pub const MSN_EXPLORER: u32 = 0x0000_0002;
    /// Displays ink as GIF.
    pub const INK_GIF: u32 = 0x0000_0004;
    /// Ink in ISF.
    pub const INK_ISF: u32 = 0x0000_0008;
    /// Has a webcam.
    pub const WEBCAM: u32 = 0x0000_0010;
    /// Accepts chunked messages.
    pub const CHUNKING: u32 = 0x0000_0020;
    /// Reachable through MSN Mobile.
    pub const MSN_MOBILE: u32 = 0x0000_0040;
    /// Reachable through MSN Direct.
    pub const MSN_DIRECT: u32 = 0x0000_0080;
    /// Web-based client.
    pub const WEB_CLIENT: u32 = 0x0000_0200;
    /// The MSNC version field (top four bits).
    pub const MSNC_MASK: u32 = 0xF000_0000;

    /// Parses the decimal wire form (digits only, at most `u32::MAX`).
    pub fn parse(token: &str) -> Option<Capabilities> {
        super::command::parse_u32(token).map(Capabilities)
    }

    /// The MSNC (peer-to-peer protocol) version: 0 for MSN Messenger 5.0 and older, 1 for
    /// MSN 6.0, … 10 for WLM 2009.
    pub fn msnc_version(self) -> u8 {
        ((self.0 & Self::MSNC_MASK) >> 28) as u8
    }

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }

    /// Whether the client runs on a mobile device.
    pub fn is_mobile(self) -> bool {
        self.has(Self::MOBILE)
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Bit of a list in the MSNP8 `LST` mask (msnp8.md §4.4).
pub fn list_bit(list: List) -> u32 {
    match list {
        List::Forward => 1,
        List::Allow => 2,
        List::Block => 4,
        List::Reverse => 8,
    }
}

/// The lists named by an `LST` mask (unknown bits, such as the MSNP10 pending list, ignored).
pub fn lists_of_mask(mask: u32) -> Vec<List> {
    List::ALL
        .iter()
        .copied()
        .filter(|l| mask & list_bit(*l) != 0)
        .collect()
}

/// The `LST` mask of a set of lists.
pub fn mask_of_lists(lists: impl IntoIterator<Item = List>) -> u32 {
    lists.into_iter().fold(0, |m, l| m | list_bit(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_choice_follows_the_reply() {
        let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let both = ProtocolChoice::Auto.dialects();
        assert_eq!(Dialect::chosen(&s(&["MSNP8"]), both), Some(Dialect::Msnp8));
        assert_eq!(
            Dialect::chosen(&s(&["MSNP7", "CVR0"]), both),
            Some(Dialect::Msnp7)
        );
        // Historical servers echo every supported dialect: the highest offered wins.
        assert_eq!(
            Dialect::chosen(&s(&["MSNP7", "MSNP8", "CVR0"]), both),
            Some(Dialect::Msnp8)
        );
        assert_eq!(Dialect::chosen(&s(&["0"]), both), None);
        // A dialect that was not offered does not count.
        assert_eq!(
            Dialect::chosen(&s(&["MSNP8"]), ProtocolChoice::Msnp7Only.dialects()),
            None
        );
        assert_eq!(
            ProtocolChoice::Auto.ver_tokens().join(" "),
            "MSNP8 MSNP7 CVR0"
        );
        assert_eq!(
            ProtocolChoice::Msnp8Only.ver_tokens().join(" "),
            "MSNP8 CVR0"
        );
        assert_eq!(
            ProtocolChoice::Msnp7Only.ver_tokens().join(" "),
            "MSNP7 CVR0"
        );
        assert_eq!(
            ProtocolChoice::parse("MSNP8"),
            Some(ProtocolChoice::Msnp8Only)
        );
        assert_eq!(ProtocolChoice::parse("auto"), Some(ProtocolChoice::Auto));
        assert_eq!(ProtocolChoice::parse("msnp9"), None);
    }

    #[test]
    fn cvr_has_eight_fields() {
        assert_eq!(
            cvr_fields("0x0409", "alice@example.com").join(" "),
            "0x0409 winnt 5.1 i386 MSNMSGR 5.0.0544 MSMSGS alice@example.com"
        );
        assert_eq!(cvr_fields("0x040c", "a@b.c")[0], "0x040c");
        assert_eq!(cvr_fields("fr_FR", "a@b.c")[0], "0x0409");
    }

    #[test]
    fn capability_vectors() {
        // msnp8.md §8.5
        for (text, msnc, bits) in [
            ("0", 0, 0),
            ("268435492", 1, 0x24),
            ("1073741824", 4, 0),
            ("1342177312", 5, 0x20),
        ] {
            let c = Capabilities::parse(text).unwrap();
            assert_eq!(c.msnc_version(), msnc, "{text}");
            assert_eq!(c.0 & !Capabilities::MSNC_MASK, bits, "{text}");
            assert_eq!(c.to_string(), text);
        }
        assert!(Capabilities(268435492).has(Capabilities::CHUNKING));
        assert!(Capabilities(0xA000_0001).is_mobile());
        assert_eq!(Capabilities(0xA000_0001).msnc_version(), 10);
        assert_eq!(Capabilities::parse("-1"), None);
        assert_eq!(Capabilities::parse("4294967296"), None);
        assert_eq!(
            Capabilities::parse("4294967295"),
            Some(Capabilities(u32::MAX))
        );
    }

    #[test]
    fn list_mask_vectors() {
        use List::*;
        // msnp8.md §8.5
        for (mask, lists) in [
            (11, vec![Forward, Allow, Reverse]),
            (13, vec![Forward, Block, Reverse]),
            (10, vec![Allow, Reverse]),
            (8, vec![Reverse]),
            (5, vec![Forward, Block]),
            (3, vec![Forward, Allow]),
        ] {
            assert_eq!(lists_of_mask(mask), lists, "{mask}");
            assert_eq!(mask_of_lists(lists), mask);
        }
        assert_eq!(lists_of_mask(16 | 8), vec![Reverse]);
    }
}
