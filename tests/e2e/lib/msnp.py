"""The other end of a GUI test: an `msnp-server` on 127.0.0.1 and scripted `msnp-cli` contacts.

`MsnpServer` runs the workspace's server on a port the system picks and tells its address.
`MsnpCli` signs a contact in, sends it commands (`msg bob@example.com hi`) and collects the
one-JSON-object-per-line events it prints, which `wait_event` waits for::

    with MsnpServer(accounts=[("ann@example.com", "pw", "Ann"), ("bob@example.com", "pw", "Bob")]) as server:
        with MsnpCli(server.address, "bob@example.com", "pw") as bob:
            bob.wait_event({"event": "signed_in"})
            bob.send("msg ann@example.com hello")
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .session import REPO_ROOT, artifacts_dir
from .waiting import E2ETimeout

_SERVER_ADDRESS = re.compile(r"clients connect to (\S+)")
_NEXUS = re.compile(r"Passport nexus (\S+)")
_CA_WRITTEN = re.compile(r"CA certificate written to ")
_CONTROL_PREFIX = "control: "


def cargo_binary(name, example=False, build=False, env_var=None):
    """The path of a workspace program: `$env_var` if set, else the debug (then release) build
    under the cargo target dir, else PATH. With `build=True`, runs `cargo build` for it first
    (`-p msnp --example msnp-cli`, `-p msnp-server --bin msnp-server`)."""
    if env_var and os.environ.get(env_var):
        return Path(os.environ[env_var])
    if build:
        package = "msnp" if example else name
        kind = "--example" if example else "--bin"
        subprocess.run(["cargo", "build", "--quiet", "-p", package, kind, name],
                       cwd=REPO_ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = REPO_ROOT / target
    for profile in ("debug", "release"):
        path = target / profile / ("examples" if example else "") / name
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(name)
    if found:
        return Path(found)
    how = f"cargo build -p msnp --example {name}" if example else f"cargo build -p {name}"
    raise FileNotFoundError(f"{name} is not built: {how}" +
                            (f" (or set {env_var})" if env_var else ""))


def _event_matches(pattern, event):
    """A dict pattern matches when every key has that value in the event (nested dicts
    recursively); a callable when it returns true."""
    if callable(pattern):
        return bool(pattern(event))
    for key, want in pattern.items():
        if key not in event:
            return False
        have = event[key]
        if isinstance(want, dict) and isinstance(have, dict):
            if not _event_matches(want, have):
                return False
        elif have != want:
            return False
    return True


class MsnpServer:
    """`msnp-server --listen 127.0.0.1:0` with the given accounts, ended by `stop` (Ctrl-C,
    so it signs everyone out cleanly; killed if it does not go within 5 s).

    With `https=True` it also writes the CA of its Passport (HTTPS) endpoints to a file and
    waits for it: `nexus_url` and `ca_file` are then what an MSNP8 client needs
    (`MARIPOSA_NEXUS_URL` / `MARIPOSA_EXTRA_CA`, `msnp-cli --nexus … --ca-file …`). Without
    it the server runs with `--no-msnp8` (MSNP7 only), so the app's "Automatic" signs in with
    MSNP7 without needing the CA."""

    def __init__(self, accounts=(), demo=False, extra_args=(), binary=None, name="msnp-server",
                 build=False, listen="127.0.0.1:0", https=False):
        self.accounts = list(accounts)
        self.listen = listen
        self.demo = demo
        self.https = https
        self.nexus_url = None
        self.ca_file = None
        self.extra_args = list(extra_args)
        self.binary = binary or cargo_binary("msnp-server", build=build, env_var="MSNP_SERVER_BIN")
        self.name = name
        self.address = None
        self.proc = None
        self._tmp = None
        self._log = None
        self._drain = None
        self._answers = None
        self._control_lock = threading.Lock()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, timeout=20):
        args = [str(self.binary), "--listen", self.listen, "--control", *self.extra_args]
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="msnp-server-")
        if self.https:
            self.ca_file = os.path.join(self._tmp, "ca.pem")
            self.nexus_url = None
            args += ["--https-listen", "127.0.0.1:0", "--ca-out", self.ca_file]
        elif not {"--https-listen", "--ca-out"} & set(self.extra_args):
            # Without its CA nobody can trust the Passport endpoints, so MSNP8 is off: clients
            # offering "Automatic" (the app's default) get MSNP7, as from an older server.
            args.append("--no-msnp8")
        if self.accounts:
            path = os.path.join(self._tmp, "accounts.json")
            with open(path, "w") as f:
                json.dump([{"passport": a[0], "password": a[1],
                            "display_name": a[2] if len(a) > 2 else a[0].split("@")[0]}
                           for a in self.accounts], f)
            args += ["--accounts", path]
        if self.demo:
            args.append("--demo")
        if self._log is not None:
            self._log.close()  # a restart after kill()
        self._log = open(artifacts_dir("msnp") / f"{self.name}.log", "a")
        self._answers = queue.Queue()
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, start_new_session=True)
        deadline = time.monotonic() + timeout
        lines = []
        ca_written = False

        def ready():
            return self.address is not None and (
                not self.https or (self.nexus_url is not None and ca_written))

        while not ready():
            line = self.proc.stdout.readline()  # the server prints its addresses at once
            if not line:
                raise RuntimeError(f"msnp-server exited ({self.proc.wait()}): {''.join(lines)}"
                                   f" (log: {self._log.name})")
            lines.append(line)
            self._log.write(line)
            found = _SERVER_ADDRESS.search(line)
            nexus = _NEXUS.search(line)
            if found:
                self.address = found.group(1)
            elif nexus:
                self.nexus_url = nexus.group(1)
            elif _CA_WRITTEN.search(line):
                ca_written = True
            elif time.monotonic() > deadline:
                raise E2ETimeout(f"msnp-server printed no address: {''.join(lines)}")
        self._log.flush()
        # Keep reading, so a full pipe never blocks the server.
        self._drain = threading.Thread(target=self._copy_output, daemon=True)
        self._drain.start()
        return self

    def _copy_output(self):
        for line in self.proc.stdout:
            if line.startswith(_CONTROL_PREFIX):
                self._answers.put(json.loads(line[len(_CONTROL_PREFIX):]))
            self._log.write(line)
            self._log.flush()

    def control(self, cmd, timeout=10.0, **args):
        """Runs one `--control` command (`sessions`, `switchboards`, `account`, `syn-versions`,
        `close-switchboards`, `drop-session`, ...; see crates/msnp-server/src/control.rs) and
        returns its result; raises RuntimeError if the server answers with an error."""
        with self._control_lock:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
            try:
                answer = self._answers.get(timeout=timeout)
            except queue.Empty:
                raise E2ETimeout(f"msnp-server did not answer {cmd!r} within {timeout} s")
        if not answer.get("ok"):
            raise RuntimeError(f"msnp-server control {cmd!r}: {answer.get('error')}")
        return answer["result"]

    def kill(self):
        """Kills the server at once (SIGKILL: no OUT, sockets just drop), for crash tests;
        `start()` starts it again (pass listen="127.0.0.1:PORT" to keep the port)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._drain is not None:
            self._drain.join(timeout=2)
            self._drain = None
        self.address = None

    @property
    def port(self):
        return int(self.address.rsplit(":", 1)[1])

    def stop(self, grace=5.0):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._drain is not None:
            self._drain.join(timeout=2)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


class MsnpCli:
    """One scripted contact: `msnp-cli --server ADDRESS --passport EMAIL`.

    Every line it prints is kept in `events` (a line that is not JSON becomes
    {"event": "_raw", "line": …}). `wait_event` finds the first event, received before or
    after the call, that no earlier `wait_event` returned."""

    def __init__(self, address, passport, password, status=None, binary=None, build=False,
                 protocol="MSNP7", extra_args=()):
        """`protocol` defaults to MSNP7: MSNP8 also needs the server's CA and nexus
        (`extra_args=["--ca-file", …, "--nexus", …]`)."""
        self.passport = passport
        self.binary = binary or cargo_binary("msnp-cli", example=True, build=build,
                                             env_var="MSNP_CLI_BIN")
        args = [str(self.binary), "--server", address, "--passport", passport]
        if status:
            args += ["--status", status]
        args += ["--protocol", protocol, *extra_args]
        env = dict(os.environ, MSNP_PASSWORD=password)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", passport)
        self._log = open(artifacts_dir("msnp") / f"cli-{safe}.log", "a")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, env=env,
                                     start_new_session=True)
        self.events = []
        self._taken = set()
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()
        return False

    def _read(self):
        for line in self.proc.stdout:
            self._log.write(line)
            self._log.flush()
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    event = {"event": "_raw", "line": line}
            except json.JSONDecodeError:
                event = {"event": "_raw", "line": line}
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, command):
        """Sends one command line: `msg EMAIL TEXT`, `status AWY`, `add FL EMAIL`, `quit`…"""
        if "\n" in command:
            raise ValueError("one command per call")
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def wait_event(self, pred, timeout=10.0):
        """The first not yet returned event matching `pred` (a dict of expected values, or a
        callable), waiting up to `timeout` seconds. Raises E2ETimeout listing what came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self.events):
                    if i not in self._taken and _event_matches(pred, event):
                        self._taken.add(i)
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    why = "msnp-cli exited" if self._closed else f"timed out after {timeout} s"
                    seen = "\n  ".join(json.dumps(e) for e in self.events[-30:])
                    raise E2ETimeout(f"{self.passport}: {why} waiting for {pred!r}; "
                                     f"last events:\n  {seen}")
                self._cond.wait(left)

    def quit(self, timeout=5.0):
        """Sends `quit` and waits for the program to end (kills it after `timeout`)."""
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=2)
        if not self._log.closed:
            self._log.close()
