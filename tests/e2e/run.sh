#!/usr/bin/env bash
# Runs the GUI end-to-end library's self-tests: once inside xvfb-run + dbus-run-session (the
# library reuses that display and bus), once with the library starting its own Xvfb and bus.
# Installs nothing; builds msnp-server and msnp-cli with cargo if they are not built yet.
# Exits non-zero if anything failed. The apt packages it needs are listed in README.md.
set -uo pipefail
cd "$(dirname "$0")"

# The system Python: python3-gi and python3-pyatspi are Debian packages, not in a pyenv/venv.
PYTHON=${PYTHON:-/usr/bin/python3}
export PYTHONDONTWRITEBYTECODE=1

missing=()
for tool in xvfb-run Xvfb xauth dbus-run-session dbus-daemon gdbus xdotool import notify-send; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ! "$PYTHON" -c 'import gi, pyatspi; gi.require_version("Gtk", "4.0"); from gi.repository import Gtk' \
        >/dev/null 2>&1; then
    missing+=("python3-gi/gir1.2-gtk-4.0/python3-pyatspi for $PYTHON")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "run.sh: missing ${missing[*]}: see tests/e2e/README.md for the apt packages" >&2
    exit 2
fi

status=0
# -noreset: without it Xvfb resets when its last client disconnects and a program connecting
# at that moment fails to open the display (see README.md).
xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp -noreset" \
    dbus-run-session -- env E2E_REUSE_SESSION=1 "$PYTHON" lib/selftest.py --build || status=1
"$PYTHON" lib/selftest.py --own-session --skip-msnp || status=1

if [ "$status" -ne 0 ]; then
    echo "run.sh: e2e self-tests FAILED (screenshots and logs under the e2e-artifacts folder)" >&2
fi
exit "$status"
