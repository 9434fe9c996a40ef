//! Accessible labels for rows whose text changes at run time. `gtk4-rs` exposes
//! `Accessible::update_property` only with its `v4_10` feature, but the C function it wraps,
//! `gtk_accessible_update_property_value`, is part of GTK 4.0, so it is declared here directly.

use gtk::glib;
use gtk::glib::translate::ToGlibPtr;
use gtk::prelude::*;

// From gtkenums.h (stable since GTK 4.0).
const PROPERTY_DESCRIPTION: i32 = 1;
const PROPERTY_LABEL: i32 = 4;
const STATE_EXPANDED: i32 = 3;

unsafe extern "C" {
    fn gtk_accessible_update_property_value(
        accessible: *mut gtk::ffi::GtkAccessible,
        n_properties: i32,
        properties: *const i32,
        values: *const glib::gobject_ffi::GValue,
    );
    fn gtk_accessible_update_state_value(
        accessible: *mut gtk::ffi::GtkAccessible,
        n_states: i32,
        states: *const i32,
        values: *const glib::gobject_ffi::GValue,
    );
}

fn accessible_ptr(widget: &impl IsA<gtk::Widget>) -> *mut gtk::ffi::GtkAccessible {
    let ptr: *mut gtk::ffi::GtkWidget = widget.as_ref().to_glib_none().0;
    // Every GtkWidget implements GtkAccessible.
    ptr.cast()
}

/// Sets the accessible name (what screen readers and GUI tests see) and description.
pub fn set_label(widget: &impl IsA<gtk::Widget>, label: &str, description: Option<&str>) {
    let mut props = vec![PROPERTY_LABEL];
    let mut values = vec![label.to_value()];
    if let Some(d) = description {
        props.push(PROPERTY_DESCRIPTION);
        values.push(d.to_value());
    }
    // SAFETY: `widget` is a live GtkWidget (a GtkAccessible); `props` and `values` have the same
    // length and `glib::Value` is a transparent wrapper of `GValue` holding strings, which is
    // the type GTK expects for these properties. GTK copies the values.
    unsafe {
        gtk_accessible_update_property_value(
            accessible_ptr(widget),
            props.len() as i32,
            props.as_ptr(),
            values.as_ptr().cast(),
        );
    }
}

/// Sets the accessible "expanded" state (a tristate stored as an int: 0, 1, or -1 undefined).
pub fn set_expanded(widget: &impl IsA<gtk::Widget>, expanded: bool) {
    let value = i32::from(expanded).to_value();
    let states = [STATE_EXPANDED];
    // SAFETY: as in `set_label`; the expanded state takes an int value.
    unsafe {
        gtk_accessible_update_state_value(
            accessible_ptr(widget),
            1,
            states.as_ptr(),
            (&value as *const glib::Value).cast(),
        );
    }
}

/// Adds a button with a mnemonic label (`_Remove`) to a dialog, named without the underline
/// (GTK 4.8 names a `gtk_dialog_add_button` button with both texts: "_Remove Remove").
pub fn add_dialog_button(
    dialog: &impl IsA<gtk::Dialog>,
    label: &str,
    response: gtk::ResponseType,
) -> gtk::Widget {
    let text = gtk::Label::with_mnemonic(label);
    let button = gtk::Button::builder().child(&text).build();
    set_label(&button, &label.replace('_', ""), None);
    dialog.as_ref().add_action_widget(&button, response);
    button.upcast()
}
