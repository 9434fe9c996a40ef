//! `msnp-server` command line: run the server until interrupted.

fn main() {
    eprintln!("msnp-server: the command line is not written yet; use the library");
}
