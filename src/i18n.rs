//! Gettext set-up and helpers for strings with placeholders.

use std::path::PathBuf;

use gettextrs::{bind_textdomain_codeset, bindtextdomain, setlocale, textdomain, LocaleCategory};

use crate::config::{BUILD_LOCALE_DIR, GETTEXT_PACKAGE};

pub use gettextrs::{gettext, ngettext};

/// Selects the user's locale and binds the `mariposa` domain to the installed catalogues, or to
/// the ones `build.rs` compiled (so `LANGUAGE=de cargo run` works from the source tree).
pub fn init() {
    let chosen = setlocale(LocaleCategory::LcAll, "");
    // glibc ignores LANGUAGE in the "C" locale; C.UTF-8 behaves the same but honours it.
    let plain_c = chosen.as_deref().is_none_or(|l| l == b"C" || l == b"POSIX");
    if plain_c {
        setlocale(LocaleCategory::LcAll, "C.UTF-8");
    }
    let dir = locale_dir();
    let _ = bindtextdomain(GETTEXT_PACKAGE, dir);
    let _ = bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    let _ = textdomain(GETTEXT_PACKAGE);
}

/// `MARIPOSA_LOCALEDIR`, else `<prefix>/share/locale` next to an installed binary when it holds
/// our catalogues, else the build directory.
fn locale_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MARIPOSA_LOCALEDIR") {
        return PathBuf::from(dir);
    }
    if let Some(installed) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("share/locale")))
    {
        let has_ours = std::fs::read_dir(&installed)
            .map(|mut entries| {
                entries.any(|e| {
                    e.map(|e| {
                        e.path()
                            .join("LC_MESSAGES")
                            .join(format!("{GETTEXT_PACKAGE}.mo"))
                            .exists()
                    })
                    .unwrap_or(false)
                })
            })
            .unwrap_or(false);
        if has_ours {
            return installed;
        }
    }
    PathBuf::from(BUILD_LOCALE_DIR)
}

/// Replaces `{}` placeholders in a translated string, in order.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut args = args.iter();
    while let Some(pos) = rest.find("{}") {
        out.push_str(&rest[..pos]);
        out.push_str(args.next().copied().unwrap_or(""));
        rest = &rest[pos + 2..];
    }
    out.push_str(rest);
    out
}

/// `gettext` then [`fill`].
pub fn gettext_f(msgid: &str, args: &[&str]) -> String {
    fill(&gettext(msgid), args)
}

/// `ngettext` then [`fill`].
pub fn ngettext_f(msgid: &str, plural: &str, n: u32, args: &[&str]) -> String {
    fill(&ngettext(msgid, plural, n), args)
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fill_replaces_in_order_and_tolerates_missing_args() {
        assert_eq!(fill("{} of {}", &["3", "7"]), "3 of 7");
        assert_eq!(fill("{} and {}", &["a"]), "a and ");
        assert_eq!(fill("no placeholders", &["x"]), "no placeholders");
    }
}

#[cfg(test)]
mod catalogue_tests {
    /// Every message of `po/mariposa.pot` is translated in every language of `po/LINGUAS`.
    #[test]
    fn every_language_translates_every_message() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("po");
        let ids = |text: &str| -> Vec<(String, bool)> {
            // (msgid, translated) per entry; entries are separated by blank lines.
            text.split("\n\n")
                .filter_map(|block| {
                    let mut id = String::new();
                    let mut strs = String::new();
                    let mut field = "";
                    for line in block.lines() {
                        if let Some(rest) = line.strip_prefix("msgid ") {
                            field = "id";
                            id.push_str(rest.trim_matches('"'));
                        } else if line.starts_with("msgid_plural") {
                            field = "plural";
                        } else if let Some(pos) = line.find("msgstr") {
                            field = "str";
                            let value = line[pos..].split_once(' ').map_or("", |(_, v)| v);
                            strs.push_str(value.trim_matches('"'));
                        } else if line.starts_with('"') {
                            match field {
                                "id" => id.push_str(line.trim_matches('"')),
                                "str" => strs.push_str(line.trim_matches('"')),
                                _ => {}
                            }
                        }
                    }
                    (!id.is_empty()).then_some((id, !strs.is_empty()))
                })
                .collect()
        };
        let pot = std::fs::read_to_string(root.join("mariposa.pot")).unwrap();
        let wanted: Vec<String> = ids(&pot).into_iter().map(|(id, _)| id).collect();
        assert!(wanted.len() > 50);
        let linguas = std::fs::read_to_string(root.join("LINGUAS")).unwrap();
        for lang in linguas.split_whitespace() {
            let po = std::fs::read_to_string(root.join(format!("{lang}.po"))).unwrap();
            assert!(
                !po.contains("#, fuzzy\nmsgid \"\n"),
                "{lang}: fuzzy entries"
            );
            let have = ids(&po);
            for id in &wanted {
                let entry = have.iter().find(|(h, _)| h == id);
                assert!(
                    matches!(entry, Some((_, true))),
                    "{lang}.po does not translate {id:?}"
                );
            }
        }
    }
}
