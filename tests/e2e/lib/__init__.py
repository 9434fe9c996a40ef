"""Helpers for Mariposa's GUI end-to-end tests: an isolated X + D-Bus + AT-SPI session
(`Session`), the app's accessibility tree (`Node`, from `lib.a11y` once a session is up), a
notification recorder (`Notifications`) and MSNP peers (`MsnpServer`, `MsnpCli`).

See tests/e2e/README.md. Import `lib.a11y` only after `Session.start()`.
"""

from .msnp import MsnpCli, MsnpServer, cargo_binary
from .notifications import Notifications
from .session import Session, artifacts_dir
from .waiting import E2ETimeout, wait_until

__all__ = [
    "E2ETimeout",
    "MsnpCli",
    "MsnpServer",
    "Notifications",
    "Session",
    "artifacts_dir",
    "cargo_binary",
    "wait_until",
]
