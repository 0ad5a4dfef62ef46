"""virDomainSetMetadata / GetMetadata on URI (argv[1]) for the domain in the XML file
argv[2]: titles, descriptions and namespaced elements on the inactive domain, then live
and persistent on the running one. Prints each outcome, the METADATA_CHANGE events and
the metadata part of the live and inactive XML; the same script runs against rvirtd and
a real libvirtd."""
import re
import sys
import threading
import time

import libvirt

E = libvirt.VIR_DOMAIN_METADATA_ELEMENT
T = libvirt.VIR_DOMAIN_METADATA_TITLE
D = libvirt.VIR_DOMAIN_METADATA_DESCRIPTION
LIVE, CONFIG = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG

libvirt.virEventRegisterDefaultImpl()


def loop():
    while True:
        libvirt.virEventRunDefaultImpl()


threading.Thread(target=loop, daemon=True).start()
conn = libvirt.open(sys.argv[1])
EVENTS = []
conn.domainEventRegisterAny(
    None, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
    lambda _c, _d, kind, nsuri, _o: EVENTS.append((kind, nsuri)), None)


def say(label, action):
    try:
        print(label, repr(action()))
    except libvirt.libvirtError as e:
        print(label, "error", e.get_error_code(), e.get_error_domain(), e.get_error_message())


def metadata_part(xml):
    keep = re.findall(r"  <title>.*?</title>\n|  <description>.*?</description>\n"
                      r"|  <metadata>.*?</metadata>\n", xml, re.S)
    return "".join(keep)


dom = conn.defineXML(open(sys.argv[2]).read())
say("get element", lambda: dom.metadata(E, "http://x/", 0))
say("get title", lambda: dom.metadata(T, None, 0))
say("set element", lambda: dom.setMetadata(E, "<foo a='1'><b/></foo>", "app", "http://x/", 0))
say("get it", lambda: dom.metadata(E, "http://x/", 0))
say("set another", lambda: dom.setMetadata(E, "<other/>", "app2", "http://y/", 0))
say("replace first", lambda: dom.setMetadata(E, "<foo2 z='2'/>", "app", "http://x/", 0))
say("set title", lambda: dom.setMetadata(T, "My title", None, None, 0))
say("set description", lambda: dom.setMetadata(D, "Some\ndesc", None, None, 0))
say("two-line title", lambda: dom.setMetadata(T, "a\nb", None, None, 0))
say("unknown type", lambda: dom.metadata(7, None, 0))
say("live on inactive", lambda: dom.setMetadata(T, "x", None, None, LIVE))
print(metadata_part(dom.XMLDesc(0)), end="")
dom.create()
say("live title", lambda: dom.setMetadata(T, "Live title", None, None, LIVE))
say("config element", lambda: dom.setMetadata(E, "<cfg/>", "c", "http://z/", CONFIG))
say("remove live element", lambda: dom.setMetadata(E, None, None, "http://y/", LIVE))
say("get live title", lambda: dom.metadata(T, None, LIVE))
say("get config title", lambda: dom.metadata(T, None, CONFIG))
say("get config element", lambda: dom.metadata(E, "http://z/", CONFIG))
say("get live element", lambda: dom.metadata(E, "http://z/", 0))
print("live:\n" + metadata_part(dom.XMLDesc(0)), end="")
print("inactive:\n" + metadata_part(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)), end="")
time.sleep(0.5)
print("events", EVENTS)
dom.destroy()
dom.undefine()
