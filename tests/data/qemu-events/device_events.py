"""Prints the device events (added, removed, removal failed) of domain argv[2] on URI
argv[1], one line each, flushed, until killed. The same listener runs against rvirtd and
a real libvirtd while the same hotplug commands run; the outputs must match."""
import sys
import threading

import libvirt

URI, NAME = sys.argv[1], sys.argv[2]


def say(text):
    print(text, flush=True)


def main():
    libvirt.virEventRegisterDefaultImpl()
    conn = libvirt.open(URI)
    dom = conn.lookupByName(NAME)
    conn.domainEventRegisterAny(
        dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
        lambda _c, _d, alias, _o: say(f"device-added {alias}"), None)
    conn.domainEventRegisterAny(
        dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
        lambda _c, _d, alias, _o: say(f"device-removed {alias}"), None)
    conn.domainEventRegisterAny(
        dom, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVAL_FAILED,
        lambda _c, _d, alias, _o: say(f"device-removal-failed {alias}"), None)
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=main, daemon=True).start()
threading.Event().wait()
