//! The urgency hint ("this window wants attention": a blinking task-bar entry) for a window
//! that receives a message while the user is elsewhere. GTK 4 has no portable API for it; on
//! X11 GDK keeps `gdk_x11_surface_set_urgency_hint` (GTK 4.0+, in libgtk-4 itself), declared
//! here directly as `a11y.rs` does, so no extra crate is needed. Other backends: nothing (the
//! desktop notification is the signal there).

use gtk::glib::translate::{IntoGlib, ToGlibPtr};
use gtk::prelude::*;
use gtk::{gdk, glib};

unsafe extern "C" {
    fn gdk_x11_surface_set_urgency_hint(
        surface: *mut gdk::ffi::GdkSurface,
        urgent: glib::ffi::gboolean,
    );
}

/// Sets or clears the urgency hint of `window` (only on X11; a window not yet realised is
/// left alone).
pub fn set_urgent(window: &impl IsA<gtk::Native>, urgent: bool) {
    let Some(surface) = window.as_ref().surface() else {
        return;
    };
    let x11 = glib::Type::from_name("GdkX11Surface").is_some_and(|t| surface.type_().is_a(t));
    if !x11 {
        return;
    }
    // SAFETY: the surface is a live GdkX11Surface (checked above); the call only sets a hint.
    unsafe { gdk_x11_surface_set_urgency_hint(surface.to_glib_none().0, urgent.into_glib()) }
}
