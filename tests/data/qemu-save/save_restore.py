"""Saves and restores one domain on URI (argv[1]) with the XML in argv[2], image files
under the directory argv[3], and prints what every step answers: the outcome (error
code), the domain events it causes and the state after it. The same script runs against
rvirtd and a real libvirtd; the outputs must match."""
import os
import sys

import libvirt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import events  # noqa: E402  (tests/python/events.py)

URI, XML_PATH, DIR = sys.argv[1], sys.argv[2], sys.argv[3]
LOG = events.EventLog()


def main():
    events.start_loop()
    conn = libvirt.open(URI)
    conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, LOG.on_lifecycle, None)
    xml = open(XML_PATH).read()
    name = xml.split("<name>")[1].split("</name>")[0]
    img = os.path.join(DIR, "dom.save")
    dom = None

    def lookup():
        return conn.lookupByName(name)

    def state():
        try:
            d = lookup()
            return "state %d %d managed %d" % (*d.state(), d.hasManagedSaveImage())
        except libvirt.libvirtError as e:
            return f"state error {e.get_error_code()}"

    def step(label, action):
        nonlocal dom
        try:
            result = action()
            if isinstance(result, libvirt.virDomain):
                dom = result
            outcome = "ok" if result is None or isinstance(result, (int, libvirt.virDomain)) \
                else f"ok {result}"
        except libvirt.libvirtError as e:
            outcome = f"error {e.get_error_code()}"
        print(f"{label}: {outcome}")
        for e in LOG.settle():
            print(f"  {e}")
        print(f"  {state()}")

    def image_name(path):
        text = conn.saveImageGetXMLDesc(path, 0)
        return text.split("<name>")[1].split("</name>")[0]

    def edit_image(path):
        text = conn.saveImageGetXMLDesc(path, libvirt.VIR_DOMAIN_SAVE_IMAGE_XML_SECURE)
        text = text.replace("<on_crash>destroy</on_crash>", "<on_crash>preserve</on_crash>")
        conn.saveImageDefineXML(path, text, 0)

    def image_crash(path):
        text = conn.saveImageGetXMLDesc(path, 0)
        return text.split("<on_crash>")[1].split("</on_crash>")[0]

    step("define", lambda: conn.defineXML(xml))
    step("start", lambda: dom.create())
    step("save", lambda: dom.save(img))
    step("image name", lambda: image_name(img))
    step("image define", lambda: edit_image(img))
    step("image crash", lambda: image_crash(img))
    step("image bad xml", lambda: conn.saveImageDefineXML(img, "<domain", 0))
    step("restore", lambda: conn.restore(img))
    step("restore while running", lambda: conn.restore(img))
    step("save into a missing directory", lambda: dom.save(os.path.join(DIR, "no/such.save")))
    step("save --running --paused", lambda: dom.saveFlags(img, None, 6))
    step("suspend", lambda: dom.suspend())
    step("save paused", lambda: dom.save(img))
    step("restore", lambda: conn.restore(img))
    step("destroy", lambda: dom.destroy())
    step("restore running", lambda: conn.restoreFlags(img, None, libvirt.VIR_DOMAIN_SAVE_RUNNING))
    step("save --paused", lambda: dom.saveFlags(img, None, libvirt.VIR_DOMAIN_SAVE_PAUSED))
    step("restore", lambda: conn.restore(img))
    step("save bypass-cache", lambda: dom.saveFlags(img, None, libvirt.VIR_DOMAIN_SAVE_BYPASS_CACHE))
    step("restore --paused", lambda: conn.restoreFlags(img, None, libvirt.VIR_DOMAIN_SAVE_PAUSED))
    step("save inactive", lambda: dom.destroy() or dom.save(img))
    step("restore bad flags", lambda: conn.restoreFlags(img, None, 6))
    step("restore missing", lambda: conn.restore(os.path.join(DIR, "none")))
    step("restore not an image", lambda: conn.restore(XML_PATH))
    step("start", lambda: dom.create())
    step("managedsave", lambda: dom.managedSave(0))
    step("managedsave xml", lambda: image_name_of(dom.managedSaveGetXMLDesc(0)))
    step("undefine", lambda: dom.undefine())
    step("start from managed", lambda: dom.create())
    step("managedsave paused", lambda: dom.managedSave(libvirt.VIR_DOMAIN_SAVE_PAUSED))
    step("start from managed", lambda: dom.create())
    step("managedsave again", lambda: dom.managedSave(0))
    step("start paused from managed", lambda: dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED))
    step("destroy", lambda: dom.destroy())
    step("managedsave inactive", lambda: dom.managedSave(0))
    step("start", lambda: dom.create())
    step("managedsave", lambda: dom.managedSave(0))
    step("managedsave remove", lambda: dom.managedSaveRemove(0))
    step("managedsave remove again", lambda: dom.managedSaveRemove(0))
    step("start", lambda: dom.create())
    step("managedsave", lambda: dom.managedSave(0))
    step("start force boot", lambda: dom.createWithFlags(libvirt.VIR_DOMAIN_START_FORCE_BOOT))
    step("managedsave", lambda: dom.managedSave(0))
    step("undefine managed", lambda: dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE))
    step("create transient", lambda: conn.createXML(xml))
    step("managedsave transient", lambda: dom.managedSave(0))
    step("save transient", lambda: dom.save(img))
    step("restore transient", lambda: conn.restore(img))
    step("destroy", lambda: dom.destroy())
    conn.close()


def image_name_of(text):
    return text.split("<name>")[1].split("</name>")[0]


main()
