#!/usr/bin/python3
"""Self-test of the e2e library: drives a throwaway GTK 4 window (selftest_app.py) through
AT-SPI and real key presses, records notifications (gdbus, notify-send and GLib's
GNotification fallback) with tests/e2e/notifications_recorder.py, and lets two msnp-cli
contacts chat through msnp-server.

    selftest.py [--own-session] [--skip-msnp] [--build]

By default it uses the display and bus it runs in when E2E_REUSE_SESSION=1 (as run.sh sets
inside xvfb-run + dbus-run-session), else it starts its own; --own-session always starts its
own. --build builds msnp-server and msnp-cli first. Ends with "selftest: N passed, N failed".
"""

import json
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

# Run as a script: make `lib` importable from tests/e2e, and leave no __pycache__ in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib import (  # noqa: E402
    E2ETimeout, MsnpCli, MsnpServer, Notifications, Session, cargo_binary, wait_until,
)

HERE = Path(__file__).resolve().parent
APP = HERE / "selftest_app.py"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def test_gtk_window_through_atspi(session):
    proc = session.spawn([sys.executable, str(APP)], log_name="selftest_app")
    app = session.wait_app(pid=proc.pid, timeout=30)
    # GTK names the application after the program.
    check(app.name == "selftest_app.py", f"app name {app.name!r}")
    window = app.find("frame", "E2E Self-test")

    # Typing through the EditableText interface, pressing through the Action interface.
    entry = window.find("text", "Email address")
    entry.set_text("ann@example.com")
    sign_in = window.find("push button", "Sign In")
    check("click" in sign_in.actions(), f"button actions {sign_in.actions()}")
    sign_in.click()
    status = window.find("label", re.compile(r"^Signed in as "))
    status.wait_text("Signed in as ann@example.com")
    contacts = window.find("list", "Contacts")
    rows = contacts.rows()
    check(rows == [["Contact of ann@example.com"]], f"rows {rows}")
    shot = session.screenshot("signed-in")
    check(shot.stat().st_size > 1000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n",
          f"screenshot {shot}")

    # Real key presses: xdotool clicks the entry, selects all, types over it, presses Enter.
    session.type_text(entry, "bob@example.com")
    entry.wait_text("bob@example.com")
    session.key("Return")
    window.find("label", "Signed in as bob@example.com")
    check(contacts.rows() == [["Contact of ann@example.com"], ["Contact of bob@example.com"]],
          f"rows {contacts.rows()}")
    session.screenshot("typed")

    # A search that fails says what was there instead.
    started = time.monotonic()
    try:
        window.find("push button", "Sign Out", timeout=0.5)
    except E2ETimeout as e:
        check("push button 'Sign In'" in str(e), f"no tree in the error: {e}")
    else:
        raise AssertionError("found a button that does not exist")
    check(time.monotonic() - started < 5, "the time-out was not honoured")

    # Once it has quit, the app leaves the accessibility bus.
    from lib import a11y

    session.end(proc)

    def gone():
        for other in a11y.applications():
            try:
                if other.pid == proc.pid:
                    return False
            except Exception:
                continue
        return True

    wait_until(gone, 10, "the app to leave the accessibility bus")


def gdbus(session, *args):
    out = subprocess.run(["gdbus", "call", "--session", "--dest",
                          "org.freedesktop.Notifications", "--object-path",
                          "/org/freedesktop/Notifications", *args],
                         env=session.env, capture_output=True, text=True, timeout=10)
    check(out.returncode == 0, f"gdbus {args}: {out.stderr}")
    return out.stdout.strip()


# A GApplication that sends one notification with a button and waits for the button.
NOTIFYING_APP = r"""
import sys
from gi.repository import Gio, GLib
app = Gio.Application(application_id="org.example.E2ENotifier")
def activate(app):
    app.hold()
    note = Gio.Notification.new("Bob says")
    note.set_body("hello <b>there</b>")
    note.add_button("Reply", "app.reply")
    app.send_notification("msg-1", note)
    print("sent", flush=True)
def reply(_action, _param):
    print("reply pressed", flush=True)
    app.quit()
action = Gio.SimpleAction.new("reply", None)
action.connect("activate", reply)
app.add_action(action)
app.connect("activate", activate)
GLib.timeout_add_seconds(20, app.quit)
sys.exit(app.run([]))
"""


def test_notification_recorder(session):
    notes = Notifications(session)

    # The server's own methods.
    caps = gdbus(session, "--method", "org.freedesktop.Notifications.GetCapabilities")
    check("'actions'" in caps and "'body'" in caps, f"capabilities {caps}")
    info = gdbus(session, "--method", "org.freedesktop.Notifications.GetServerInformation")
    check("'1.2'" in info, f"server information {info}")

    # A raw Notify call.
    reply = gdbus(session, "--method", "org.freedesktop.Notifications.Notify",
                  "gdbus-test", "0", "dialog-information", "Raw summary", "Raw body",
                  "['ok', 'OK', 'no', 'Cancel']", "{'urgency': <byte 1>}", "5000")
    nid = int(re.fullmatch(r"\(uint32 (\d+),\)", reply).group(1))
    note = notes.wait_for({"summary": "Raw summary"})
    check(note["app_name"] == "gdbus-test" and note["body"] == "Raw body", f"{note}")
    check(note["actions"] == [["ok", "OK"], ["no", "Cancel"]], f"actions {note['actions']}")
    check(note["hints"] == {"urgency": 1} and note["expire_timeout"] == 5000, f"{note}")
    check(note["id"] == nid, f"id {note['id']} vs {nid}")
    gdbus(session, "--method", "org.freedesktop.Notifications.CloseNotification", str(nid))
    notes.wait_for({"id": nid}, method="CloseNotification")

    # notify-send (libnotify-bin), the usual command-line client.
    out = subprocess.run(["notify-send", "--app-name=notify-send-test", "Hello", "From notify-send"],
                         env=session.env, capture_output=True, text=True, timeout=15)
    check(out.returncode == 0, f"notify-send: {out.stderr}")
    note = notes.wait_for({"summary": "Hello"})
    check(note["app_name"] == "notify-send-test" and note["body"] == "From notify-send",
          f"{note}")

    # What the app will do: GLib's GNotification, which under a bare session bus goes to
    # org.freedesktop.Notifications; the button comes back to the app as its action.
    app = session.spawn([sys.executable, "-c", NOTIFYING_APP], stdout=subprocess.PIPE,
                        text=True, log_name="notifier")
    check(app.stdout.readline().strip() == "sent", "the notifying app did not send")
    note = notes.wait_for({"summary": "Bob says"})
    check(note["body"] == "hello <b>there</b>", f"body {note['body']!r}")
    labels = [label for _key, label in note["actions"]]
    check(labels == ["Reply"], f"actions {note['actions']}")
    key = note["actions"][0][0]
    notes.invoke_action(note["id"], key)
    check(app.stdout.readline().strip() == "reply pressed", "the button did not reach the app")
    check(app.wait(timeout=10) == 0, "the notifying app failed")
    print(f"  GNotification arrived as: {json.dumps({k: note[k] for k in ('app_name', 'actions', 'hints')})}")

    check(notes.stop() == 0, "the recorder did not exit cleanly")


def test_msnp_peers(build):
    cargo_binary("msnp-server", build=build, env_var="MSNP_SERVER_BIN")
    cargo_binary("msnp-cli", example=True, build=build, env_var="MSNP_CLI_BIN")
    accounts = [("ann@example.com", "pw-ann", "Ann"), ("bob@example.com", "pw-bob", "Bob")]
    with MsnpServer(accounts=accounts, name="selftest-server") as server:
        check(server.port > 0, f"address {server.address}")
        with MsnpCli(server.address, "ann@example.com", "pw-ann") as ann, \
                MsnpCli(server.address, "bob@example.com", "pw-bob") as bob:
            ann.wait_event({"event": "signed_in", "display_name": "Ann"}, timeout=20)
            bob.wait_event({"event": "signed_in"}, timeout=20)
            # Signed in is not yet online: a message to Bob before his NLN finds him offline.
            for peer in (ann, bob):
                peer.wait_event({"event": "status", "status": "NLN"}, timeout=20)
            ann.send("msg bob@example.com hello from ann")
            got = bob.wait_event({"event": "message", "from": "ann@example.com"}, timeout=20)
            check(got["text"] == "hello from ann", f"message {got}")
            ann.wait_event(lambda e: e["event"] == "delivered", timeout=20)
            # The control channel sees both sessions and their switchboard, and closes it.
            online = [s["account"] for s in server.control("sessions")]
            check(online == ["ann@example.com", "bob@example.com"], f"sessions {online}")
            boards = server.control("switchboards")
            check(len(boards) == 1, f"switchboards {boards}")
            closed = server.control("close-switchboards", passport="ann@example.com")
            check(closed == [boards[0]["session_id"]], f"closed {closed}")
            try:
                server.control("account", passport="nobody@example.com")
            except RuntimeError as e:
                check("no account" in str(e), f"error {e}")
            else:
                raise AssertionError("control answered for an unknown account")
            try:
                bob.wait_event({"event": "nudge"}, timeout=0.3)
            except E2ETimeout as e:
                check("message" in str(e), "the time-out does not list what came")
            else:
                raise AssertionError("a nudge that nobody sent")
        with MsnpCli(server.address, "ann@example.com", "wrong") as eve:
            eve.wait_event({"event": "error", "kind": "sign_in_failed"}, timeout=20)


def main(argv):
    own = "--own-session" in argv
    skip_msnp = "--skip-msnp" in argv
    build = "--build" in argv
    results = []

    def run(name, fn, *args):
        started = time.monotonic()
        try:
            fn(*args)
        except Exception:
            results.append(False)
            print(f"FAIL {name} ({time.monotonic() - started:.1f} s)")
            traceback.print_exc()
        else:
            results.append(True)
            print(f"ok   {name} ({time.monotonic() - started:.1f} s)")

    mode = "own" if own else "reuse"
    try:
        with Session("selftest-" + mode, reuse=False if own else None) as session:
            print(f"session: DISPLAY={session.env['DISPLAY']} "
                  f"({'own Xvfb and bus' if not session.reuse else 'reused'}), "
                  f"artifacts in {session.artifacts}")
            run("gtk window through AT-SPI", test_gtk_window_through_atspi, session)
            run("notification recorder", test_notification_recorder, session)
    except Exception:
        results.append(False)
        print("FAIL session")
        traceback.print_exc()
    if not skip_msnp:
        run("msnp-server and msnp-cli peers", test_msnp_peers, build)
    passed = results.count(True)
    failed = results.count(False)
    print(f"selftest: {passed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
