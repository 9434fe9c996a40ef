//! How long the user has been away from keyboard and mouse: the session's idle monitor over
//! D-Bus (GNOME's `org.gnome.Mutter.IdleMonitor`, else `org.freedesktop.ScreenSaver`), else the
//! last input event seen on the app's own windows.

use std::cell::Cell;
use std::time::{Duration, Instant};

use gtk::gio;
use gtk::glib;
use gtk::prelude::*;

thread_local! {
    static LAST_INPUT: Cell<Instant> = Cell::new(Instant::now());
    static LAST_POINTER: Cell<(f64, f64)> = const { Cell::new((f64::NAN, f64::NAN)) };
}

/// Records input on one of the app's windows.
pub fn note_input() {
    LAST_INPUT.with(|t| t.set(Instant::now()));
}

/// Watches keyboard and pointer input on `window` (for the fallback source). A legacy
/// controller in the capture phase sees every event and never claims one.
pub fn track(window: &impl IsA<gtk::Widget>) {
    let watcher = gtk::EventControllerLegacy::new();
    watcher.set_propagation_phase(gtk::PropagationPhase::Capture);
    watcher.connect_event(|_, event| {
        use gtk::gdk::EventType;
        match event.event_type() {
            EventType::KeyPress
            | EventType::ButtonPress
            | EventType::Scroll
            | EventType::TouchBegin => note_input(),
            // GTK also sends motion events of its own when widgets move under a resting
            // pointer: only a pointer that really moved counts.
            EventType::MotionNotify => {
                if let Some(pos) = event.position() {
                    let moved = LAST_POINTER.with(|last| {
                        let (x, y) = last.replace(pos);
                        !((x - pos.0).abs() < 1.0 && (y - pos.1).abs() < 1.0)
                    });
                    if moved {
                        note_input();
                    }
                }
            }
            _ => {}
        }
        glib::Propagation::Proceed
    });
    window.add_controller(watcher);
}

/// Where idle time comes from.
#[derive(Debug, Clone)]
pub enum IdleSource {
    /// GNOME Shell / Mutter: `GetIdletime` in milliseconds.
    Mutter(gio::DBusProxy),
    /// KDE and others: `GetSessionIdleTime` in seconds.
    ScreenSaver(gio::DBusProxy),
    /// Input on the app's windows only.
    Windows,
}

impl IdleSource {
    /// Finds the best source on this session.
    pub async fn detect() -> IdleSource {
        if let Some(p) = proxy(
            "org.gnome.Mutter.IdleMonitor",
            "/org/gnome/Mutter/IdleMonitor/Core",
            "org.gnome.Mutter.IdleMonitor",
        )
        .await
        {
            let source = IdleSource::Mutter(p);
            if source.query().await.is_some() {
                return source;
            }
        }
        if let Some(p) = proxy(
            "org.freedesktop.ScreenSaver",
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver",
        )
        .await
        {
            let source = IdleSource::ScreenSaver(p);
            if source.query().await.is_some() {
                return source;
            }
        }
        IdleSource::Windows
    }

    async fn query(&self) -> Option<Duration> {
        match self {
            IdleSource::Mutter(p) => {
                let v = p
                    .call_future("GetIdletime", None, gio::DBusCallFlags::NONE, 2_000)
                    .await
                    .ok()?;
                v.get::<(u64,)>().map(|(ms,)| Duration::from_millis(ms))
            }
            IdleSource::ScreenSaver(p) => {
                let v = p
                    .call_future("GetSessionIdleTime", None, gio::DBusCallFlags::NONE, 2_000)
                    .await
                    .ok()?;
                v.get::<(u32,)>()
                    .map(|(s,)| Duration::from_secs(u64::from(s)))
            }
            IdleSource::Windows => Some(LAST_INPUT.with(|t| t.get().elapsed())),
        }
    }

    /// The input-free time now (falls back to the app's windows if the service fails).
    pub async fn idle_time(&self) -> Duration {
        match self.query().await {
            Some(d) => d,
            None => LAST_INPUT.with(|t| t.get().elapsed()),
        }
    }
}

async fn proxy(name: &str, path: &str, iface: &str) -> Option<gio::DBusProxy> {
    gio::DBusProxy::for_bus_future(
        gio::BusType::Session,
        gio::DBusProxyFlags::DO_NOT_LOAD_PROPERTIES
            | gio::DBusProxyFlags::DO_NOT_CONNECT_SIGNALS
            | gio::DBusProxyFlags::DO_NOT_AUTO_START,
        None,
        name,
        path,
        iface,
    )
    .await
    .ok()
    .filter(|p| p.name_owner().is_some())
}
