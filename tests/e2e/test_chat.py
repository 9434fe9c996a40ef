#!/usr/bin/python3
"""Conversations end to end: the real `mariposa` window against `msnp-server` (with
`--control`) and scripted `msnp-cli` contacts (Bob, Carol), driven through AT-SPI and real key
presses; screenshots in <target>/e2e-artifacts/chat/.

Open a conversation from the contact list, send, see "Bob is typing…" and the reply; a
formatted message with emoticon codes (screenshot); the own font and colour from the settings
and then chosen with the Font and Text colour dialogs, checked in the X-MMS-IM-Format the peer
receives; the emoticon picker; nudges both ways (the content shakes); the X11 urgency hint
while another window has the focus; the server killed while a line is on its way (the line
fails; Retry after the restart on the same port delivers it once); the switchboard closed by
the server (the next line goes through a new one); a third person invited (participant list,
title, lines among three, one leaving).

    xvfb-run -a -s "-screen 0 1024x768x24 -noreset" dbus-run-session -- /usr/bin/python3 tests/e2e/test_chat.py
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

from lib import MsnpCli, MsnpServer, Notifications, Session, cargo_binary, wait_until  # noqa: E402

ANN = ("ann@example.com", "ann-pw", "Ann")
BOB = ("bob@example.com", "bob-pw", "Bob")
CAROL = ("carol@example.com", "carol-pw", "Carol")
PEOPLE = (ANN, BOB, CAROL)
# What the user picked in the Font button (written to settings.json before the app starts).
OWN_FONT = "DejaVu Serif"
OWN_COLOR = "#1c71d8"


def enc(text):
    return text.replace("%", "%25").replace(" ", "%20")


def write_state(path):
    """Ann follows Bob and Carol; they follow and allow her (presence both ways)."""

    def account(who, fl):
        return {
            "display_name": enc(who[2]), "version": 1, "gtc": "Ask", "blp": "AllowAll",
            "properties": {}, "groups": {"0": enc("Other Contacts")},
            "fl": {p[0]: {"nick": enc(p[2]), "groups": [0]} for p in fl},
            "al": {p[0]: enc(p[2]) for p in fl}, "bl": {}, "rl": {},
        }

    accounts = {ANN[0]: account(ANN, (BOB, CAROL)),
                BOB[0]: account(BOB, (ANN, CAROL)),
                CAROL[0]: account(CAROL, (ANN, BOB))}
    for owner, data in accounts.items():
        data["rl"] = {p[0]: enc(p[2]) for p in PEOPLE
                      if p[0] in accounts and owner in accounts[p[0]]["fl"]}
    with open(path, "w") as f:
        json.dump({"format": 1, "accounts": accounts}, f)


def row_texts(conv_list):
    """Every message row of the conversation list as one string."""
    return [" | ".join(r) for r in conv_list.rows()]


def wait_row(conv_list, pattern, timeout=20, what=None):
    """Waits for a message row whose texts match `pattern` (regex) and returns it."""
    rx = re.compile(pattern)
    return wait_until(lambda: next((r for r in row_texts(conv_list) if rx.search(r)), None),
                      timeout, what or f"a row matching {pattern!r}",
                      describe=lambda: f"rows: {row_texts(conv_list)[-8:]}")


def main():
    tmp = tempfile.mkdtemp(prefix="e2e-chat-")
    state = os.path.join(tmp, "state.json")
    write_state(state)
    accounts = [(p[0], p[1], p[2]) for p in PEOPLE]
    srv = {"server": MsnpServer(accounts=accounts, extra_args=["--state", state]).start()}
    server = srv["server"]
    port = server.port
    results = []

    def step(name, fn):
        t = time.monotonic()
        fn()
        results.append(name)
        print(f"ok   {name} ({time.monotonic() - t:.1f} s)", flush=True)

    try:
        with Session("chat") as s, \
                MsnpCli(server.address, BOB[0], BOB[1]) as bob, \
                MsnpCli(server.address, CAROL[0], CAROL[1]) as carol:
            for cli in (bob, carol):
                cli.wait_event({"event": "status", "status": "NLN"}, timeout=20)
            notes = Notifications(s)  # owns org.freedesktop.Notifications before the app starts
            # The sign-in page remembers the account and server; the font and colour are the
            # ones the Font button stores.
            config = os.path.join(s.env["XDG_CONFIG_HOME"], "mariposa")
            os.makedirs(config, exist_ok=True)
            with open(os.path.join(config, "settings.json"), "w") as f:
                json.dump({"version": 1,
                           "accounts": [{"email": ANN[0], "server": server.address,
                                         "status": "NLN"}],
                           "chat_font": OWN_FONT, "chat_color": OWN_COLOR}, f)
            app_proc = s.spawn([str(cargo_binary("mariposa"))],
                               env={"MARIPOSA_DEBUG": "1", "MARIPOSA_SEND_TIMEOUT_SECS": "8"})
            app = s.wait_app(pid=app_proc.pid)
            main_win = app.find("frame", "Mariposa", timeout=30)
            ctx = {}

            def sign_in():
                s.type_text(main_win.find("password text", "Password"), ANN[1])
                main_win.find("push button", "Sign In").click()
                contacts = main_win.find("list", "Contacts", timeout=30)
                wait_until(lambda: contacts.find_all(name="Bob") and
                           contacts.find_all(name="Carol"), 20, "Bob and Carol listed")
                bob.wait_event({"event": "presence", "account": ANN[0], "status": "NLN"},
                               timeout=20)

            def open_and_exchange():
                search = main_win.find("entry", "Search contacts")
                s.type_text(search, "bob")
                time.sleep(0.5)
                s.key("Return")
                win = app.find(None, "Bob — Conversation", timeout=15)
                ctx["win"] = win
                ctx["list"] = win.find("list", "Conversation")
                entry = win.find("text", "Message")
                s.type_text(entry, "Hello <b>Bob</b> & co")
                s.key("Return")
                got = bob.wait_event({"event": "message", "from": ANN[0]}, timeout=20)
                assert got["text"] == "Hello <b>Bob</b> & co", got
                wait_row(ctx["list"], r"^Me \|.*\| Delivered \| Hello <b>Bob</b> & co$", 20,
                         "the own line delivered")
                bob.send(f"typing {ANN[0]}")
                win.find("label", "Bob is typing…", timeout=10)
                s.screenshot("typing")
                bob.send(f"msg {ANN[0]} Hi Ann, <i>not italic</i>")
                wait_row(ctx["list"], r"^Bob \|.*Hi Ann, <i>not italic</i>")
                win.wait_gone("label", "Bob is typing…", timeout=10)

            def formatting_and_emoticons():
                bob.send(f"fmsg {ANN[0]} FN=Comic%20Sans%20MS;EF=BI;CO=ff;PF=22 "
                         "Formatted (L) :) (S) :s http://example.com/(L)")
                wait_row(ctx["list"], r"Formatted ❤️ 🙂 🌙 😕 http://example.com/\(L\)")
                time.sleep(0.7)
                ctx["shot_format"] = s.screenshot("formatted-emoticons")

            def font_button():
                # The Font button by hand: the chooser, a font picked with the pointer, Select.
                win = ctx["win"]
                win.find("push button", "Font").click()
                dialog = app.find("dialog", "Message Font", timeout=10)
                s.type_text(dialog.find("entry", "GtkSearchEntry"), "DejaVu Sans Mono")
                s.click_at(dialog.find("label", "DejaVu Sans Mono Bold", timeout=10))
                time.sleep(0.5)
                ctx["shot_font"] = s.screenshot("font-dialog")
                # GTK 4.8 names the dialog's buttons "_Select Select".
                dialog.find("push button", re.compile(r"Select$")).click()
                app.wait_gone("dialog", "Message Font")
                # No window manager: give the chat window the keyboard back by hand.
                s.xdotool("windowfocus", s.window_of(win.find("text", "Message")))
                settings = os.path.join(s.env["XDG_CONFIG_HOME"], "mariposa", "settings.json")
                wait_until(lambda: "DejaVu Sans Mono Bold" in open(settings).read(), 10,
                           "the font saved in settings.json")
                s.type_text(win.find("text", "Message"), "Typed in the chosen font")
                time.sleep(0.3)
                s.screenshot("typing-in-own-font")
                s.key("Return")
                got = bob.wait_event({"event": "message", "text": "Typed in the chosen font"},
                                     timeout=20)
                assert "FN=DejaVu%20Sans%20Mono; EF=B;" in got["format"], got
                time.sleep(0.5)
                s.screenshot("own-font-line")
                win.find("push button", "Text colour").click()
                dialog = app.find("dialog", "Text Colour", timeout=10)
                s.click_at(dialog.find("radio button", "Dark Red"))
                time.sleep(0.3)
                s.screenshot("colour-dialog")
                dialog.find("push button", re.compile(r"Select$")).click()
                app.wait_gone("dialog", "Text Colour")
                colour = wait_until(
                    lambda: (lambda c: c if c not in ("", OWN_COLOR) else None)(
                        json.load(open(settings)).get("chat_color", "")),
                    10, "the colour saved in settings.json")
                assert re.fullmatch(r"#[0-9a-f]{6}", colour), colour
                bgr = f"{int(colour[5:7], 16):x}{colour[3:5]}{colour[1:3]}"
                s.xdotool("windowfocus", s.window_of(win.find("text", "Message")))
                s.type_text(win.find("text", "Message"), "Now in dark red")
                s.key("Return")
                got = bob.wait_event({"event": "message", "text": "Now in dark red"},
                                     timeout=20)
                assert f"; CO={bgr.lstrip('0') or '0'};" in got["format"], (colour, got)
                time.sleep(0.5)
                s.screenshot("own-colour-line")

            def emoticon_picker():
                win = ctx["win"]
                win.find("push button", "Emoticons").click()
                win.find("push button", "(Y)", timeout=10).click()
                win.find("text", "Message").wait_text("(Y)")
                win.find("push button", "Send").click()
                got = bob.wait_event({"event": "message", "from": ANN[0], "text": "(Y)"},
                                     timeout=20)
                wait_row(ctx["list"], r"^Me \|.*\| 👍$")

            def nudges():
                win = ctx["win"]
                s.click_at(win.find("text", "Message"))
                s.key("ctrl+g")
                bob.wait_event({"event": "nudge", "from": ANN[0]}, timeout=20)
                wait_row(ctx["list"], r"You sent a nudge\.")
                entry = win.find("text", "Message")
                bob.send(f"nudge {ANN[0]}")
                # The window shakes: the content moves sideways for a moment.
                xs = set()
                end = time.monotonic() + 3
                while time.monotonic() < end and len(xs) < 3:
                    xs.add(entry.extents()[0])
                    time.sleep(0.01)
                assert len(xs) >= 2, f"no shake seen (x positions {xs})"
                wait_row(ctx["list"], r"Bob sent you a nudge\.")
                time.sleep(0.1)
                s.screenshot("nudge-received")

            def urgency():
                # The main window has the keyboard; a line arrives in the chat window.
                chat_wid = s.window_of(ctx["win"].find("text", "Message"))
                s.xdotool("windowfocus", s.window_of(main_win.find("entry", "Search contacts")))
                time.sleep(0.5)
                bob.send(f"msg {ANN[0]} Are you there?")
                wait_row(ctx["list"], r"^Bob \|.*\| Are you there\?$")

                def hints():
                    out = subprocess.run(["xprop", "-id", chat_wid, "WM_HINTS"], env=s.env,
                                         capture_output=True, text=True).stdout
                    return out
                wait_until(lambda: "urgency" in hints().lower(), 10,
                           "the urgency hint on the chat window", describe=hints)
                print("  WM_HINTS:", " ".join(hints().split()), flush=True)
                # Unfocused, the line also raised a notification whose Reply opens the chat.
                note = notes.wait_for(lambda n: n["summary"] == "Bob"
                                      and "Are you there?" in n["body"], 15)
                reply = [key for key, label in note["actions"] if label == "Reply"]
                assert reply, f"no Reply button on {note}"
                notes.invoke_action(note["id"], reply[0])
                s.xdotool("windowfocus", chat_wid)
                wait_until(lambda: "urgency" not in hints().lower(), 10,
                           "the urgency hint cleared once focused", describe=hints)

            def own_font():
                s.type_text(ctx["win"].find("text", "Message"), "In my own font")
                s.key("Return")
                got = bob.wait_event({"event": "message", "text": "In my own font"}, timeout=20)
                fmt = got.get("format", "")
                assert "FN=DejaVu%20Serif" in fmt, got
                # #1c71d8 → BGR d8711c
                assert "CO=d8711c" in fmt, got
                ctx["win"].find("push button", "Font")

            def server_killed():
                text = "Sent while the server dies"
                # Frozen first, so the line is on its way (no ACK), then killed.
                srv["server"].proc.send_signal(signal.SIGSTOP)
                s.type_text(ctx["win"].find("text", "Message"), text)
                s.key("Return")
                wait_row(ctx["list"], r"\| Sending… \| " + text)
                srv["server"].proc.kill()
                srv["server"].proc.wait()
                srv["server"].stop()
                wait_row(ctx["list"], r"\| Not delivered \| " + text + r" \| Message could not be delivered: ", 40,
                         "the line marked failed")
                s.screenshot("failed-retry")
                srv["server"] = MsnpServer(accounts=accounts, name="msnp-server-2",
                                           listen=f"127.0.0.1:{port}",
                                           extra_args=["--state", state]).start()
                # Reconnect at once rather than after the backoff, if still waiting.
                for button in main_win.find_all("push button", "Retry now", visible=True):
                    try:
                        button.click()
                    except RuntimeError:
                        pass  # already reconnected: the banner went away
                bob.wait_event({"event": "presence", "account": ANN[0], "status": "NLN"},
                               timeout=60)
                ctx["win"].find("push button", "Retry", visible=True).click()
                got = bob.wait_event({"event": "message", "text": text}, timeout=30)
                assert got["from"] == ANN[0], got
                wait_row(ctx["list"], r"^Me \|.*\| Delivered \| " + text)

            def switchboard_closed():
                server = srv["server"]
                before = [b for b in server.control("switchboards")
                          if ANN[0] in b["participants"]]
                assert before, server.control("switchboards")
                closed = server.control("close-switchboards", passport=ANN[0])
                assert sorted(closed) == sorted(b["session_id"] for b in before), closed
                wait_until(lambda: not [b for b in server.control("switchboards")
                                        if ANN[0] in b["participants"]], 10,
                           "the switchboard gone on the server")
                time.sleep(0.5)  # the clients see their connections close
                text = "After the switchboard closed"
                s.type_text(ctx["win"].find("text", "Message"), text)
                s.key("Return")
                got = bob.wait_event({"event": "message", "text": text}, timeout=20)
                assert got["from"] == ANN[0], got
                wait_row(ctx["list"], r"^Me \|.*\| Delivered \| " + text + "$")
                after = [b["session_id"] for b in server.control("switchboards")
                         if ANN[0] in b["participants"]]
                assert after and not set(after) & set(closed), (closed, after)

            def invite_third():
                win = ctx["win"]
                win.find("push button", "Invite").click()
                win.find("push button", "Carol", timeout=10).click()
                joined = carol.wait_event({"event": "joined", "account": ANN[0]}, timeout=30)
                carol_conv = joined["conversation"]
                app.find(None, "Bob, Carol — Conversation", timeout=20)
                wait_row(ctx["list"], r"Carol has joined the conversation\.")
                people = win.find("list", "Participants")
                wait_until(lambda: people.rows() == [["Bob"], ["Carol"]], 10,
                           "Bob and Carol in the participant list",
                           describe=lambda: f"rows: {people.rows()}")
                bob_joined = bob.wait_event({"event": "joined", "account": CAROL[0]}, timeout=20)
                bob_conv = bob_joined["conversation"]
                s.type_text(win.find("text", "Message"), "Hello you two")
                s.key("Return")
                for cli in (bob, carol):
                    got = cli.wait_event({"event": "message", "text": "Hello you two"},
                                         timeout=20)
                    assert got["from"] == ANN[0], got
                carol.send(f"say {carol_conv} Carol here")
                wait_row(ctx["list"], r"^Carol \|.*\| Carol here$")
                assert bob.wait_event({"event": "message", "text": "Carol here"},
                                      timeout=20)["from"] == CAROL[0]
                bob.send(f"say {bob_conv} Bob here too")
                wait_row(ctx["list"], r"^Bob \|.*\| Bob here too$")
                assert carol.wait_event({"event": "message", "text": "Bob here too"},
                                        timeout=20)["from"] == BOB[0]
                time.sleep(0.5)
                s.screenshot("three-people")
                # A contact's own group: Bob talks with Carol, then invites Ann. Her app opens a
                # second group window when the first line arrives.
                bob.send(f"msg {CAROL[0]} Just us two")
                opened = bob.wait_event({"event": "conversation", "with": CAROL[0]}, timeout=20)
                carol.wait_event({"event": "message", "text": "Just us two"}, timeout=20)
                bob.send(f"invite {opened['conversation']} {ANN[0]}")
                bob.wait_event({"event": "joined", "account": ANN[0],
                                "conversation": opened["conversation"]}, timeout=20)
                bob.send(f"say {opened['conversation']} Welcome to our group")
                title = "Bob, Carol — Conversation"
                wait_until(lambda: len(app.find_all(None, title)) == 2, 20,
                           "a second group window")
                second = next(w for w in app.find_all(None, title) if w != win)
                wait_row(second.find("list", "Conversation"), r"^Bob \|.*\| Welcome to our group$")
                assert second.find("list", "Participants").rows() == [["Bob"], ["Carol"]]
                # The last logged lines shown on opening do not repeat the live one.
                time.sleep(0.5)
                welcome = [r for r in row_texts(second.find("list", "Conversation"))
                           if r.endswith("Welcome to our group")]
                assert len(welcome) == 1, welcome
                # The first group window did not get that line.
                assert not [r for r in row_texts(ctx["list"]) if "Welcome" in r]
                s.screenshot("invited-into-a-group")
                # Carol leaves: a line, and the list and title follow.
                carol.quit()
                wait_row(ctx["list"], r"Carol has left the conversation\.")
                wait_until(lambda: people.rows() == [["Bob"]], 10, "only Bob listed",
                           describe=lambda: f"rows: {people.rows()}")
                app.find(None, "Bob — Conversation", timeout=10)
                # Retry sent the failed line once, not twice.
                dies = [e for e in bob.events if e.get("event") == "message"
                        and e.get("text") == "Sent while the server dies"]
                assert len(dies) == 1, dies

            step("sign in", sign_in)
            step("open a conversation from the list, send, typing and reply", open_and_exchange)
            step("formatted message with emoticons", formatting_and_emoticons)
            step("own font and colour (from the settings) in X-MMS-IM-Format", own_font)
            step("the Font and Text colour buttons", font_button)
            step("the emoticon picker inserts a code", emoticon_picker)
            step("nudges both ways", nudges)
            step("urgency hint while another window has the focus", urgency)
            step("server killed mid-send: failed, Retry after the restart", server_killed)
            step("switchboard closed by the server: the next line goes through a new one",
                 switchboard_closed)
            step("invite a third person; lines among three; one leaves", invite_third)
            print(f"test_chat: {len(results)} passed, 0 failed")
    finally:
        srv["server"].stop()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        import traceback
        traceback.print_exc()
        print("test_chat: FAILED")
        sys.exit(1)
