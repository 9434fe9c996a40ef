//! Build script: embeds the GResource bundle and compiles `po/*.po` to `.mo` catalogues.

use std::path::{Path, PathBuf};

fn main() {
    glib_build_tools::compile_resources(
        &["resources"],
        "resources/resources.gresource.xml",
        "mariposa.gresource",
    );
    compile_translations(Path::new("po"));
}

/// Writes `OUT_DIR/locale/<lang>/LC_MESSAGES/mariposa.mo` for every `po/<lang>.po`.
fn compile_translations(po_dir: &Path) {
    println!("cargo:rerun-if-changed={}", po_dir.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("locale");
    let Ok(entries) = std::fs::read_dir(po_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("po") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let lang = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("po file name")
            .to_string();
        // Untranslated entries are left out so gettext falls back to the English text.
        let options = polib::po_file::POParseOptions {
            translated_only: true,
            ..Default::default()
        };
        let catalog = polib::po_file::parse_with_option(&path, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        check_placeholders(&path, &catalog);
        let dir = out.join(&lang).join("LC_MESSAGES");
        std::fs::create_dir_all(&dir).expect("create locale dir");
        polib::mo_file::write(&catalog, &dir.join("mariposa.mo"))
            .unwrap_or_else(|e| panic!("{}: cannot write .mo: {e}", path.display()));
    }
}

/// Fails the build when a translation has a different number of `{}` placeholders than its
/// English text (the app fills them in order, so a missing one would lose information).
fn check_placeholders(path: &Path, catalog: &polib::catalog::Catalog) {
    let count = |s: &str| s.matches("{}").count();
    for message in catalog.messages() {
        let want = count(message.msgid());
        let got: Vec<usize> = if message.is_plural() {
            message
                .msgstr_plural()
                .map(|forms| forms.iter().map(|f| count(f)).collect())
                .unwrap_or_default()
        } else {
            message.msgstr().map(|s| vec![count(s)]).unwrap_or_default()
        };
        if got.iter().any(|&n| n != want) {
            panic!(
                "{}: the translation of {:?} must keep its {want} {{}} placeholder(s)",
                path.display(),
                message.msgid()
            );
        }
    }
}
