#!/usr/bin/python3
"""MSNP8 in the real window: "Automatic" signs in with Passport (TWN) over HTTPS and shows
"Connected with MSNP8"; an MSNP7 contact (msnp-cli) sees us online and we chat both ways; with
"MSNP7 only" a wrong password gives the hint to choose Automatic, and the right one signs in
with MSNP7 (and the choice is saved); `--demo` signs in to its own server with MSNP8.

The server's Passport endpoints use a CA generated at its start: the app trusts it through the
test-only `MARIPOSA_EXTRA_CA` and asks its nexus through `MARIPOSA_NEXUS_URL`.

    xvfb-run -a -s "-screen 0 1024x768x24 -noreset" dbus-run-session -- \\
        /usr/bin/python3 tests/e2e/test_msnp8.py
"""

import json
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree

from lib import MsnpCli, MsnpServer, Session, cargo_binary, wait_until  # noqa: E402

ANN = ("ann@example.com", "ann-pw", "Ann Arbor")
BOB = ("bob@example.com", "bob-pw", "Bob Seven")


def enc(text):
    return text.replace("%", "%25").replace(" ", "%20")


def write_state(path):
    """Ann and Bob have each other on their forward, allow and reverse lists."""

    def account(me, other):
        return {
            "display_name": enc(me[2]),
            "version": 1,
            "gtc": "Ask",
            "blp": "AllowAll",
            "properties": {},
            "groups": {"0": "Other%20Contacts"},
            "fl": {other[0]: {"nick": enc(other[2]), "groups": [0]}},
            "al": {other[0]: enc(other[2])},
            "bl": {},
            "rl": {other[0]: enc(other[2])},
        }

    with open(path, "w") as f:
        json.dump({"format": 1, "accounts": {ANN[0]: account(ANN, BOB),
                                             BOB[0]: account(BOB, ANN)}}, f)


def choose(session, win, dropdown_name, item):
    """Picks `item` in the drop-down with this accessible name: opens its popover and moves
    there with the keyboard (the popover's list has the focus on the selected row)."""
    dropdown = win.find("combo box", dropdown_name, visible=True)
    session.click_at(dropdown)
    listing = dropdown.find("list", timeout=5)
    wait_until(lambda: any(r.has_state("focused") for r in listing.find_all("list item")), 5,
               "the popover's focus")
    rows = listing.find_all("list item")
    texts = [" ".join(r.texts()) for r in rows]
    current = next(i for i, r in enumerate(rows) if r.has_state("focused"))
    target = texts.index(item)
    step = "Down" if target > current else "Up"
    for _ in range(abs(target - current)):
        session.key(step)
    session.key("Return")
    button = dropdown.find("push button")
    wait_until(lambda: item in button.texts(), 5, f"{dropdown_name} to show {item}")


def main():
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="e2e-msnp8-")
    state = os.path.join(tmp, "state.json")
    write_state(state)
    with MsnpServer(accounts=[ANN, BOB], https=True, extra_args=["--state", state],
                    name="msnp-server-msnp8") as server, Session("msnp8") as s:
        assert server.nexus_url and server.nexus_url.startswith("https://127.0.0.1:"), \
            server.nexus_url
        env = {"MARIPOSA_EXTRA_CA": server.ca_file, "MARIPOSA_NEXUS_URL": server.nexus_url}
        proc = s.spawn([str(cargo_binary("mariposa"))], env=env)
        app = s.wait_app(pid=proc.pid)
        win = app.find("frame", "Mariposa", timeout=30)

        # --- Automatic (the default) lands on MSNP8 -------------------------------------
        win.find("text", "Email address").set_text(ANN[0])
        win.find("text", "Server").set_text(server.address)
        s.type_text(win.find("password text", "Password"), ANN[1])
        win.find(name="Advanced", visible=True).click()
        win.find("label", "Automatic", visible=True)  # the drop-down shows the default
        s.screenshot("sign-in-automatic")
        win.find("push button", "Sign In").click()
        proto = win.find("label", "Connected with MSNP8", timeout=30)
        assert proto.is_visible(), "the protocol label is shown"
        s.screenshot("signed-in-msnp8")
        print("msnp8: signed in with Automatic → MSNP8")

        # --- an MSNP7 contact sees us and we chat ------------------------------------------
        with MsnpCli(server.address, BOB[0], BOB[1], protocol="MSNP7") as bob:
            signed = bob.wait_event({"event": "signed_in"}, timeout=20)
            assert signed["protocol"] == "MSNP7", signed
            bob.wait_event({"event": "presence", "account": ANN[0], "status": "NLN"},
                           timeout=20)
            contacts = win.find("list", "Contacts")
            # An online contact's row has no status word ("Online" goes without saying).
            wait_until(lambda: any(BOB[2] in r and "Offline" not in r
                                   for r in contacts.rows()), 20,
                       "Bob to be online in the list")
            # Open the conversation from the list (search, Enter), then Bob writes first.
            s.type_text(win.find("entry", "Search contacts"), "Bob")
            time.sleep(0.5)
            s.key("Return")
            chat = app.find(name=BOB[2] + " — Conversation", timeout=15)
            bob.send(f"msg {ANN[0]} hello from MSNP7")
            chat.find(name=lambda n: "hello from MSNP7" in (n or ""), timeout=20)
            s.type_text(chat.find("text", "Message"), "hi from MSNP8")
            s.key("Return")
            got = bob.wait_event({"event": "message", "from": ANN[0]}, timeout=20)
            assert got["text"] == "hi from MSNP8", got
            s.screenshot("mixed-chat")
            print("msnp8: MSNP7 peer saw us online; messages both ways")
            s.key("ctrl+w")
            bob.quit()

        # --- MSNP7 only: a wrong password suggests Automatic; the right one signs in --------
        win.find(name="Main Menu").click()
        sign_out = app.find(name="Sign Out", visible=True, timeout=5)
        sign_out.click()
        win.find("push button", "Sign In", timeout=15)
        choose(s, win, "Protocol", "MSNP7 only")
        s.type_text(win.find("password text", "Password"), "wrong-password")
        win.find("push button", "Sign In").click()
        error = win.find("label", lambda n: "Automatic" in (n or "") and "MSNP8" in (n or ""),
                         timeout=20)
        print(f"msnp8: MSNP7 wrong password says: {error.text()!r}")
        s.screenshot("msnp7-wrong-password-hint")
        s.type_text(win.find("password text", "Password"), ANN[1])
        win.find("push button", "Sign In").click()
        win.find("label", "Connected with MSNP7", timeout=30)
        s.screenshot("signed-in-msnp7")
        print("msnp8: MSNP7 only signs in with MSNP7")

        # The choice is remembered for the account.
        s.end(proc)
        settings = os.path.join(s.env["XDG_CONFIG_HOME"], "mariposa", "settings.json")
        with open(settings) as f:
            saved = json.load(f)
        assert saved["accounts"][0]["protocol"] == "Msnp7Only", saved["accounts"][0]
        print("msnp8: the choice is saved with the account")

        # --- the demo mode signs in to its in-process server with MSNP8 ---------------------
        demo = s.spawn([str(cargo_binary("mariposa")), "--demo"], log_name="mariposa-demo")
        demo_app = s.wait_app(pid=demo.pid)
        demo_win = demo_app.find("frame", "Mariposa (Demo)", timeout=30)
        demo_win.find("label", "Connected with MSNP8", timeout=30)
        s.screenshot("demo-msnp8")
        print("msnp8: --demo signs in with MSNP8")
        s.end(demo)
    print(f"msnp8: passed in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
