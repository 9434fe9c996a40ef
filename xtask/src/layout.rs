//! Where `cargo xtask install` puts each file under a prefix, and how the desktop entry is
//! adapted to it. Pure path and text computation (apart from looking at `PATH` entries), so
//! it is unit-tested without installing anything.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The application id: names of the desktop file, icons and metainfo.
pub const APP_ID: &str = "io.github.mariposa.Mariposa";

/// The name of the installed program.
pub const BINARY: &str = "mariposa";

/// Where an installed file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The `mariposa` binary (built, or given with `--binary`).
    Binary,
    /// The desktop entry template `data/<APP_ID>.desktop`, adapted by [`desktop_entry_for`].
    DesktopEntry,
    /// A file copied as it is, relative to the workspace root.
    Data(PathBuf),
}

/// One installed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub source: Source,
    /// Absolute destination path.
    pub dest: PathBuf,
    /// Unix permission bits of the installed file.
    pub mode: u32,
}

/// `PREFIX/bin`.
pub fn bin_dir(prefix: &Path) -> PathBuf {
    prefix.join("bin")
}

/// `PREFIX/share/applications`.
pub fn applications_dir(prefix: &Path) -> PathBuf {
    prefix.join("share").join("applications")
}

/// `PREFIX/share/icons/hicolor`, the icon theme whose cache is refreshed.
pub fn hicolor_dir(prefix: &Path) -> PathBuf {
    prefix.join("share").join("icons").join("hicolor")
}

/// Every file that `install` writes and `uninstall` removes, in installation order: the
/// binary first and the desktop entry last, so the menu entry only appears once the program
/// and its icon are in place.
pub fn items(prefix: &Path) -> Vec<Item> {
    let scalable = format!("{APP_ID}.svg");
    let symbolic = format!("{APP_ID}-symbolic.svg");
    let metainfo = format!("{APP_ID}.metainfo.xml");
    let icon = |size: &str, name: &str| Item {
        source: Source::Data(
            ["data", "icons", "hicolor", size, "apps", name]
                .iter()
                .collect(),
        ),
        dest: hicolor_dir(prefix).join(size).join("apps").join(name),
        mode: 0o644,
    };
    vec![
        Item {
            source: Source::Binary,
            dest: bin_dir(prefix).join(BINARY),
            mode: 0o755,
        },
        icon("scalable", &scalable),
        icon("symbolic", &symbolic),
        Item {
            source: Source::Data(Path::new("data").join(&metainfo)),
            dest: prefix.join("share").join("metainfo").join(&metainfo),
            mode: 0o644,
        },
        Item {
            source: Source::DesktopEntry,
            dest: applications_dir(prefix).join(format!("{APP_ID}.desktop")),
            mode: 0o644,
        },
    ]
}

/// Turns the `--prefix` argument into an absolute path: `~` and `~/…` are expanded with
/// `home` (for when the shell did not), relative paths are taken from `cwd`.
pub fn resolve_prefix(arg: &OsStr, home: Option<&Path>, cwd: &Path) -> Result<PathBuf, String> {
    if arg.is_empty() {
        return Err("--prefix is empty".into());
    }
    let path = Path::new(arg);
    let mut parts = path.components();
    let expanded = match parts.next() {
        Some(std::path::Component::Normal(first)) if first == "~" => {
            let home = home.ok_or("cannot expand ~ in --prefix: HOME is not set")?;
            home.join(parts.as_path())
        }
        _ => path.to_path_buf(),
    };
    Ok(if expanded.is_absolute() {
        expanded
    } else {
        cwd.join(expanded)
    })
}

/// The default prefix, `~/.local`.
pub fn default_prefix(home: Option<&Path>) -> Result<PathBuf, String> {
    home.map(|h| h.join(".local"))
        .ok_or_else(|| "HOME is not set: give --prefix".into())
}

/// Whether running `name` through `path_var` (a `PATH` value) finds exactly `target`: then the
/// desktop entry may say `Exec=mariposa`. A different `mariposa` earlier in `PATH` (say a
/// distribution package) would otherwise start instead of the one just installed.
pub fn path_finds(path_var: Option<&OsStr>, name: &str, target: &Path) -> bool {
    let Some(path_var) = path_var else {
        return false;
    };
    for dir in std::env::split_paths(path_var) {
        // Empty or relative entries depend on the launcher's working directory: never trust them.
        if !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(name);
        if !is_executable_file(&candidate) {
            continue;
        }
        return same_file(&candidate, target);
    }
    false
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Characters that make a desktop-entry `Exec` argument need double quotes (Desktop Entry
/// Specification, "The Exec key").
const EXEC_RESERVED: &[char] = &[
    ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')',
    '`',
];

/// Escapes a string value for a desktop file: `\` → `\\`, and control characters refused.
fn escape_string_value(s: &str) -> Result<String, String> {
    if s.chars().any(char::is_control) {
        return Err(format!("{s:?} contains a control character"));
    }
    Ok(s.replace('\\', "\\\\"))
}

/// The program path as the first argument of an `Exec` value: quoted when needed, with `%`
/// doubled (it starts field codes), then escaped as a desktop-file string.
pub fn exec_program(path: &Path) -> Result<String, String> {
    let s = path
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", path.display()))?;
    let mut arg = s.replace('%', "%%");
    if s.contains(EXEC_RESERVED) {
        let mut quoted = String::with_capacity(arg.len() + 2);
        quoted.push('"');
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        arg = quoted;
    }
    escape_string_value(&arg)
}

/// Adapts the desktop entry template to where the binary is installed. With `program` set,
/// every `Exec` whose program is `mariposa` (in any group, so desktop actions too) and every
/// `TryExec=mariposa` get that absolute path instead; without it the template is kept as is.
/// Fails when the template's main group has no `Exec=mariposa…` line to adapt.
pub fn desktop_entry_for(template: &str, program: Option<&Path>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut group = "";
    let mut main_exec_seen = false;
    for line in template.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let trimmed = body.trim_start();
        if trimmed.starts_with('[') {
            group = trimmed;
            out.push_str(line);
            continue;
        }
        let Some((key, value)) = body.split_once('=') else {
            out.push_str(line);
            continue;
        };
        let key = key.trim();
        let value = value.trim_start();
        let rewritten = match key {
            "Exec" => {
                let rest = value.strip_prefix(BINARY).filter(|rest| {
                    // The whole first argument must be `mariposa`, not `mariposa-foo`.
                    rest.is_empty() || rest.starts_with([' ', '\t'])
                });
                if group == "[Desktop Entry]" && rest.is_some() {
                    main_exec_seen = true;
                }
                match (rest, program) {
                    (Some(rest), Some(program)) => {
                        Some(format!("Exec={}{rest}", exec_program(program)?))
                    }
                    _ => None,
                }
            }
            "TryExec" if value == BINARY => match program {
                Some(program) => {
                    let s = program
                        .to_str()
                        .ok_or_else(|| format!("{} is not valid UTF-8", program.display()))?;
                    Some(format!("TryExec={}", escape_string_value(s)?))
                }
                None => None,
            },
            _ => None,
        };
        match rewritten {
            Some(new) => {
                out.push_str(&new);
                out.push_str(ending);
            }
            None => out.push_str(line),
        }
    }
    if !main_exec_seen {
        return Err(format!(
            "the desktop entry template has no `Exec={BINARY}` line in [Desktop Entry]"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    const TEMPLATE: &str = "[Desktop Entry]\nName=Mariposa\nExec=mariposa\nTryExec=mariposa\n\
        Icon=io.github.mariposa.Mariposa\n\n[Desktop Action new-window]\nName=New Window\n\
        Exec=mariposa --new-window\n";

    #[test]
    fn items_land_in_the_xdg_places_under_the_prefix() {
        let prefix = Path::new("/opt/mp");
        let dests: Vec<PathBuf> = items(prefix).into_iter().map(|i| i.dest).collect();
        assert_eq!(
            dests,
            [
                "/opt/mp/bin/mariposa",
                "/opt/mp/share/icons/hicolor/scalable/apps/io.github.mariposa.Mariposa.svg",
                "/opt/mp/share/icons/hicolor/symbolic/apps/io.github.mariposa.Mariposa-symbolic.svg",
                "/opt/mp/share/metainfo/io.github.mariposa.Mariposa.metainfo.xml",
                "/opt/mp/share/applications/io.github.mariposa.Mariposa.desktop",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn only_the_binary_is_executable_and_the_desktop_entry_comes_last() {
        let all = items(Path::new("/p"));
        for item in &all {
            let expected = if item.source == Source::Binary {
                0o755
            } else {
                0o644
            };
            assert_eq!(item.mode, expected, "{:?}", item.dest);
        }
        assert_eq!(all.last().map(|i| &i.source), Some(&Source::DesktopEntry));
        assert_eq!(all.first().map(|i| &i.source), Some(&Source::Binary));
    }

    #[test]
    fn data_sources_exist_in_the_workspace() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for item in items(Path::new("/p")) {
            if let Source::Data(rel) = item.source {
                assert!(root.join(&rel).is_file(), "missing {}", rel.display());
            }
        }
        assert!(root
            .join("data")
            .join(format!("{APP_ID}.desktop"))
            .is_file());
    }

    #[test]
    fn prefix_expands_tilde_and_relative_paths() {
        let home = Some(Path::new("/home/ann"));
        let cwd = Path::new("/work");
        let r = |s: &str| resolve_prefix(OsStr::new(s), home, cwd);
        assert_eq!(r("~"), Ok(PathBuf::from("/home/ann")));
        assert_eq!(r("~/.local"), Ok(PathBuf::from("/home/ann/.local")));
        assert_eq!(r("/usr/local"), Ok(PathBuf::from("/usr/local")));
        assert_eq!(r("stage/usr"), Ok(PathBuf::from("/work/stage/usr")));
        // `~ann` is another user's home: not ours to guess, so it stays a relative name.
        assert_eq!(r("~ann"), Ok(PathBuf::from("/work/~ann")));
        assert!(r("").is_err());
        assert!(resolve_prefix(OsStr::new("~/x"), None, cwd).is_err());
    }

    #[test]
    fn default_prefix_is_dot_local() {
        assert_eq!(
            default_prefix(Some(Path::new("/home/ann"))),
            Ok(PathBuf::from("/home/ann/.local"))
        );
        assert!(default_prefix(None).is_err());
    }

    #[test]
    fn exec_program_quotes_only_when_needed() {
        let e = |s: &str| exec_program(Path::new(s)).unwrap();
        assert_eq!(
            e("/home/ann/.local/bin/mariposa"),
            "/home/ann/.local/bin/mariposa"
        );
        assert_eq!(
            e("/home/my apps/bin/mariposa"),
            "\"/home/my apps/bin/mariposa\""
        );
        assert_eq!(e("/opt/$x/mariposa"), "\"/opt/\\\\$x/mariposa\"");
        assert_eq!(e("/opt/100%/mariposa"), "/opt/100%%/mariposa");
        assert_eq!(e("/opt/a\"b/mariposa"), "\"/opt/a\\\\\"b/mariposa\"");
        assert!(exec_program(Path::new("/opt/a\nb/mariposa")).is_err());
    }

    #[test]
    fn desktop_entry_is_kept_when_the_binary_is_found_on_path() {
        assert_eq!(desktop_entry_for(TEMPLATE, None).unwrap(), TEMPLATE);
    }

    #[test]
    fn desktop_entry_gets_the_absolute_program_everywhere() {
        let out = desktop_entry_for(TEMPLATE, Some(Path::new("/p/bin/mariposa"))).unwrap();
        assert_eq!(
            out,
            "[Desktop Entry]\nName=Mariposa\nExec=/p/bin/mariposa\nTryExec=/p/bin/mariposa\n\
             Icon=io.github.mariposa.Mariposa\n\n[Desktop Action new-window]\nName=New Window\n\
             Exec=/p/bin/mariposa --new-window\n"
        );
    }

    #[test]
    fn desktop_entry_leaves_other_programs_and_keys_alone() {
        let template = "[Desktop Entry]\nExec=mariposa\nX-Exec=mariposa\n\
            [Desktop Action x]\nExec=mariposa-helper\n";
        let out = desktop_entry_for(template, Some(Path::new("/p/mariposa"))).unwrap();
        assert_eq!(
            out,
            "[Desktop Entry]\nExec=/p/mariposa\nX-Exec=mariposa\n\
             [Desktop Action x]\nExec=mariposa-helper\n"
        );
    }

    #[test]
    fn desktop_entry_without_our_exec_is_refused() {
        assert!(desktop_entry_for("[Desktop Entry]\nExec=other\n", None).is_err());
        assert!(desktop_entry_for("[Desktop Action a]\nExec=mariposa\n", None).is_err());
    }

    #[test]
    fn desktop_entry_keeps_crlf_line_endings() {
        let out = desktop_entry_for(
            "[Desktop Entry]\r\nExec=mariposa\r\n",
            Some(Path::new("/p/m")),
        )
        .unwrap();
        assert_eq!(out, "[Desktop Entry]\r\nExec=/p/m\r\n");
    }

    #[test]
    fn the_shipped_template_can_be_adapted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let template =
            std::fs::read_to_string(root.join("data").join(format!("{APP_ID}.desktop"))).unwrap();
        let out = desktop_entry_for(&template, Some(Path::new("/p/bin/mariposa"))).unwrap();
        assert!(out.lines().any(|l| l == "Exec=/p/bin/mariposa"), "{out}");
        assert!(!out.lines().any(|l| l == "Exec=mariposa"), "{out}");
    }

    /// A scratch directory removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let dir = std::env::temp_dir().join(format!(
                "xtask-layout-{name}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn program(&self, dir: &str) -> PathBuf {
            use std::os::unix::fs::PermissionsExt;
            let d = self.0.join(dir);
            std::fs::create_dir_all(&d).unwrap();
            let p = d.join(BINARY);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn path_of(dirs: &[&Path]) -> OsString {
        std::env::join_paths(dirs).unwrap()
    }

    #[test]
    fn path_lookup_must_find_the_installed_program_first() {
        let s = Scratch::new("path");
        let ours = s.program("prefix/bin");
        s.program("usr/bin");
        let ours_dir = s.0.join("prefix/bin");
        let other_dir = s.0.join("usr/bin");
        let empty_dir = s.0.join("empty");
        std::fs::create_dir_all(&empty_dir).unwrap();

        let found = |dirs: &[&Path]| path_finds(Some(&path_of(dirs)), BINARY, &ours);
        assert!(found(&[&ours_dir]));
        assert!(found(&[&empty_dir, &ours_dir, &other_dir]));
        assert!(
            !found(&[&other_dir, &ours_dir]),
            "shadowed by another mariposa"
        );
        assert!(!found(&[&empty_dir]));
        assert!(!path_finds(None, BINARY, &ours));
        assert!(
            !found(&[Path::new("prefix/bin")]),
            "relative entries are ignored"
        );
        // `PREFIX/bin/../bin` names the same directory.
        assert!(found(&[&s.0.join("prefix/bin/../bin")]));
    }

    #[test]
    fn path_lookup_skips_files_that_are_not_executable() {
        use std::os::unix::fs::PermissionsExt;
        let s = Scratch::new("noexec");
        let ours = s.program("prefix/bin");
        let plain = s.program("plain");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        let dirs = [s.0.join("plain"), s.0.join("prefix/bin")];
        let path = std::env::join_paths(&dirs).unwrap();
        assert!(path_finds(Some(&path), BINARY, &ours));
    }
}
