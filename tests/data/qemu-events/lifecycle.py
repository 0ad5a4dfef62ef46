"""Drives one domain through its lifecycle on URI (argv[1]) with the XML in argv[2] and
prints every domain event that each step causes, one line per event, after the step's
name. The same script runs against rvirtd and a real libvirtd; the outputs must match."""
import os
import sys
import time

import libvirt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import events  # noqa: E402  (tests/python/events.py)

URI, XML_PATH = sys.argv[1], sys.argv[2]
LOG = events.EventLog()


def on_reboot(_conn, dom, _opaque):
    LOG.add("reboot")


def qemu_pid(name):
    needle = f"guest={name},".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if needle in f.read():
                        return int(entry)
            except OSError:
                pass
    return None


def main():
    events.start_loop()
    conn = libvirt.open(URI)
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, LOG.on_lifecycle, None)
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, on_reboot, None)
    xml = open(XML_PATH).read()
    name = xml.split("<name>")[1].split("</name>")[0]
    dom = None

    def state():
        try:
            return "state %d %d" % tuple(conn.lookupByName(name).state())
        except libvirt.libvirtError as e:
            return f"state error {e.get_error_code()}"

    def step(label, action, until=None):
        """Runs `action`, waits until the domain's state starts with `until` (when given),
        then prints the outcome, the events that came and the state."""
        nonlocal dom
        try:
            result = action()
            if isinstance(result, libvirt.virDomain):
                dom = result
            outcome = "ok"
        except libvirt.libvirtError as e:
            outcome = f"error {e.get_error_code()}"
        deadline = time.monotonic() + 10
        while until and not state().startswith(until) and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"{label}: {outcome}")
        for e in LOG.settle():
            print(f"  {e}")
        print(f"  {state()}")

    def kill():
        os.kill(qemu_pid(name), 9)

    step("define", lambda: conn.defineXML(xml))
    step("define again", lambda: conn.defineXML(xml))
    step("start", lambda: dom.create())
    step("suspend", lambda: dom.suspend())
    step("resume", lambda: dom.resume())
    # on_reboot is destroy: a reset ends the domain.
    step("reset", lambda: dom.reset(), until="state 5")
    step("start again", lambda: dom.create())
    step("destroy", lambda: dom.destroy())
    step("start paused", lambda: dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED))
    step("resume", lambda: dom.resume())
    step("destroy graceful", lambda: dom.destroyFlags(libvirt.VIR_DOMAIN_DESTROY_GRACEFUL))
    step("start", lambda: dom.create())
    step("kill -9", kill, until="state 5")
    step("undefine", lambda: dom.undefine())
    step("create transient", lambda: conn.createXML(xml))
    step("suspend", lambda: dom.suspend())
    step("destroy", lambda: dom.destroy())
    conn.close()


main()
