//! `cargo xtask install` / `uninstall` end to end: into a temporary prefix with a stub binary,
//! then the installed desktop entry is started with `gtk4-launch` under Xvfb and a private
//! D-Bus session, as a desktop menu would start it.
//!
//! Needs `desktop-file-validate` (desktop-file-utils), `appstreamcli` (appstream), `Xvfb` (xvfb), `dbus-run-session`
//! (dbus) and `gtk4-launch` (libgtk-4-bin) or `gtk-launch` (gtk-3-bin); the ignored real-app
//! test also `xdotool`.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const APP_ID: &str = "io.github.mariposa.Mariposa";

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "xtask-install-{name}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(dir.join("home")).unwrap();
        Scratch(dir)
    }

    fn prefix(&self) -> PathBuf {
        self.0.join("prefix")
    }

    fn home(&self) -> PathBuf {
        self.0.join("home")
    }

    /// Writes an executable shell script.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The files `install` must create, relative to the prefix.
fn installed_files() -> Vec<String> {
    vec![
        "bin/mariposa".into(),
        format!("share/applications/{APP_ID}.desktop"),
        format!("share/icons/hicolor/scalable/apps/{APP_ID}.svg"),
        format!("share/icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg"),
        format!("share/metainfo/{APP_ID}.metainfo.xml"),
    ]
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the xtask binary with a controlled environment: HOME inside the scratch directory and
/// a PATH that only has the system directories unless the test gives one.
fn xtask(scratch: &Scratch, args: &[&str], path: Option<OsString>) -> Output {
    let path = path.unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("HOME", scratch.home())
        .env("PATH", path)
        .output()
        .expect("run xtask")
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "xtask failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The absolute path of `program` in this process's PATH, or a panic naming its package.
fn require(program: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is missing: apt-get install {package}"))
}

fn desktop_entry(prefix: &Path) -> String {
    fs::read_to_string(prefix.join(format!("share/applications/{APP_ID}.desktop"))).unwrap()
}

#[test]
fn install_then_uninstall_with_a_stub_binary() {
    let s = Scratch::new("roundtrip");
    let prefix = s.prefix();
    let stub = s.script("stub", "exit 0");
    // Files of other programs in the same prefix must survive both steps.
    let others = [
        prefix.join("bin/other-tool"),
        prefix.join("share/applications/org.example.Other.desktop"),
        prefix.join("share/icons/hicolor/scalable/apps/org.example.Other.svg"),
    ];
    for other in &others {
        fs::create_dir_all(other.parent().unwrap()).unwrap();
        fs::write(other, "other\n").unwrap();
    }

    let prefix_arg = prefix.to_str().unwrap();
    let out = xtask(
        &s,
        &[
            "install",
            "--prefix",
            prefix_arg,
            "--no-build",
            "--binary",
            stub.to_str().unwrap(),
        ],
        None,
    );
    assert_success(&out);

    for rel in installed_files() {
        assert!(prefix.join(&rel).is_file(), "{rel} was not installed");
    }
    let bin = prefix.join("bin/mariposa");
    assert_eq!(fs::read(&bin).unwrap(), fs::read(&stub).unwrap());
    assert_eq!(bin.metadata().unwrap().permissions().mode() & 0o777, 0o755);
    for rel in &installed_files()[1..] {
        let mode = prefix.join(rel).metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{rel}");
    }
    for (installed, source) in [
        (
            format!("share/icons/hicolor/scalable/apps/{APP_ID}.svg"),
            format!("data/icons/hicolor/scalable/apps/{APP_ID}.svg"),
        ),
        (
            format!("share/metainfo/{APP_ID}.metainfo.xml"),
            format!("data/{APP_ID}.metainfo.xml"),
        ),
    ] {
        assert_eq!(
            fs::read(prefix.join(installed)).unwrap(),
            fs::read(workspace_root().join(source)).unwrap()
        );
    }

    // PATH does not have PREFIX/bin, so the entry names the binary by its absolute path.
    let entry = desktop_entry(&prefix);
    let exec = format!("Exec={}", bin.display());
    assert!(entry.lines().any(|l| l == exec), "{entry}");
    assert!(
        entry
            .lines()
            .any(|l| l == format!("TryExec={}", bin.display())),
        "{entry}"
    );
    let validate = Command::new(require("desktop-file-validate", "desktop-file-utils"))
        .arg(prefix.join(format!("share/applications/{APP_ID}.desktop")))
        .output()
        .unwrap();
    assert!(
        validate.status.success() && validate.stdout.is_empty(),
        "desktop-file-validate: {}",
        String::from_utf8_lossy(&validate.stdout)
    );

    // The installed tree hangs together: metainfo, its launchable desktop entry and icon.
    let tree = Command::new(require("appstreamcli", "appstream"))
        .args(["validate-tree", "--no-net"])
        .arg(&prefix)
        .output()
        .unwrap();
    let tree_out = String::from_utf8_lossy(&tree.stdout);
    assert!(
        tree.status.success() && !tree_out.lines().any(|l| l.starts_with(['W', 'E'])),
        "appstreamcli validate-tree:\n{tree_out}{}",
        String::from_utf8_lossy(&tree.stderr)
    );

    let out = xtask(&s, &["uninstall", "--prefix", prefix_arg], None);
    assert_success(&out);
    for rel in installed_files() {
        assert!(!prefix.join(&rel).exists(), "{rel} was not removed");
    }
    for other in &others {
        assert_eq!(fs::read_to_string(other).unwrap(), "other\n");
    }

    // A second uninstall has nothing left to do and says so.
    let out = xtask(&s, &["uninstall", "--prefix", prefix_arg], None);
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not installed"));
}

#[test]
fn exec_stays_plain_when_path_finds_the_installed_binary() {
    let s = Scratch::new("onpath");
    let prefix = s.prefix();
    let stub = s.script("stub", "exit 0");
    let path =
        std::env::join_paths([prefix.join("bin"), "/usr/bin".into(), "/bin".into()]).unwrap();
    let out = xtask(
        &s,
        &[
            "install",
            "--prefix",
            prefix.to_str().unwrap(),
            "--binary",
            stub.to_str().unwrap(),
        ],
        Some(path),
    );
    assert_success(&out);
    let entry = desktop_entry(&prefix);
    assert!(entry.lines().any(|l| l == "Exec=mariposa"), "{entry}");
    assert!(entry.lines().any(|l| l == "TryExec=mariposa"), "{entry}");
}

#[test]
fn default_prefix_is_dot_local_in_home() {
    let s = Scratch::new("default");
    let stub = s.script("stub", "exit 0");
    let out = xtask(&s, &["install", "--binary", stub.to_str().unwrap()], None);
    assert_success(&out);
    let local = s.home().join(".local");
    for rel in installed_files() {
        assert!(local.join(&rel).is_file(), "{rel} not under ~/.local");
    }
    assert_success(&xtask(&s, &["uninstall"], None));
    for rel in installed_files() {
        assert!(!local.join(&rel).exists(), "{rel} left in ~/.local");
    }
}

#[test]
fn a_missing_binary_is_a_clear_error_and_installs_nothing() {
    let s = Scratch::new("missing");
    let prefix = s.prefix();
    let out = xtask(
        &s,
        &[
            "install",
            "--prefix",
            prefix.to_str().unwrap(),
            "--binary",
            s.0.join("nope").to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no binary at"), "{stderr}");
    assert!(!prefix.exists());
}

/// An Xvfb server on a display it picks itself (`-displayfd`, so parallel tests never race
/// for a number), killed when dropped. `-noreset`: by default the server resets when its last
/// client disconnects, and a client connecting during that reset (the app, just after
/// `gtk4-launch` hung up) fails to open the display.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Self {
        let mut child = Command::new(require("Xvfb", "xvfb"))
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let number = line.trim();
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb did not report a display: {line:?}"
        );
        Xvfb {
            display: format!(":{number}"),
            child,
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gtk4-launch`, or GTK 3's `gtk-launch`: both start a desktop entry by its id.
fn gtk_launch() -> PathBuf {
    ["gtk4-launch", "gtk-launch"]
        .iter()
        .find_map(|p| {
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|d| d.join(p))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("gtk4-launch is missing: apt-get install libgtk-4-bin"))
}

/// Runs `script` (sh) in a private D-Bus session on `xvfb`, with the prefix's share directory
/// first in the XDG data directories (and as XDG_DATA_HOME, so an entry the developer
/// installed in ~/.local does not win), as a desktop session that has the prefix would.
fn in_session(s: &Scratch, xvfb: &Xvfb, script: &str, timeout: Duration) -> Output {
    let share = s.prefix().join("share");
    let mut child = Command::new(require("dbus-run-session", "dbus"))
        .args(["--", "sh", "-c", script])
        .env("DISPLAY", &xvfb.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", s.home())
        .env("XDG_DATA_HOME", &share)
        .env(
            "XDG_DATA_DIRS",
            format!("{}:/usr/local/share:/usr/share", share.display()),
        )
        .env("XDG_RUNTIME_DIR", s.0.join("runtime"))
        .env("GTK_LAUNCH", gtk_launch())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dbus-run-session");
    let deadline = Instant::now() + timeout;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "session script timed out after {timeout:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn prepare_runtime_dir(s: &Scratch) {
    let runtime = s.0.join("runtime");
    fs::create_dir_all(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
}

/// The menu's path to the app: `gtk4-launch io.github.mariposa.Mariposa` finds the installed
/// entry through XDG_DATA_DIRS and runs its Exec line, here a stub that records how it ran.
#[test]
fn gtk_launch_starts_the_installed_entry() {
    let s = Scratch::new("launch");
    prepare_runtime_dir(&s);
    let prefix = s.prefix();
    let marker = s.0.join("launched");
    let stub = s.script(
        "stub",
        &format!(
            "printf '%s\\n' \"$0\" \"$DESKTOP_STARTUP_ID\" > '{}.tmp' && mv '{0}.tmp' '{0}'",
            marker.display()
        ),
    );
    assert_success(&xtask(
        &s,
        &[
            "install",
            "--prefix",
            prefix.to_str().unwrap(),
            "--no-build",
            "--binary",
            stub.to_str().unwrap(),
        ],
        None,
    ));

    let xvfb = Xvfb::start();
    let out = in_session(
        &s,
        &xvfb,
        &format!(
            "\"$GTK_LAUNCH\" {APP_ID} || exit 1\n\
             i=0; while [ ! -e '{m}' ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n\
             [ -e '{m}' ]",
            m = marker.display()
        ),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "gtk-launch did not start the entry ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded = fs::read_to_string(&marker).unwrap();
    let mut lines = recorded.lines();
    assert_eq!(
        lines.next(),
        Some(prefix.join("bin/mariposa").to_str().unwrap()),
        "the entry must run the installed binary"
    );
    // StartupNotify=true: the launcher hands the app a startup id to complete.
    assert!(
        lines.next().is_some_and(|id| !id.is_empty()),
        "no DESKTOP_STARTUP_ID: {recorded:?}"
    );
}

/// The same path with the real app: `gtk4-launch` must start `mariposa`, which must map a
/// window of class `mariposa` (the entry's StartupWMClass) and still run a moment later. Ignored until the app's
/// window is the real one; run it with
/// `cargo build --release -p mariposa && cargo test -p xtask -- --ignored`, or point
/// `MARIPOSA_BINARY` at a build.
#[test]
#[ignore = "starts the real app: needs a release build of mariposa"]
fn gtk_launch_starts_the_real_app() {
    let binary = std::env::var_os("MARIPOSA_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(|d| workspace_root().join(d))
                .unwrap_or_else(|| workspace_root().join("target"));
            target.join("release/mariposa")
        });
    assert!(
        binary.is_file(),
        "no app at {}: cargo build --release -p mariposa, or set MARIPOSA_BINARY",
        binary.display()
    );
    let s = Scratch::new("realapp");
    prepare_runtime_dir(&s);
    let prefix = s.prefix();
    assert_success(&xtask(
        &s,
        &[
            "install",
            "--prefix",
            prefix.to_str().unwrap(),
            "--binary",
            binary.to_str().unwrap(),
        ],
        None,
    ));
    let installed = prefix.join("bin/mariposa");
    let xvfb = Xvfb::start();
    // pidof with a full path matches only processes of that very executable; the window's
    // WM_CLASS is what desktops other than GNOME match against StartupWMClass.
    let out = in_session(
        &s,
        &xvfb,
        &format!(
            "export GSK_RENDERER=cairo\n\
             \"$GTK_LAUNCH\" {APP_ID} || exit 1\n\
             i=0; pid=\n\
             while [ -z \"$pid\" ] && [ $i -lt 600 ]; do sleep 0.1; pid=$(pidof '{bin}'); i=$((i+1)); done\n\
             [ -n \"$pid\" ] || {{ echo 'mariposa did not start'; exit 1; }}\n\
             timeout 60 xdotool search --sync --onlyvisible --classname '^mariposa$' >/dev/null \\\n\
               || {{ echo 'no window with WM_CLASS mariposa'; kill $pid; exit 1; }}\n\
             sleep 2\n\
             kill -0 $pid || {{ echo 'mariposa exited on start-up'; exit 1; }}\n\
             kill $pid",
            bin = installed.display()
        ),
        Duration::from_secs(180),
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
