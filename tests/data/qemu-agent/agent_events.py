"""Prints the lifecycle and agent-lifecycle events of domain argv[2] on URI argv[1], one
line each, flushed, until killed. The same listener runs against rvirtd and a real
libvirtd while the same guest-agent commands run; the outputs must match."""
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
        dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        lambda _c, _d, event, detail, _o: say(f"lifecycle {event} {detail}"), None)
    conn.domainEventRegisterAny(
        dom, libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
        lambda _c, _d, state, reason, _o: say(f"agent {state} {reason}"), None)
    say("listening")
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=main, daemon=True).start()
threading.Event().wait()
