"""Starts `tests/e2e/notifications_recorder.py` in a Session and reads what it recorded."""

import json
import select
import subprocess
import sys
from pathlib import Path

from .waiting import wait_until

RECORDER = Path(__file__).resolve().parents[1] / "notifications_recorder.py"


def _matches(pattern, record):
    if callable(pattern):
        return bool(pattern(record))
    return all(record.get(k) == v for k, v in pattern.items())


class Notifications:
    """The session's notification server, recording to `<artifacts>/notifications.jsonl`.

        notes = Notifications(session)
        ... make the app notify ...
        note = notes.wait_for({"summary": "Bob says"})
    """

    def __init__(self, session, path=None, timeout=15):
        self.session = session
        self.path = Path(path or session.artifacts / "notifications.jsonl")
        self.path.write_text("")
        self.proc = session.spawn(
            [sys.executable, str(RECORDER), str(self.path)],
            stdout=subprocess.PIPE, stderr=None, text=True,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            session.end(self.proc)
            raise RuntimeError(
                f"the notification recorder did not start (said {line!r}, "
                f"exit code {self.proc.returncode})")

    def records(self, method="Notify"):
        """Everything recorded so far (only the Notify calls unless `method` says otherwise;
        None for all)."""
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if method is None or record.get("method") == method:
                    out.append(record)
        return out

    def wait_for(self, pattern, timeout=10, method="Notify"):
        """The first recorded call matching `pattern` (dict of expected values, or callable)."""
        return wait_until(
            lambda: next((r for r in self.records(method) if _matches(pattern, r)), None),
            timeout, f"a notification matching {pattern!r}",
            describe=lambda: "recorded: " + json.dumps(self.records(None), indent=1),
        )

    def invoke_action(self, notification_id, action_key):
        """Presses a notification's button, as a user in a notification popup would."""
        subprocess.run(
            ["gdbus", "call", "--session", "--dest", "org.freedesktop.Notifications",
             "--object-path", "/org/freedesktop/Notifications", "--method",
             "io.github.mariposa.Test.NotificationsRecorder.InvokeAction",
             str(notification_id), action_key],
            env=self.session.env, check=True, capture_output=True, timeout=10,
        )

    def stop(self):
        """Ends the recorder cleanly (SIGTERM); returns its exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        return self.proc.returncode
