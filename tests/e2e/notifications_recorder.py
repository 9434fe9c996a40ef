#!/usr/bin/python3
"""A test-owned notification server: owns org.freedesktop.Notifications on the session bus and
writes every call it gets as one JSON object per line, so a GUI test can check what the app
notified. Under a bare D-Bus session (no GNOME Shell) GLib's GNotification falls back to this
interface.

    notifications_recorder.py OUTPUT.jsonl [--replace]

Prints "ready" on stdout once it owns the name; exits 0 on SIGTERM or SIGINT, 1 if the name
is taken (unless --replace takes it over) or lost (to a recorder started with --replace). Each Notify line holds: method, id,
app_name, replaces_id, app_icon, summary, body, actions (list of [key, label]), hints,
expire_timeout, sender, time. CloseNotification calls are recorded too (method, id).

Tests can also press a notification's button: the extra method
io.github.mariposa.Test.NotificationsRecorder.InvokeAction(u id, s action_key) on
/org/freedesktop/Notifications emits ActionInvoked as a notification server would.
"""

import json
import signal
import sys
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
TEST_INTERFACE = "io.github.mariposa.Test.NotificationsRecorder"

INTROSPECTION = f"""
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="Notify">
      <arg type="s" name="app_name" direction="in"/>
      <arg type="u" name="replaces_id" direction="in"/>
      <arg type="s" name="app_icon" direction="in"/>
      <arg type="s" name="summary" direction="in"/>
      <arg type="s" name="body" direction="in"/>
      <arg type="as" name="actions" direction="in"/>
      <arg type="a{{sv}}" name="hints" direction="in"/>
      <arg type="i" name="expire_timeout" direction="in"/>
      <arg type="u" name="id" direction="out"/>
    </method>
    <method name="CloseNotification">
      <arg type="u" name="id" direction="in"/>
    </method>
    <method name="GetCapabilities">
      <arg type="as" name="capabilities" direction="out"/>
    </method>
    <method name="GetServerInformation">
      <arg type="s" name="name" direction="out"/>
      <arg type="s" name="vendor" direction="out"/>
      <arg type="s" name="version" direction="out"/>
      <arg type="s" name="spec_version" direction="out"/>
    </method>
    <signal name="NotificationClosed">
      <arg type="u" name="id"/>
      <arg type="u" name="reason"/>
    </signal>
    <signal name="ActionInvoked">
      <arg type="u" name="id"/>
      <arg type="s" name="action_key"/>
    </signal>
  </interface>
  <interface name="{TEST_INTERFACE}">
    <method name="InvokeAction">
      <arg type="u" name="id" direction="in"/>
      <arg type="s" name="action_key" direction="in"/>
    </method>
  </interface>
</node>
"""

CAPABILITIES = ["actions", "body", "body-hyperlinks", "icon-static", "persistence"]
CLOSED_BY_CALL = 3  # NotificationClosed reason: closed by CloseNotification


def plain(value):
    """A hint's value as JSON-friendly data; byte arrays (image data) only by their size."""
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": len(value)}
    if isinstance(value, (list, tuple)):
        if len(value) > 64:
            return {"items": len(value)}
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class Recorder:
    def __init__(self, path):
        self.out = open(path, "a", encoding="utf-8")
        self.next_id = 1
        self.open = {}  # id → unique bus name of the program that sent it
        self.connection = None
        self.registrations = []

    def write(self, record):
        record["time"] = time.time()
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()

    def on_call(self, conn, sender, path, interface, method, params, invocation):
        args = params.unpack()
        if method == "Notify":
            app_name, replaces_id, app_icon, summary, body, actions, hints, timeout = args
            nid = replaces_id if replaces_id in self.open else self.next_id
            if nid == self.next_id:
                self.next_id += 1
            self.open[nid] = sender
            self.write({
                "method": "Notify", "id": nid, "app_name": app_name,
                "replaces_id": replaces_id, "app_icon": app_icon, "summary": summary,
                "body": body, "actions": [list(p) for p in zip(actions[::2], actions[1::2])],
                "hints": plain(hints), "expire_timeout": timeout, "sender": sender,
            })
            invocation.return_value(GLib.Variant("(u)", (nid,)))
        elif method == "CloseNotification":
            (nid,) = args
            self.write({"method": "CloseNotification", "id": nid, "sender": sender})
            if self.open.pop(nid, None) is not None:
                self.emit("NotificationClosed", GLib.Variant("(uu)", (nid, CLOSED_BY_CALL)))
            invocation.return_value(None)
        elif method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (CAPABILITIES,)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant(
                "(ssss)", ("mariposa-test-recorder", "Mariposa tests", "1.0", "1.2")))
        elif method == "InvokeAction" and interface == TEST_INTERFACE:
            nid, key = args
            if nid not in self.open:
                invocation.return_dbus_error(
                    "org.freedesktop.DBus.Error.InvalidArgs", f"no open notification {nid}")
                return
            self.write({"method": "InvokeAction", "id": nid, "action_key": key})
            self.emit("ActionInvoked", GLib.Variant("(us)", (nid, key)))
            invocation.return_value(None)
        else:
            invocation.return_dbus_error(
                "org.freedesktop.DBus.Error.UnknownMethod", f"{interface}.{method}")

    def emit(self, signal_name, params):
        # Broadcast, as notification servers do: GLib listens for these from the name's owner.
        self.connection.emit_signal(None, OBJECT_PATH, BUS_NAME, signal_name, params)

    def register(self, connection):
        self.connection = connection
        info = Gio.DBusNodeInfo.new_for_xml(INTROSPECTION)
        for iface in info.interfaces:
            self.registrations.append(connection.register_object(
                OBJECT_PATH, iface, self.on_call, None, None))

    def close(self):
        if self.connection is not None:
            for reg in self.registrations:
                self.connection.unregister_object(reg)
        self.out.close()


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    if len(args) != 1 or flags - {"--replace"}:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    recorder = Recorder(args[0])
    loop = GLib.MainLoop()
    status = {"code": 0}

    def stop(code):
        status["code"] = code
        loop.quit()
        return GLib.SOURCE_REMOVE

    def acquired(_conn, _name):
        print("ready", flush=True)

    def lost(_conn, _name):
        print(f"notifications_recorder: {BUS_NAME} is owned by someone else (or was lost)",
              file=sys.stderr)
        stop(1)

    # ALLOW_REPLACEMENT: a later recorder started with --replace may take over.
    own_flags = Gio.BusNameOwnerFlags.DO_NOT_QUEUE | Gio.BusNameOwnerFlags.ALLOW_REPLACEMENT
    if "--replace" in flags:
        own_flags |= Gio.BusNameOwnerFlags.REPLACE
    owner = Gio.bus_own_name(Gio.BusType.SESSION, BUS_NAME, own_flags,
                             lambda conn, _name: recorder.register(conn), acquired, lost)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, stop, 0)
    loop.run()
    if status["code"] == 0:  # a lost name is not ours to release
        Gio.bus_unown_name(owner)
    recorder.close()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
