//! Mariposa: a native GTK4 client for the MSN Messenger network.
//!
//! This is the minimal application shell; the full interface is built on `msnp::client`.

use gtk::prelude::*;
use gtk::{glib, Application, ApplicationWindow, Label};

/// The application id used for the desktop file, D-Bus name and notifications.
const APP_ID: &str = "io.github.mariposa.Mariposa";

fn main() -> glib::ExitCode {
    let app = Application::builder().application_id(APP_ID).build();
    app.connect_activate(|app| {
        let label = Label::new(Some("Mariposa"));
        let window = ApplicationWindow::builder()
            .application(app)
            .title("Mariposa")
            .default_width(360)
            .default_height(560)
            .child(&label)
            .build();
        window.present();
    });
    app.run()
}
