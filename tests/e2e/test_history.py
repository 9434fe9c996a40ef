#!/usr/bin/python3
"""End-to-end test of the history window, driven through the accessibility tree.

Before the app starts, chat logs are written into its data dir in the exact format the app
writes (JSON Lines, one file per contact): 3,000 lines with Bob, a few with Carol. Alice signs
in, Bob (msnp-cli) sends a live line, which the app logs and shows in a conversation window.
Ctrl+H in that window opens the history on Bob's log with the live line at the bottom; the
search finds a word in Carol's log and opening the hit shows it in its log; the log is exported
to text and HTML files through the save dialog and both files are checked; the contact's menu "View
History" and Ctrl+H in the main window open the window too.

    xvfb-run -a -s "-screen 0 1024x768x24 -noreset" dbus-run-session -- /usr/bin/python3 tests/e2e/test_history.py
"""

import json
import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True

from lib import MsnpCli, MsnpServer, Session, cargo_binary  # noqa: E402
from lib.waiting import wait_until  # noqa: E402

ALICE = ("alice@example.com", "alice-pw", "Alice")
BOB = ("bob@example.com", "bob-pw", "Bob Builder")
CAROL = ("carol@example.com", "carol-pw", "Carol Singer")
BOB_LINES = 3000


def enc(text):
    return text.replace("%", "%25").replace(" ", "%20")


def state_file(path):
    """Alice follows Bob and Carol; both follow and allow her."""

    def account(who, contacts):
        return {
            "display_name": enc(who[2]), "version": 1, "gtc": "Ask", "blp": "AllowAll",
            "properties": {}, "groups": {"0": enc("Other Contacts")},
            "fl": {c[0]: {"nick": enc(c[2]), "groups": [0]} for c in contacts},
            "al": {c[0]: enc(c[2]) for c in contacts},
            "bl": {},
            "rl": {c[0]: enc(c[2]) for c in contacts},
        }

    accounts = {ALICE[0]: account(ALICE, [BOB, CAROL]),
                BOB[0]: account(BOB, [ALICE]),
                CAROL[0]: account(CAROL, [ALICE])}
    with open(path, "w") as f:
        json.dump({"format": 1, "accounts": accounts}, f)


def write_logs(data_home):
    """The logs as src/store/history.rs writes them: <data>/mariposa/history/<own>/<contact>.jsonl."""
    base = os.path.join(data_home, "mariposa", "history", ALICE[0])
    os.makedirs(base, exist_ok=True)
    t0 = int(time.time()) - 86400 * 30
    with open(os.path.join(base, BOB[0] + ".jsonl"), "w") as f:
        for i in range(BOB_LINES):
            own = i % 2 == 0
            entry = {"time": t0 + i * 60, "own": own, "name": "Me" if own else "Bob Builder",
                     "text": f"old line {i} with Bob"}
            if i == 0:
                entry["text"] = "the very first line <b>not bold</b> &amp;"
            if i % 10 == 3:
                entry["format"] = "FN=Serif; EF=B; CO=ff; CS=0; PF=22"
            f.write(json.dumps(entry, separators=(",", ":")) + "\n")
    with open(os.path.join(base, CAROL[0] + ".jsonl"), "w") as f:
        for i, text in enumerate(["hi Alice", "shall we meet at the lighthouse?", "bye"]):
            f.write(json.dumps({"time": t0 + i * 60, "own": False, "name": "Carol Singer",
                                "text": text}) + "\n")


def raise_window(s, node):
    """No window manager here: put the window of `node` on top and give it the keyboard focus
    (GTK sets the X focus itself when it presents a window, so it does not follow the pointer)."""
    wid = s.window_of(node)
    s.xdotool("windowraise", wid)
    s.xdotool("windowfocus", wid)
    time.sleep(0.3)


def main():
    tmp = tempfile.mkdtemp(prefix="mariposa-e2e-history-")
    state = os.path.join(tmp, "state.json")
    state_file(state)
    export_path = os.path.join(tmp, "exported", "bob.txt")
    os.makedirs(os.path.dirname(export_path))
    passed = []

    def step(name):
        passed.append(name)
        print(f"ok   {name}", flush=True)

    with MsnpServer(accounts=[ALICE, BOB, CAROL], extra_args=["--state", state]) as server, \
            Session("history") as s:
        write_logs(s.env["XDG_DATA_HOME"])
        app_proc = s.spawn([str(cargo_binary("mariposa"))], env={"MARIPOSA_DEBUG": "1"})
        app = s.wait_app(pid=app_proc.pid, timeout=45)
        main_win = app.find(None, re.compile("^Mariposa"), timeout=30)
        main_win.find("text", "Email address").set_text(ALICE[0])
        main_win.find("password text", "Password").set_text(ALICE[1])
        main_win.find("text", "Server").set_text(server.address)
        main_win.find("push button", "Sign In").click()
        main_win.find(None, re.compile("^Other Contacts"), timeout=30)
        step("signed in")

        with MsnpCli(server.address, BOB[0], BOB[1]) as bob:
            bob.wait_event({"event": "status", "status": "NLN"}, timeout=20)
            bob.send(f"msg {ALICE[0]} a live line about the lighthouse <i>now</i>")
            chat = app.find(None, f"{BOB[2]} — Conversation", timeout=20)
            chat.find("label", "a live line about the lighthouse <i>now</i>", timeout=20)
            # The last logged lines above it, greyed; the live line only once.
            chat.find("label", f"old line {BOB_LINES - 1} with Bob", timeout=10)
            time.sleep(1.0)
            live = lambda: chat.find_all("label", "a live line about the lighthouse <i>now</i>",
                                         predicate=lambda n: n.is_visible())
            wait_until(lambda: len(live()) == 1, 5, "the live line shown once",
                       describe=lambda: chat.dump())
            step("a live line arrives and is shown once, under the logged lines")

            # Ctrl+H in the conversation window opens the history of its contact.
            message = chat.find(None, "Message")
            raise_window(s, message)
            s.click_at(message)
            print("   screenshot", s.screenshot("chat-before-ctrl-h"))
            s.key("ctrl+h")
            hist = app.find(None, f"History — {BOB[2]}", timeout=15)
            lines = hist.find(None, "History lines")
            lines.find("label", "a live line about the lighthouse <i>now</i>", timeout=15)
            lines.find("label", f"old line {BOB_LINES - 1} with Bob", timeout=10)
            status = hist.find("label", re.compile(r"lines loaded; scroll up"), timeout=10)
            print("   status:", status.text())
            # A line that arrives while the log is open shows in it at once.
            bob.send(f"msg {ALICE[0]} said while the history is open")
            lines.find("label", "said while the history is open", timeout=15)
            time.sleep(0.5)
            shot = s.screenshot("history-from-chat")
            print("   screenshot", shot)
            step("Ctrl+H in the conversation opens the log, newest lines at the bottom; a new line "
                 "shows in it at once")

            # Paging: scrolling up to the start reads older pages (Home scrolls the list).
            first = "the very first line <b>not bold</b> &amp;"
            s.click_at(lines)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                s.key("ctrl+Home")
                if hist.find_all("label", first):
                    break
                time.sleep(0.3)
            hist.find("label", first, timeout=5)
            hist.find("label", re.compile(rf"^{BOB_LINES + 2} lines, the whole conversation"),
                      timeout=10)
            time.sleep(0.5)
            print("   screenshot", s.screenshot("history-top"))
            step("scrolling up pages back to the first line (shown literally)")

            # Search across all logs; opening a hit shows it in its log.
            search = hist.find(None, "Search history")
            s.type_text(search, "lighthouse")
            results = hist.find(None, "Search results")
            hit = results.find("label", "Carol Singer: shall we meet at the lighthouse?",
                               timeout=15)
            results.find("label", "Bob Builder: a live line about the lighthouse <i>now</i>",
                         timeout=5)
            hist.find("label", "2 lines found.", timeout=5)
            time.sleep(0.5)
            print("   screenshot", s.screenshot("history-search"))
            s.click_at(hit)
            app.find(None, f"History — {CAROL[2]}", timeout=10)
            hist.find(None, "History lines").find(
                "label", "shall we meet at the lighthouse?", timeout=10)
            hist.find("label", re.compile(r"^3 lines, the whole conversation"), timeout=10)
            step("search finds a line in another log and opens it there")

            # Back to Bob's log through its search hit, then export it as text.
            s.click_at(results.find("label", re.compile("^Bob Builder: a live line")))
            app.find(None, f"History — {BOB[2]}", timeout=10)
            hist.find("label", re.compile(r"lines loaded|whole conversation"), timeout=10)
            hist.find(None, "Export").click()
            item = app.find(None, "Export as Text…", timeout=10)
            item.click()
            dialog = app.find(None, "Export as Text", timeout=15)
            time.sleep(1.0)
            name = dialog.find("text", re.compile(r"^Name"), timeout=10)
            s.type_text(name, export_path)
            s.key("Return")
            wait_until(lambda: os.path.exists(export_path), 15, "the exported file")
            hist.find("label", re.compile(r"^Exported \d+ lines to "), timeout=15)
            with open(export_path, encoding="utf-8") as f:
                text = f.read()
            assert text.startswith(f"Conversation with {BOB[2]} ({BOB[0]})\n"), text[:200]
            assert "] Me: the very first line <b>not bold</b> &amp;\n" in text, text[:400]
            assert "] Bob Builder: a live line about the lighthouse <i>now</i>\n" in text, \
                text[-400:]
            stamped = [l for l in text.splitlines() if l.startswith("[")]
            assert len(stamped) == BOB_LINES + 2, len(stamped)
            print("   exported", len(text.splitlines()), "lines")

            # The same as HTML: every text escaped, formatting as inline styles.
            html_path = os.path.join(os.path.dirname(export_path), "bob.html")
            raise_window(s, hist.find(None, "History lines"))
            hist.find(None, "Export").click()
            app.find(None, "Export as HTML…", timeout=10).click()
            dialog = app.find(None, "Export as HTML", timeout=15)
            time.sleep(1.0)
            s.type_text(dialog.find("text", re.compile(r"^Name"), timeout=10), html_path)
            s.key("Return")
            wait_until(lambda: os.path.exists(html_path), 15, "the exported HTML file")
            with open(html_path, encoding="utf-8") as f:
                html = f.read()
            assert "the very first line &lt;b&gt;not bold&lt;/b&gt; &amp;amp;" in html, html[:800]
            assert "a live line about the lighthouse &lt;i&gt;now&lt;/i&gt;" in html
            assert "<i>" not in html and "<b>" not in html
            assert 'style="font-family:&#39;Serif&#39;;font-weight:bold;color:#ff0000;"' in html
            assert html.rstrip().endswith("</html>")
            step("export to text and HTML files through the save dialog")

            s.key("Escape")
            app.wait_gone(None, re.compile("^History"), timeout=10)

            # The contact's menu in the main window: View History.
            row = main_win.find(None, re.compile(f"^{BOB[2]}"), timeout=10)
            raise_window(s, row)
            s.click_at(row, button=3)
            app.find(None, "View History", timeout=10).click()
            hist = app.find(None, f"History — {BOB[2]}", timeout=15)
            hist.find(None, "History lines").find(
                "label", "a live line about the lighthouse <i>now</i>", timeout=15)
            step("the contact's menu opens the history")
            raise_window(s, hist.find(None, "History lines"))
            s.key("Escape")
            app.wait_gone(None, re.compile("^History"), timeout=10)

            # Ctrl+H in the main window: the selected contact's history.
            row = main_win.find(None, re.compile(f"^{CAROL[2]}"), timeout=10)
            raise_window(s, row)
            # The first click after the closed menu may only end its grab; a second one,
            # well apart (not a double click, which would open a conversation), selects.
            s.click_at(row)
            time.sleep(0.8)
            s.click_at(row)
            time.sleep(0.3)
            print("   screenshot", s.screenshot("main-carol-selected"))
            s.key("ctrl+h")
            hist = app.find(None, f"History — {CAROL[2]}", timeout=15)
            hist.find(None, "History lines").find("label", "hi Alice", timeout=15)
            print("   screenshot", s.screenshot("history-from-main"))
            step("Ctrl+H in the main window opens the selected contact's history")

    print(f"e2e history: {len(passed)} passed")
    return 0 if len(passed) == 8 else 1


if __name__ == "__main__":
    sys.exit(main())
