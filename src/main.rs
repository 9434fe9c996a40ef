//! Mariposa: a native GTK4 client for the MSN Messenger network. This file only sets up
//! translations and resources and runs [`application::MpApplication`].

mod application;
mod config;
mod i18n;
mod idle;
mod model;
mod session;
mod store;
mod ui;

use gtk::prelude::*;
use gtk::{gio, glib};

fn main() -> glib::ExitCode {
    i18n::init();
    glib::set_application_name(&i18n::gettext("Mariposa"));
    gio::resources_register_include!("mariposa.gresource").expect("embedded resources");
    application::MpApplication::new().run()
}
