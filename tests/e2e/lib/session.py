"""An isolated desktop session for GUI end-to-end tests.

`Session` starts its own Xvfb (on a display it picks itself) and a private D-Bus session bus,
whose service activation brings up the AT-SPI accessibility bus when the first program asks
for it. Programs started with `Session.spawn` get a throw-away HOME and XDG directories, the
session's DISPLAY and bus, and nothing of the developer's desktop. Under `run.sh` (which wraps
everything in `xvfb-run` and `dbus-run-session`) `E2E_REUSE_SESSION=1` makes it use that
display and bus instead.

The pitfalls found on Debian 12 (GTK 4.8) are explained in tests/e2e/README.md; the short
version is in the comments below.
"""

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .waiting import E2ETimeout, wait_until

REPO_ROOT = Path(__file__).resolve().parents[3]

# Variables that would tie a program to the developer's own desktop, or switch accessibility off.
_LEAKY_VARIABLES = (
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "AT_SPI_BUS_ADDRESS",
    "XAUTHORITY",
    "SESSION_MANAGER",
    "DESKTOP_STARTUP_ID",
    "XDG_ACTIVATION_TOKEN",
    # GTK_A11Y=none hides every GTK 4 widget from AT-SPI.
    "GTK_A11Y",
    # Only GTK 3's ATK bridge reads NO_AT_BRIDGE; dropped so GTK 3 helpers behave alike.
    "NO_AT_BRIDGE",
    "LANGUAGE",
)

_session_in_process = None


def artifacts_dir(name):
    """Where screenshots and logs of the test `name` go: `$E2E_ARTIFACTS/name`, else
    `<cargo target dir>/e2e-artifacts/name`."""
    base = os.environ.get("E2E_ARTIFACTS")
    if not base:
        target = os.environ.get("CARGO_TARGET_DIR") or str(REPO_ROOT / "target")
        base = os.path.join(REPO_ROOT, target, "e2e-artifacts")
    path = Path(base) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_line_from_fd(fd, timeout, what):
    """Reads one line that a child writes to the pipe `fd` (Xvfb's -displayfd, dbus-daemon's
    --print-address), or raises E2ETimeout."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise E2ETimeout(f"{what} did not start within {timeout} s")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError(f"{what} exited before it was ready")
        data += chunk
    return data.decode().strip()


def _stop_process_group(proc, grace=5.0):
    """Ends a child started with start_new_session=True and everything it started in its
    process group (D-Bus-activated services, helper daemons): SIGTERM, then SIGKILL."""
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pgid is not None:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        elif proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
            if pgid is None:
                return
            # The leader is gone; give its group a moment, then make sure.
            grace = 0.5
        except subprocess.TimeoutExpired:
            continue


class Session:
    """An X display, a D-Bus session bus and AT-SPI, for one test process.

    Use it as a context manager::

        with Session("sign-in") as s:
            proc = s.spawn(["mariposa"])
            app = s.wait_app(pid=proc.pid)
            app.find("text", "Email address").set_text("ann@example.com")

    One process can hold only one Session with accessibility: libatspi connects to the
    accessibility bus once and keeps that connection.
    """

    def __init__(self, name="e2e", screen="1280x800x24", reuse=None, keep_tmp=False):
        self.name = name
        self.screen = screen
        if reuse is None:
            reuse = os.environ.get("E2E_REUSE_SESSION") == "1"
        self.reuse = reuse
        self.keep_tmp = keep_tmp
        self.artifacts = artifacts_dir(name)
        self.tmp = None
        self.env = None
        self._xvfb = None
        self._bus = None
        self._children = []
        self._logs = []
        self._shots = 0

    # ---- lifecycle -------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            try:
                self.screenshot("failure")
            except Exception as e:  # the display may be the thing that broke
                print(f"e2e: no failure screenshot: {e}")
        self.stop()
        return False

    def start(self):
        global _session_in_process
        if _session_in_process is not None:
            raise RuntimeError("one Session per process: libatspi keeps its first bus")
        _session_in_process = self
        self.tmp = Path(tempfile.mkdtemp(prefix=f"e2e-{self.name}-"))
        env = dict(os.environ)
        for var in _LEAKY_VARIABLES:
            env.pop(var, None)
        dirs = {
            "HOME": "home",
            "XDG_CONFIG_HOME": "home/.config",
            "XDG_DATA_HOME": "home/.local/share",
            "XDG_STATE_HOME": "home/.local/state",
            "XDG_CACHE_HOME": "home/.cache",
            "XDG_RUNTIME_DIR": "runtime",
        }
        for var, rel in dirs.items():
            path = self.tmp / rel
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
        env.update(
            {
                "GDK_BACKEND": "x11",
                # GL under Xvfb is software rendering at best: slow, and a source of noise.
                "GSK_RENDERER": "cairo",
                # The tests read English labels.
                "LC_ALL": "C.UTF-8",
            }
        )
        if self.reuse:
            for var in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
                if not os.environ.get(var):
                    raise RuntimeError(f"E2E_REUSE_SESSION=1 but {var} is not set")
            # xvfb-run's server wants the cookie it wrote to XAUTHORITY.
            for var in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XAUTHORITY"):
                if os.environ.get(var):
                    env[var] = os.environ[var]
        else:
            env["DISPLAY"] = self._start_xvfb(env)
            env["DBUS_SESSION_BUS_ADDRESS"] = self._start_bus(env)
        self.env = env
        # libatspi (imported later, in a11y) reads these from this very process.
        for var in _LEAKY_VARIABLES:
            os.environ.pop(var, None)
        for var in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XAUTHORITY", "XDG_RUNTIME_DIR"):
            if var in env:
                os.environ[var] = env[var]
        self._wait_for_a11y_bus()
        return self

    def _start_xvfb(self, env):
        read_fd, write_fd = os.pipe()
        log = open(self.artifacts / "xvfb.log", "wb")
        self._logs.append(log)
        # -displayfd: Xvfb picks a free display itself, so parallel runs never collide.
        # -noreset: otherwise the server resets when its last client hangs up, and a program
        #   connecting right then fails with "Gtk couldn't be initialized" (about 1 run in 7).
        self._xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", self.screen,
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
        os.close(write_fd)
        try:
            number = _read_line_from_fd(read_fd, 15, "Xvfb")
        finally:
            os.close(read_fd)
        return f":{number}"

    def _start_bus(self, env):
        read_fd, write_fd = os.pipe()
        log = open(self.artifacts / "dbus.log", "wb")
        self._logs.append(log)
        # DISPLAY is in the bus's environment, so the services it activates (the AT-SPI bus
        # launcher) see the same display as the programs.
        self._bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", f"--print-address={write_fd}"],
            pass_fds=(write_fd,), stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
        os.close(write_fd)
        try:
            return _read_line_from_fd(read_fd, 15, "dbus-daemon")
        finally:
            os.close(read_fd)

    def _wait_for_a11y_bus(self, timeout=20):
        """Asks the session bus for the accessibility bus, which D-Bus activation starts
        (at-spi-bus-launcher from at-spi2-core), and waits until it answers."""
        cmd = ["gdbus", "call", "--session", "--dest", "org.a11y.Bus",
               "--object-path", "/org/a11y/bus", "--method", "org.a11y.Bus.GetAddress"]

        def address():
            out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=10)
            return out.returncode == 0 and "unix:" in out.stdout

        wait_until(address, timeout, "the AT-SPI bus (org.a11y.Bus) to answer")

    def stop(self):
        global _session_in_process
        for proc in reversed(self._children):
            _stop_process_group(proc)
        self._children.clear()
        _stop_process_group(self._bus)
        _stop_process_group(self._xvfb)
        self._bus = self._xvfb = None
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self.tmp is not None and not self.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        _session_in_process = None

    # ---- programs --------------------------------------------------------------------

    def spawn(self, argv, env=None, log_name=None, **popen_kwargs):
        """Starts `argv` in the session (its own process group, ended by `stop`). Output goes
        to `<artifacts>/<log_name or program>.log` unless `stdout=` is given."""
        full_env = dict(self.env)
        full_env.update(env or {})
        if "stdout" not in popen_kwargs:
            log = open(self.artifacts / f"{log_name or Path(argv[0]).name}.log", "ab")
            self._logs.append(log)
            popen_kwargs["stdout"] = log
            popen_kwargs.setdefault("stderr", subprocess.STDOUT)
        proc = subprocess.Popen(argv, env=full_env, start_new_session=True, **popen_kwargs)
        self._children.append(proc)
        return proc

    def end(self, proc, grace=5.0):
        """Ends a program started with `spawn` (and its process group) before `stop`."""
        _stop_process_group(proc, grace)
        if proc in self._children:
            self._children.remove(proc)

    # ---- accessibility -------------------------------------------------------------

    def wait_app(self, name=None, pid=None, timeout=30):
        """The accessible application with this name or process id, once it has a window."""
        from . import a11y  # only now: libatspi must see this session's bus

        return a11y.wait_app(name=name, pid=pid, timeout=timeout, session=self)

    # ---- input and screen --------------------------------------------------------------

    def xdotool(self, *args):
        out = subprocess.run(["xdotool", *map(str, args)], env=self.env,
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(map(str, args))}: {out.stderr.strip()}")
        return out.stdout

    def window_of(self, node):
        """The X window id showing `node`: the visible window of its process whose title is
        the accessible name of the node's frame (GTK 4 has no screen coordinates, so
        pointer input is aimed at window-relative positions)."""
        pid = node.pid
        frame = node.toplevel()
        ids = self.xdotool("search", "--onlyvisible", "--pid", pid).split()
        if not ids:
            raise RuntimeError(f"process {pid} has no visible window")
        if frame is not None and len(ids) > 1:
            for wid in ids:
                if self.xdotool("getwindowname", wid).rstrip("\n") == frame.name:
                    return wid
        return ids[-1]

    def click_at(self, node, button=1):
        """A real pointer click in the middle of `node`."""
        x, y, w, h = node.extents()
        if w <= 0 or h <= 0:
            raise RuntimeError(f"{node} has no size on screen")
        self.xdotool("mousemove", "--window", self.window_of(node), x + w // 2, y + h // 2,
                     "click", button)

    def type_text(self, node, text, replace=True, delay_ms=15):
        """Types `text` with real key presses into `node` (clicked first for focus). With
        `replace`, whatever it held is selected and typed over."""
        self.click_at(node)
        wait_until(lambda: node.is_focused(), 5, f"{node} to take the focus")
        if replace:
            self.xdotool("key", "--clearmodifiers", "ctrl+a")
        self.xdotool("type", "--delay", delay_ms, "--", text)

    def key(self, *keys):
        """Presses keys (xdotool names: Return, Escape, ctrl+w…) in the focused window."""
        self.xdotool("key", "--delay", 20, *keys)

    def screenshot(self, label):
        """Saves the whole screen as `<artifacts>/NN-label.png` and returns its path."""
        self._shots += 1
        path = self.artifacts / f"{self._shots:02d}-{label}.png"
        out = subprocess.run(["import", "-window", "root", str(path)], env=self.env,
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"screenshot failed: {out.stderr.strip()}")
        return path
