"""The accessibility tree of a running app, through AT-SPI (python3-pyatspi over libatspi).

`Node` wraps one accessible object: find descendants by role and accessible name (waiting
until they appear), read text, type text, press buttons. What GTK 4.8 exposes on Debian 12:

- roles: a window is "frame", Gtk.Button "push button", Gtk.Entry "text" (with the
  EditableText interface), Gtk.Label "label", Gtk.ListBox "list" whose rows are "list item";
- a label's accessible name is its text (GTK overwrites a name set with update_property);
- Text.getText(0, -1) returns "" in GTK 4.8: ask for (0, character_count) instead;
- Component.grabFocus is not implemented, and there are no screen coordinates (only
  coordinates relative to the window);
- the "showing" state is set on windows only; widgets have "visible";
- nothing here runs a GLib main loop, so libatspi never hears of changes: every search
  clears the app's cache first.

Import this module only after the Session is up: libatspi reads DISPLAY and
DBUS_SESSION_BUS_ADDRESS once, on first use.
"""

import re

import gi

gi.require_version("Atspi", "2.0")
import pyatspi  # noqa: E402  (python3-pyatspi; also initialises libatspi)
from gi.repository import Atspi, GLib  # noqa: E402

from .waiting import E2ETimeout, wait_until  # noqa: E402

DEFAULT_TIMEOUT = 10.0
_MAX_NODES = 20000


def _matches(pattern, value):
    """None matches anything, a str exactly, a compiled regex by search, a callable if true."""
    if pattern is None:
        return True
    if isinstance(pattern, str):
        return value == pattern
    if isinstance(pattern, re.Pattern):
        return pattern.search(value or "") is not None
    return bool(pattern(value))


def _describe(pattern):
    if isinstance(pattern, re.Pattern):
        return f"/{pattern.pattern}/"
    return repr(pattern)


class Node:
    """One accessible object of an app."""

    def __init__(self, acc, session=None):
        self.acc = acc
        self.session = session

    def __repr__(self):
        try:
            return f"<{self.role} {self.name!r}>"
        except GLib.Error:
            return "<defunct accessible>"

    def __eq__(self, other):
        return isinstance(other, Node) and self.acc == other.acc

    def __hash__(self):
        return hash(self.acc)

    # ---- what it is ------------------------------------------------------------------

    @property
    def role(self):
        """The AT-SPI role name: "push button", "text", "label", "list item"…"""
        return self.acc.get_role_name()

    @property
    def name(self):
        return self.acc.get_name() or ""

    @property
    def description(self):
        return self.acc.get_description() or ""

    @property
    def pid(self):
        return self.acc.get_process_id()

    @property
    def interfaces(self):
        return list(self.acc.get_interfaces())

    def states(self):
        """The names of its states, lower case: {"focused", "showing", "sensitive", …}."""
        return {
            s.value_nick.replace("-", "_")
            for s in self.acc.get_state_set().get_states()
        }

    def has_state(self, state):
        return state in self.states()

    def is_focused(self):
        return self.has_state("focused")

    def is_visible(self):
        """GTK 4.8 sets "visible" from the widget's visible property; it sets "showing" on
        windows only, so a widget on a stack page that is not shown still counts as visible."""
        return self.has_state("visible")

    def is_sensitive(self):
        return self.has_state("sensitive")

    # ---- tree -----------------------------------------------------------------------

    @property
    def children(self):
        out = []
        for i in range(self.acc.get_child_count()):
            child = self.acc.get_child_at_index(i)
            if child is not None:
                out.append(Node(child, self.session))
        return out

    @property
    def parent(self):
        parent = self.acc.get_parent()
        return Node(parent, self.session) if parent is not None else None

    def app(self):
        """The application node this belongs to."""
        return Node(self.acc.get_application(), self.session)

    def toplevel(self):
        """The window ("frame", "dialog"…) this is in, or None."""
        node = self
        while node is not None:
            parent = node.parent
            if parent is not None and parent.role == "application":
                return node
            node = parent
        return None

    def refresh(self):
        """Forgets what libatspi cached about the whole app, so the next reads are fresh."""
        try:
            self.acc.get_application().clear_cache()
        except GLib.Error:
            pass
        return self

    def walk(self):
        """Itself and every descendant, depth first (bounded, and skipping broken ones)."""
        stack = [self]
        seen = 0
        while stack and seen < _MAX_NODES:
            node = stack.pop()
            seen += 1
            yield node
            try:
                stack.extend(reversed(node.children))
            except GLib.Error:
                continue

    def find_all(self, role=None, name=None, visible=None, predicate=None):
        """Descendants (not itself) that match now. `role` is an AT-SPI role name, `name` a
        str (exact), a compiled regex (search) or a callable; `visible=True` skips hidden
        widgets (see is_visible); `predicate(node)` adds any other condition."""
        self.refresh()
        found = []
        for node in self.walk():
            if node == self:
                continue
            try:
                if role is not None and node.role != role:
                    continue
                if not _matches(name, node.name):
                    continue
                if visible is not None and node.is_visible() != visible:
                    continue
                if predicate is not None and not predicate(node):
                    continue
            except GLib.Error:
                continue
            found.append(node)
        return found

    def find(self, role=None, name=None, timeout=DEFAULT_TIMEOUT, **kwargs):
        """The first descendant that matches (see find_all), waiting up to `timeout` seconds
        for it to appear. On time-out the error shows the tree as it was."""
        what = f"{role or 'any role'} named {_describe(name)} in {self!r}"
        return wait_until(
            lambda: next(iter(self.find_all(role, name, **kwargs)), None),
            timeout, what, describe=self.dump,
        )

    def wait_gone(self, role=None, name=None, timeout=DEFAULT_TIMEOUT, **kwargs):
        """Waits until no descendant matches any more (a dialog closed, a row removed)."""
        what = f"no {role or 'node'} named {_describe(name)} in {self!r}"
        wait_until(lambda: not self.find_all(role, name, **kwargs), timeout, what,
                   describe=self.dump)

    def dump(self, max_lines=400):
        """The subtree as indented text: role, name, text and interesting states."""
        self.refresh()
        lines = []

        def visit(node, depth):
            if len(lines) >= max_lines:
                return
            try:
                text = node.text() if "Text" in node.interfaces else ""
                states = node.states() & {"focused", "selected", "checked", "pressed"}
                if not node.is_sensitive():
                    states.add("insensitive")
                if not node.is_visible():
                    states.add("hidden")
                line = f"{'  ' * depth}{node.role} {node.name!r}"
                if text and text != node.name:
                    line += f" text={text!r}"
                if states:
                    line += f" [{', '.join(sorted(states))}]"
                lines.append(line)
                for child in node.children:
                    visit(child, depth + 1)
            except GLib.Error as e:
                lines.append(f"{'  ' * depth}<error: {e.message}>")

        visit(self, 0)
        if len(lines) >= max_lines:
            lines.append("…")
        return "\n".join(lines)

    # ---- reading ---------------------------------------------------------------------

    def text(self):
        """Its text through the Text interface (labels, entries), else its name."""
        if self.acc.get_text_iface() is None:
            return self.name
        count = Atspi.Text.get_character_count(self.acc)
        # (0, -1) means "to the end" in the spec, but GTK 4.8 answers "" to it.
        return Atspi.Text.get_text(self.acc, 0, count) if count > 0 else ""

    def texts(self, roles=("label",)):
        """The texts of its descendants with these roles, in tree order, empty ones left out:
        what a row or a dialog "says"."""
        out = []
        for node in self.find_all(predicate=lambda n: n.role in roles):
            value = node.text()
            if value:
                out.append(value)
        return out

    def rows(self):
        """For a list, table or tree: each row's texts (see `texts`), top to bottom."""
        self.refresh()
        return [row.texts() for row in self.children]

    def wait_text(self, expected, timeout=DEFAULT_TIMEOUT):
        """Waits until its text matches `expected` (str, regex or callable); returns it."""
        return wait_until(
            lambda: (lambda t: t if _matches(expected, t) else None)(self.refresh().text()),
            timeout, f"{self!r} to read {_describe(expected)}",
            describe=lambda: f"it reads {self.text()!r}",
        )

    # ---- acting ----------------------------------------------------------------------

    def actions(self):
        if self.acc.get_action_iface() is None:
            return []
        return [Atspi.Action.get_action_name(self.acc, i)
                for i in range(Atspi.Action.get_n_actions(self.acc))]

    def do_action(self, name):
        """Runs the named action (Action interface), e.g. "click" on a GTK 4 button."""
        names = self.actions()
        if name not in names:
            raise ValueError(f"{self!r} has no action {name!r}, only {names}")
        if not Atspi.Action.do_action(self.acc, names.index(name)):
            raise RuntimeError(f"{self!r} refused the action {name!r}")

    def click(self):
        """Presses it: its "click" / "activate" / "press" action if it has one, else a real
        pointer click in its middle (needs the Session)."""
        names = self.actions()
        for name in ("click", "activate", "press"):
            if name in names:
                self.do_action(name)
                return
        if self.session is None:
            raise RuntimeError(f"{self!r} has no click action and no session for the pointer")
        self.session.click_at(self)

    def set_text(self, text):
        """Replaces its contents through the EditableText interface (GTK emits "changed" as
        for typing) and checks they arrived. Use Session.type_text for real key presses."""
        if self.acc.get_editable_text_iface() is None:
            raise ValueError(f"{self!r} is not editable (interfaces: {self.interfaces})")
        if not Atspi.EditableText.set_text_contents(self.acc, text):
            raise RuntimeError(f"{self!r} refused the text")
        self.wait_text(text, timeout=5)

    def extents(self):
        """(x, y, width, height) relative to its window."""
        r = Atspi.Component.get_extents(self.acc, Atspi.CoordType.WINDOW)
        return r.x, r.y, r.width, r.height


def desktop():
    return Node(pyatspi.Registry.getDesktop(0))


def applications(session=None):
    """The applications on the accessibility bus now."""
    out = []
    desk = pyatspi.Registry.getDesktop(0)
    for i in range(desk.get_child_count()):
        app = desk.get_child_at_index(i)
        if app is not None:
            out.append(Node(app, session))
    return out


def wait_app(name=None, pid=None, timeout=30, session=None):
    """The application with this accessible name (for GTK the program name, "mariposa") or
    process id, once it shows at least one window."""
    if name is None and pid is None:
        raise ValueError("give name or pid")

    def look():
        for app in applications(session):
            try:
                if pid is not None and app.pid != pid:
                    continue
                if not _matches(name, app.name):
                    continue
                app.refresh()
                if app.acc.get_child_count() > 0:
                    return app
            except GLib.Error:
                continue
        return None

    def listing():
        names = []
        for app in applications():
            try:
                names.append(f"{app.name!r} (pid {app.pid})")
            except GLib.Error:
                names.append("<defunct>")
        return "applications on the bus: " + (", ".join(names) or "none")

    what = f"application {_describe(name) if name is not None else ''}" + (
        f" pid {pid}" if pid is not None else "")
    return wait_until(look, timeout, what, describe=listing)


__all__ = ["Node", "E2ETimeout", "applications", "desktop", "wait_app"]
