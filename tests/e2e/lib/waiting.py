"""Polling with a deadline: GUI tests wait for what the user would see, never for a fixed time."""

import time


class E2ETimeout(AssertionError):
    """What a test waited for did not happen in time."""


def wait_until(predicate, timeout, what, interval=0.1, describe=None):
    """Calls `predicate` until it returns something truthy and returns that. After `timeout`
    seconds raises E2ETimeout("timed out after … waiting for <what>"), with `describe()`
    appended (say, a dump of the window) to show what was there instead. Exceptions from the
    predicate count as "not yet" until the deadline, then are chained to the timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            result = predicate()
            if result:
                return result
            last_error = None
        except Exception as e:  # the widget may be half-built or gone; try again
            last_error = e
        if time.monotonic() >= deadline:
            message = f"timed out after {timeout} s waiting for {what}"
            if describe is not None:
                try:
                    message += "\n" + describe()
                except Exception as e:
                    message += f"\n(no description: {e})"
            raise E2ETimeout(message) from last_error
        time.sleep(interval)
