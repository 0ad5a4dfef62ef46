"""Shared by the event-watching scripts here: libvirt's default event loop on a thread of
its own, and a connection that records one kind of domain event."""
import threading

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
