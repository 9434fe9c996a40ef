//! Scenario bench (an `#[ignore]`d test that prints): sign in with 5,000 contacts over loopback
//! and measure the time to a fully rendered list, and the resident memory after sign-in next to
//! a bare GTK window's, both in the same process. Run it with
//!
//! ```text
//! cargo build -p msnp-server --release && \
//!   xvfb-run -a cargo test --release -p mariposa -- --ignored --nocapture bench_
//! ```
//!
//! The server runs as a separate `msnp-server` process when the binary is found next to the
//! test binary (so its memory is not counted), otherwise in-process.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use gtk::glib;
use gtk::prelude::*;
use msnp::client::ClientConfig;
use msnp::proto::command::Status;

use super::MpContactListPage;
use crate::model::account::Effect;
use crate::session::SessionBridge;

const CONTACTS: usize = 5_000;
const ACCOUNT: &str = "big@bench.invalid";

/// A field of /proc/self/status in KiB (`"VmRSS:"`, `"VmHWM:"`); 0 if unreadable.
pub(super) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// A server state file: one account with 5,000 contacts in 10 groups.
fn state_json() -> serde_json::Value {
    let mut fl = BTreeMap::new();
    let mut al = BTreeMap::new();
    for i in 0..CONTACTS {
        let c = format!("contact{i}@bench.invalid");
        fl.insert(
            c.clone(),
            serde_json::json!({"nick": format!("Contact%20{i}"), "groups": [1 + i % 10]}),
        );
        al.insert(c.clone(), c);
    }
    let groups: BTreeMap<String, String> = (0..=10u32)
        .map(|g| {
            let name = if g == 0 {
                "Other%20Contacts".to_string()
            } else {
                format!("Group%20{g}")
            };
            (g.to_string(), name)
        })
        .collect();
    serde_json::json!({"format": 1, "accounts": {ACCOUNT: {
        "display_name": "Big", "version": 1, "gtc": "Ask", "blp": "AllowAll",
        "properties": {}, "groups": groups, "fl": fl, "al": al, "bl": {}, "rl": {},
    }}})
}

pub(super) fn spin_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let ctx = glib::MainContext::default();
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if done() {
            return true;
        }
        if !ctx.iteration(false) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    done()
}

/// Waits for the next frame of `widget`'s window to be painted.
pub(super) fn wait_painted(widget: &impl IsA<gtk::Widget>) {
    let Some(clock) = widget.frame_clock() else {
        return;
    };
    let painted = Rc::new(Cell::new(false));
    let p = painted.clone();
    let id = clock.connect_after_paint(move |_| p.set(true));
    widget.queue_draw();
    spin_until(Duration::from_secs(10), || painted.get());
    clock.disconnect(id);
}

struct ServerProcess(std::process::Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[gtk::test]
#[ignore = "scenario bench: run under xvfb-run with --ignored --nocapture"]
fn bench_sign_in_with_5000_contacts() {
    super::smoke_tests::resources();
    // 1. A bare window.
    let bare = gtk::Window::new();
    bare.set_default_size(380, 700);
    bare.present();
    spin_until(Duration::from_secs(5), || bare.is_mapped());
    wait_painted(&bare);
    let rss_bare = rss_kib();

    // 2. The server with the big account.
    let dir = std::env::temp_dir().join(format!("mariposa-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state = dir.join("state.json");
    std::fs::write(&state, serde_json::to_vec(&state_json()).expect("json")).expect("state");
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.to_path_buf()));
    let server_bin = exe_dir
        .map(|d| d.join("msnp-server"))
        .filter(|p| p.exists());
    let mut _in_process = None;
    let mut _child = None;
    let addr = match &server_bin {
        Some(bin) => {
            let mut child = std::process::Command::new(bin)
                .args(["--listen", "127.0.0.1:0", "--account"])
                .arg(format!("{ACCOUNT}:pw"))
                .arg("--state")
                .arg(&state)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("msnp-server");
            let stdout = child.stdout.take().expect("stdout");
            _child = Some(ServerProcess(child));
            let mut line = String::new();
            let mut reader = std::io::BufReader::new(stdout);
            let addr = loop {
                line.clear();
                if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                    panic!("msnp-server did not start");
                }
                if let Some(a) = line.trim().strip_prefix("msnp-server: clients connect to ") {
                    break a.to_string();
                }
            };
            // Keep draining its output, or its next line would hit a closed pipe.
            std::thread::spawn(move || {
                let mut sink = String::new();
                while std::io::BufRead::read_line(&mut reader, &mut sink).unwrap_or(0) > 0 {
                    sink.clear();
                }
            });
            addr
        }
        None => {
            let mut cfg =
                msnp_server::Config::loopback(vec![msnp_server::AccountSpec::new(ACCOUNT, "pw")]);
            cfg.state_path = Some(state.clone());
            let server = msnp_server::Server::start(cfg).expect("server");
            let addr = server.ns_addr().to_string();
            _in_process = Some(server);
            addr
        }
    };

    // 3. Sign in and show the list in a window like the app's.
    let page = MpContactListPage::default();
    let window = gtk::Window::new();
    window.set_default_size(380, 700);
    window.set_child(Some(&page));
    window.present();
    spin_until(Duration::from_secs(5), || window.is_mapped());
    wait_painted(&window);

    let signed_in: Rc<RefCell<Option<Duration>>> = Rc::default();
    let synced: Rc<RefCell<Option<Duration>>> = Rc::default();
    let t0 = Instant::now();
    let (s, y) = (signed_in.clone(), synced.clone());
    let bridge = SessionBridge::start(
        ClientConfig {
            server: addr,
            account: ACCOUNT.into(),
            password: "pw".into(),
            initial_status: Status::Online,
            cache: None,
            protocol: msnp::proto::msnp8::ProtocolChoice::Msnp7Only,
            ..ClientConfig::default()
        },
        move |_, effects| {
            for e in effects {
                match e {
                    Effect::SignedIn { .. } => *s.borrow_mut() = Some(t0.elapsed()),
                    Effect::ListSynced(_) => *y.borrow_mut() = Some(t0.elapsed()),
                    _ => {}
                }
            }
        },
    )
    .expect("engine");
    page.set_model(Some(bridge.model()));
    let model = bridge.model().clone();
    let ok = spin_until(Duration::from_secs(60), || {
        model.info().total == CONTACTS && model.store().n_items() as usize >= CONTACTS
    });
    assert!(ok, "the list did not arrive");
    wait_painted(&window);
    let rendered = t0.elapsed();
    // Let late allocations (row widgets, icon cache) settle, then measure.
    spin_until(Duration::from_millis(500), || false);
    let rss_signed_in = rss_kib();

    // 4. Scrolling through the whole list: time each frame.
    let mut frames = Vec::new();
    if let Some(adj) = page.list_view().vadjustment() {
        let steps = 60;
        for i in 0..=steps {
            let t = Instant::now();
            let top = adj.upper() - adj.page_size();
            adj.set_value(top * f64::from(i) / f64::from(steps));
            wait_painted(&window);
            frames.push(t.elapsed());
        }
    }
    let slowest_step = frames
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .map(|(i, _)| i)
        .unwrap_or(0);
    frames.sort();
    let median = frames.get(frames.len() / 2).copied().unwrap_or_default();
    let worst = frames.last().copied().unwrap_or_default();

    // 5. A search keystroke over 5,000 contacts.
    let t_filter = Instant::now();
    model.set_filter(crate::model::roster::Filter {
        text: "contact 4999".into(),
        show_offline: true,
    });
    wait_painted(&window);
    let filtered = t_filter.elapsed();
    model.set_filter(crate::model::roster::Filter::default());

    println!();
    println!(
        "sign-in with {CONTACTS} contacts on loopback ({}):",
        if server_bin.is_some() {
            "server in its own process"
        } else {
            "server in-process"
        }
    );
    println!(
        "  signed in (USR OK)            {:>8.1} ms",
        ms(signed_in.borrow().unwrap_or_default())
    );
    println!(
        "  lists synchronised (SYN)      {:>8.1} ms",
        ms(synced.borrow().unwrap_or_default())
    );
    println!("  fully rendered list           {:>8.1} ms", ms(rendered));
    println!("  search keystroke to paint     {:>8.1} ms", ms(filtered));
    println!("  RSS, bare GTK window          {:>8} KiB", rss_bare);
    println!(
        "  RSS, signed in, list shown    {:>8} KiB  (+{} KiB)",
        rss_signed_in,
        rss_signed_in.saturating_sub(rss_bare)
    );
    println!(
        "  scroll frame, median / worst  {:>8.1} / {:.1} ms (worst at step {slowest_step} of {})",
        ms(median),
        ms(worst),
        frames.len()
    );
    bridge.shutdown();
    window.destroy();
    bare.destroy();
    let _ = std::fs::remove_dir_all(&dir);
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
