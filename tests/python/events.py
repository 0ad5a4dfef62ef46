"""Shared by the event-watching scripts here: libvirt's default event loop on a thread of
its own, and a connection that records one kind of domain event."""
import threading
import time

import libvirt


def open_recording(uri, event_id, record):
    """Opens `uri` with the default event loop running; every `event_id` event is passed
    to `record(*args)` (the callback's arguments after the connection and domain)."""
    libvirt.virEventRegisterDefaultImpl()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    conn = libvirt.open(uri)
    conn.domainEventRegisterAny(None, event_id, lambda _c, _d, *a: record(*a[:-1]), None)
    return conn


LIFECYCLE = ["Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped",
             "Shutdown", "PMSuspended", "Crashed"]


def start_loop():
    """libvirt's default event loop, on a thread of its own."""
    libvirt.virEventRegisterDefaultImpl()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()


class EventLog:
    """Event lines as callbacks add them, taken a step at a time with `settle`."""

    def __init__(self):
        self._lines = []
        self._lock = threading.Lock()

    def add(self, line):
        with self._lock:
            self._lines.append(line)

    def on_lifecycle(self, _conn, _dom, event, detail, _opaque):
        """A `VIR_DOMAIN_EVENT_ID_LIFECYCLE` callback."""
        self.add(f"lifecycle {LIFECYCLE[event]} {detail}")

    def settle(self, quiet=0.6, limit=10.0):
        """Waits until no event came for `quiet` seconds; returns what came, forgotten."""
        start = time.monotonic()
        seen = -1
        while time.monotonic() - start < limit:
            with self._lock:
                n = len(self._lines)
            if n == seen:
                break
            seen = n
            time.sleep(quiet)
        with self._lock:
            got, self._lines = self._lines, []
        return got
