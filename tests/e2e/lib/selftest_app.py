#!/usr/bin/python3
"""A throwaway GTK 4 window for the e2e library's self-test: an "Email address" entry, a
"Sign In" button that shows "Signed in as <address>" and adds a row to a contact list."""

import sys

import gi

gi.require_version("Gtk", "4.0")
from gi.repository import Gtk  # noqa: E402


def on_activate(app):
    window = Gtk.ApplicationWindow(application=app, title="E2E Self-test")
    window.set_default_size(360, 240)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
    for side in ("top", "bottom", "start", "end"):
        getattr(box, f"set_margin_{side}")(12)

    entry = Gtk.Entry(placeholder_text="you@example.com")
    entry.update_property([Gtk.AccessibleProperty.LABEL], ["Email address"])
    button = Gtk.Button(label="Sign In")
    status = Gtk.Label(label="Signed out")
    status.update_property([Gtk.AccessibleProperty.LABEL], ["Status"])
    contacts = Gtk.ListBox()
    contacts.update_property([Gtk.AccessibleProperty.LABEL], ["Contacts"])

    def sign_in(_button):
        address = entry.get_text()
        status.set_label(f"Signed in as {address}")
        contacts.append(Gtk.Label(label=f"Contact of {address}"))

    button.connect("clicked", sign_in)
    entry.connect("activate", sign_in)
    for child in (entry, button, status, contacts):
        box.append(child)
    window.set_child(box)
    window.present()


app = Gtk.Application(application_id="org.example.E2ESelfTest")
app.connect("activate", on_activate)
sys.exit(app.run(sys.argv[:1]))
