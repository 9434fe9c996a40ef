//! `cargo xtask`: Mariposa's developer tasks that need no GTK. `install` puts the binary, the
//! desktop entry, the icons and the metainfo under a prefix (default `~/.local`) so the app
//! shows in the desktop menu and GNOME lets it notify; `uninstall` removes exactly those files.

mod layout;

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use layout::{Item, Source, APP_ID, BINARY};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  install      build mariposa in release mode and install it with its desktop entry,
               icons and metainfo
  uninstall    remove the files that install puts there

options:
  --prefix DIR     where to install (default ~/.local): DIR/bin, DIR/share/...
  --no-build       install: do not build, take target/release/mariposa as it is
  --binary PATH    install: install PATH as the mariposa binary (implies --no-build)
  -h, --help       this text

If DIR/bin is not where PATH finds mariposa, the installed desktop entry starts the
binary by its absolute path.";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Task {
    Help,
    Install {
        prefix: Option<OsString>,
        build: bool,
        binary: Option<PathBuf>,
    },
    Uninstall {
        prefix: Option<OsString>,
    },
}

fn parse(args: &[OsString]) -> Result<Task, String> {
    let mut it = args.iter();
    let command = match it.next().and_then(|a| a.to_str()) {
        None | Some("-h" | "--help" | "help") => return Ok(Task::Help),
        Some(c @ ("install" | "uninstall")) => c,
        Some(other) => return Err(format!("unknown command {other:?}")),
    };
    let mut prefix = None;
    let mut build = true;
    let mut binary = None;
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(OsString::from(v))),
            _ => (text.to_string(), None),
        };
        let mut value = |opt: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{opt} needs a value"))
        };
        match (command, name.as_str()) {
            (_, "-h" | "--help") => return Ok(Task::Help),
            (_, "--prefix") => prefix = Some(value("--prefix")?),
            ("install", "--no-build") => build = false,
            ("install", "--binary") => {
                binary = Some(PathBuf::from(value("--binary")?));
                build = false;
            }
            _ => return Err(format!("{command}: unknown option {text:?}")),
        }
    }
    Ok(match command {
        "install" => Task::Install {
            prefix,
            build,
            binary,
        },
        _ => Task::Uninstall { prefix },
    })
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let result = parse(&args).and_then(|task| match task {
        Task::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Task::Install {
            prefix,
            build,
            binary,
        } => install(&prefix_from(prefix.as_deref())?, build, binary),
        Task::Uninstall { prefix } => uninstall(&prefix_from(prefix.as_deref())?),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn prefix_from(arg: Option<&std::ffi::OsStr>) -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    match arg {
        None => layout::default_prefix(home.as_deref()),
        Some(arg) => {
            let cwd = std::env::current_dir()
                .map_err(|e| format!("cannot read the current directory: {e}"))?;
            layout::resolve_prefix(arg, home.as_deref(), &cwd)
        }
    }
}

/// The workspace root, where `data/` lives.
fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

/// Cargo's target directory for this workspace, given the value of `CARGO_TARGET_DIR`
/// (relative to the workspace root when relative, as cargo takes it there).
fn target_dir(root: &Path, cargo_target_dir: Option<OsString>) -> PathBuf {
    match cargo_target_dir.filter(|d| !d.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn build_release(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("building {BINARY} (cargo build --release -p {BINARY})");
    let status = Command::new(&cargo)
        .args(["build", "--release", "-p", BINARY])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build --release -p {BINARY} failed ({status})"
        ))
    }
}

fn install(prefix: &Path, build: bool, binary: Option<PathBuf>) -> Result<(), String> {
    let root = workspace_root();
    if build {
        build_release(&root)?;
    }
    let binary = binary.unwrap_or_else(|| {
        target_dir(&root, std::env::var_os("CARGO_TARGET_DIR"))
            .join("release")
            .join(BINARY)
    });
    if !binary.is_file() {
        return Err(format!(
            "no binary at {}: build it (cargo build --release -p {BINARY}) or give --binary PATH",
            binary.display()
        ));
    }
    let template_path = root.join("data").join(format!("{APP_ID}.desktop"));
    let template = fs::read_to_string(&template_path)
        .map_err(|e| format!("cannot read {}: {e}", template_path.display()))?;

    for item in layout::items(prefix) {
        let contents = match &item.source {
            Source::Binary => read(&binary)?,
            Source::Data(rel) => read(&root.join(rel))?,
            Source::DesktopEntry => {
                let installed_bin = layout::bin_dir(prefix).join(BINARY);
                let path = std::env::var_os("PATH");
                let on_path = layout::path_finds(path.as_deref(), BINARY, &installed_bin);
                let program = (!on_path).then_some(installed_bin.as_path());
                let entry = layout::desktop_entry_for(&template, program)?;
                if let Some(p) = program {
                    println!(
                        "note: PATH does not find {} first, so the desktop entry runs it by its absolute path",
                        p.display()
                    );
                }
                entry.into_bytes()
            }
        };
        write_atomically(&item, &contents)?;
        println!("installed {}", item.dest.display());
    }
    refresh_caches(prefix);
    Ok(())
}

fn uninstall(prefix: &Path) -> Result<(), String> {
    let mut failures = Vec::new();
    // The desktop entry first, so the menu never shows an entry whose program is gone.
    for item in layout::items(prefix).iter().rev() {
        match fs::remove_file(&item.dest) {
            Ok(()) => println!("removed {}", item.dest.display()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                println!("not installed: {}", item.dest.display())
            }
            Err(e) => failures.push(format!("cannot remove {}: {e}", item.dest.display())),
        }
    }
    refresh_caches(prefix);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes through a temporary file in the same directory and renames it into place, so a
/// running `mariposa` keeps its old binary and no half-written file is ever visible.
fn write_atomically(item: &Item, contents: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let dest = &item.dest;
    let dir = dest
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", dest.display()))?;
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.xtask-{}", std::process::id()));
    let result = (|| -> io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.set_permissions(fs::Permissions::from_mode(item.mode))?;
        file.sync_all()?;
        fs::rename(&tmp, dest)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("cannot write {}: {e}", dest.display())
    })
}

/// Updates the desktop-entry and icon caches of the prefix. Each tool is optional: when it is
/// missing the desktop finds the files anyway, only a little later.
fn refresh_caches(prefix: &Path) {
    let apps = layout::applications_dir(prefix);
    if apps.is_dir() {
        run_optional(
            &["update-desktop-database"],
            &["-q".as_ref(), apps.as_os_str()],
        );
    }
    let hicolor = layout::hicolor_dir(prefix);
    if hicolor.is_dir() {
        // -t: a user prefix has no index.theme; -f: rebuild even if the cache looks fresh.
        run_optional(
            &["gtk-update-icon-cache", "gtk4-update-icon-cache"],
            &[
                "-q".as_ref(),
                "-t".as_ref(),
                "-f".as_ref(),
                hicolor.as_os_str(),
            ],
        );
    }
}

/// Runs the first of `programs` that exists; a failure is reported, never fatal.
fn run_optional(programs: &[&str], args: &[&std::ffi::OsStr]) {
    for program in programs {
        match Command::new(program).args(args).status() {
            Ok(status) if status.success() => return,
            Ok(status) => {
                eprintln!("warning: {program} failed ({status}); continuing");
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                eprintln!("warning: cannot run {program}: {e}; continuing");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_install_options() {
        assert_eq!(
            parse(&args(&["install"])),
            Ok(Task::Install {
                prefix: None,
                build: true,
                binary: None
            })
        );
        assert_eq!(
            parse(&args(&["install", "--prefix", "/p", "--no-build"])),
            Ok(Task::Install {
                prefix: Some("/p".into()),
                build: false,
                binary: None
            })
        );
        assert_eq!(
            parse(&args(&["install", "--binary=/bin/true", "--prefix=~/x"])),
            Ok(Task::Install {
                prefix: Some("~/x".into()),
                build: false,
                binary: Some("/bin/true".into())
            })
        );
    }

    #[test]
    fn parses_uninstall_and_help() {
        assert_eq!(
            parse(&args(&["uninstall", "--prefix", "/p"])),
            Ok(Task::Uninstall {
                prefix: Some("/p".into())
            })
        );
        assert_eq!(parse(&args(&[])), Ok(Task::Help));
        assert_eq!(parse(&args(&["install", "--help"])), Ok(Task::Help));
    }

    #[test]
    fn refuses_bad_command_lines() {
        assert!(parse(&args(&["frobnicate"])).is_err());
        assert!(parse(&args(&["install", "--prefix"])).is_err());
        assert!(parse(&args(&["uninstall", "--no-build"])).is_err());
        assert!(parse(&args(&["install", "--binary"])).is_err());
        assert!(parse(&args(&["install", "extra"])).is_err());
    }

    #[test]
    fn target_dir_follows_cargo_target_dir() {
        let root = Path::new("/ws");
        assert_eq!(target_dir(root, None), Path::new("/ws/target"));
        assert_eq!(target_dir(root, Some("".into())), Path::new("/ws/target"));
        assert_eq!(target_dir(root, Some("/t".into())), Path::new("/t"));
        assert_eq!(target_dir(root, Some("out".into())), Path::new("/ws/out"));
    }
}
