//! History bench (an `#[ignore]`d test that prints): a 10,000-line chat log opened in the
//! history window and scrolled to its first line, measuring the time to the window's first
//! frame, to the newest lines shown, to the top, the slowest frame on the way, and the peak
//! resident memory (VmHWM). Run it with
//!
//! ```text
//! xvfb-run -a cargo test --release -p mariposa -- --ignored --nocapture bench_
//! ```

use std::io::Write;
use std::time::{Duration, Instant};

use gtk::prelude::*;

use super::bench::{ms, spin_until, status_kib, wait_painted};
use super::MpHistoryWindow;
use crate::store::history;

const LINES: i64 = 10_000;

fn write_log(path: &std::path::Path) -> u64 {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("log"));
    for i in 0..LINES {
        let own = i % 3 == 0;
        let text = match i % 7 {
            0 => format!("line {i}: a longer line that wraps in the window, with an emoticon :) and a link https://example.com/{i} to make the row taller than most"),
            1 => format!("line {i}\nsecond line\nthird line"),
            _ => format!("line {i}"),
        };
        let e = history::Entry {
            time: 1_700_000_000 + i * 30,
            own,
            name: if own { "Me".into() } else { "Bob".into() },
            text,
            format: if i % 4 == 0 {
                "FN=Segoe%20UI; EF=B; CO=ff0000; CS=0; PF=22".into()
            } else {
                String::new()
            },
        };
        let mut line = serde_json::to_vec(&e).expect("json");
        line.push(b'\n');
        out.write_all(&line).expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[gtk::test]
#[ignore = "scenario bench: run under xvfb-run with --ignored --nocapture"]
fn bench_history_10000_lines() {
    super::smoke_tests::resources();
    let dir = std::env::temp_dir().join(format!("mariposa-history-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let own = "me@bench.invalid";
    let contact = "bob@bench.invalid";
    let bytes = write_log(&history::log_path(&dir, own, contact));
    // A bare window first, so the baseline includes GTK's own start-up.
    let t_bare = Instant::now();
    let bare = gtk::Window::new();
    bare.set_default_size(820, 580);
    bare.present();
    spin_until(Duration::from_secs(5), || bare.is_mapped());
    wait_painted(&bare);
    let bare_frame = t_bare.elapsed();
    let rss_bare = status_kib("VmRSS:");
    bare.destroy();

    let t0 = Instant::now();
    let win = MpHistoryWindow::new(None, &dir, own, Default::default());
    win.set_default_size(820, 580);
    win.open_log(contact);
    win.present();
    spin_until(Duration::from_secs(10), || win.is_mapped());
    wait_painted(&win);
    let first_frame = t0.elapsed();
    assert!(spin_until(Duration::from_secs(20), || {
        win.lines().n_items() > 0 && !win.is_loading()
    }));
    let adj = win.lines_scroller().vadjustment();
    let at_bottom = spin_until(Duration::from_secs(5), || {
        adj.upper() > adj.page_size() && adj.value() + adj.page_size() >= adj.upper() - 1.0
    });
    wait_painted(&win);
    let newest_shown = t0.elapsed();

    // Scroll to the top as a user dragging the scrollbar up would: one jump per frame.
    let t1 = Instant::now();
    let mut frames = Vec::new();
    let ok = spin_until(Duration::from_secs(120), || {
        let t = Instant::now();
        adj.set_value(0.0);
        wait_painted(&win);
        frames.push(t.elapsed());
        win.reached_start() && !win.is_loading() && adj.value() <= 0.5
    });
    assert!(ok, "did not reach the top");
    let to_top = t1.elapsed();
    assert_eq!(win.lines().n_items() as i64, LINES);
    spin_until(Duration::from_millis(300), || false);
    let peak = status_kib("VmHWM:");
    let rss = status_kib("VmRSS:");
    // Everything loaded: scroll down through the whole log, timing each frame.
    let mut scroll_frames = Vec::new();
    let steps = 60;
    for i in 0..=steps {
        let t = Instant::now();
        let bottom = adj.upper() - adj.page_size();
        adj.set_value(bottom * f64::from(i) / f64::from(steps));
        wait_painted(&win);
        scroll_frames.push(t.elapsed());
    }
    // Wheel-like scrolling: about three lines per frame, 120 frames up from the bottom.
    let mut wheel_frames = Vec::new();
    for _ in 0..120 {
        let t = Instant::now();
        adj.set_value((adj.value() - 120.0).max(0.0));
        wait_painted(&win);
        wheel_frames.push(t.elapsed());
    }
    wheel_frames.sort();
    let wheel_median = wheel_frames[wheel_frames.len() / 2];
    let wheel_p95 = wheel_frames[wheel_frames.len() * 95 / 100];
    scroll_frames.sort();
    let scroll_median = scroll_frames[scroll_frames.len() / 2];
    let scroll_worst = scroll_frames[scroll_frames.len() - 1];
    frames.sort();
    let median = frames.get(frames.len() / 2).copied().unwrap_or_default();
    let worst = frames.last().copied().unwrap_or_default();

    println!();
    println!(
        "history window, {LINES}-line log ({:.1} MiB):",
        bytes as f64 / 1_048_576.0
    );
    println!(
        "  first frame of a bare window    {:>8.1} ms",
        ms(bare_frame)
    );
    println!(
        "  first frame of the window       {:>8.1} ms",
        ms(first_frame)
    );
    println!(
        "  newest lines at the bottom      {:>8.1} ms  (reached: {at_bottom})",
        ms(newest_shown)
    );
    println!(
        "  scrolled to the first line      {:>8.1} ms  ({} frames; median {:.1} ms, worst {:.1} ms)",
        ms(to_top),
        frames.len(),
        ms(median),
        ms(worst)
    );
    println!(
        "  scrolling all {LINES} lines       {:>8.1} ms median frame, {:.1} ms worst ({} frames)",
        ms(scroll_median),
        ms(scroll_worst),
        scroll_frames.len()
    );
    println!(
        "  wheel scrolling (120 px/frame)  {:>8.1} ms median frame, {:.1} ms 95th percentile",
        ms(wheel_median),
        ms(wheel_p95)
    );
    println!("  RSS, bare GTK window            {:>8} KiB", rss_bare);
    println!(
        "  RSS, all lines loaded           {:>8} KiB  (+{} KiB)",
        rss,
        rss.saturating_sub(rss_bare)
    );
    println!("  peak RSS (VmHWM)                {:>8} KiB", peak);
    win.destroy();
    let _ = std::fs::remove_dir_all(&dir);
}
