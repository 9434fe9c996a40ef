//! The files in `data/` pass the freedesktop validators, and the icons are well-formed SVG
//! that render: `desktop-file-validate` (desktop-file-utils), `appstreamcli validate`
//! (appstream) and `rsvg-convert` (librsvg2-bin).

use std::path::{Path, PathBuf};
use std::process::Command;

const APP_ID: &str = "io.github.mariposa.Mariposa";

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(rel)
}

/// Runs a validator; panics with its output (or with the package to install) unless it
/// succeeds.
fn run(program: &str, package: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): apt-get install {package}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} failed:\n{text}");
    text
}

#[test]
fn desktop_entry_is_valid_without_hints() {
    let path = data(&format!("{APP_ID}.desktop"));
    let out = run(
        "desktop-file-validate",
        "desktop-file-utils",
        &[path.as_os_str()],
    );
    // It prints hints and warnings even when it succeeds: there must be none.
    assert!(out.trim().is_empty(), "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    for line in [
        "Exec=mariposa",
        "Icon=io.github.mariposa.Mariposa",
        "Categories=Network;InstantMessaging;Chat;",
        "StartupNotify=true",
        "X-GNOME-UsesNotifications=true",
        "DBusActivatable=false",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?}");
    }
}

#[test]
fn metainfo_is_valid() {
    let path = data(&format!("{APP_ID}.metainfo.xml"));
    let out = run(
        "appstreamcli",
        "appstream",
        &["validate".as_ref(), "--no-net".as_ref(), path.as_os_str()],
    );
    // Infos are fine (they differ between AppStream versions); warnings and errors are not.
    for line in out.lines() {
        assert!(
            !(line.starts_with("W:") || line.starts_with("E:")),
            "appstreamcli: {line}\n{out}"
        );
    }
}

#[test]
fn icons_render() {
    for (rel, size) in [
        (format!("icons/hicolor/scalable/apps/{APP_ID}.svg"), "128"),
        (
            format!("icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg"),
            "16",
        ),
    ] {
        let path = data(&rel);
        let out = Command::new("rsvg-convert")
            .args(["-w", size, "-h", size, "-f", "png"])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run rsvg-convert ({e}): apt-get install librsvg2-bin")
            });
        assert!(
            out.status.success(),
            "{rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stdout.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{rel}: no PNG"
        );
        // Hand-written and small, as icons should be.
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert!(bytes < 8 * 1024, "{rel} is {bytes} bytes");
    }
}

#[test]
fn symbolic_icon_is_monochrome_fills() {
    let svg = std::fs::read_to_string(data(&format!(
        "icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg"
    )))
    .unwrap();
    assert!(svg.contains(r#"width="16" height="16""#));
    // GTK recolours fills only; one colour, no strokes, no gradients.
    assert!(!svg.contains("stroke"), "strokes are not recoloured");
    assert!(!svg.contains("Gradient"));
    let colours: std::collections::BTreeSet<&str> = svg
        .match_indices('#')
        .map(|(i, _)| &svg[i..(i + 7).min(svg.len())])
        .collect();
    assert_eq!(colours.len(), 1, "colours: {colours:?}");
}
