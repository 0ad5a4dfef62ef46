"""Drives snapshots of one domain on URI (argv[1]) with the XML in argv[2], whose qcow2
disk lives under the directory argv[3], and prints what every step answers: the outcome
(error code, domain and message), the lifecycle events it causes, the state after it,
and snapshot XML with only volatile values masked. The same script runs against rvirtd
and a real libvirtd; the outputs must match."""
import os
import re
import subprocess
import sys

import libvirt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import events  # noqa: E402  (tests/python/events.py)

URI, XML_PATH, DIR = sys.argv[1], sys.argv[2], sys.argv[3]
LOG = events.EventLog()
L = libvirt


def masked(xml):
    """Snapshot XML with its creation time, the test's directory, the embedded domain
    definitions and libvirt's private cookie (the guest CPU QEMU gave, which rvirtd
    does not record) masked."""
    xml = re.sub(r"<creationTime>\d+</creationTime>", "<creationTime>T</creationTime>", xml)
    xml = xml.replace(DIR, "DIR")
    for tag in ("domain", "inactiveDomain"):
        xml = re.sub(rf"( *)<{tag}[ >].*?</{tag}>\n", rf"\1<{tag}>...</{tag}>\n", xml, flags=re.S)
    xml = re.sub(r" *<cookie>.*?</cookie>\n", "", xml, flags=re.S)
    return xml.rstrip("\n")


def main():
    events.start_loop()
    conn = libvirt.open(URI)
    conn.domainEventRegisterAny(None, L.VIR_DOMAIN_EVENT_ID_LIFECYCLE, LOG.on_lifecycle, None)
    xml = open(XML_PATH).read()
    name = xml.split("<name>")[1].split("</name>")[0]
    disk = f"{DIR}/disk.qcow2"
    dom = None

    def state():
        try:
            d = conn.lookupByName(name)
            cur = d.snapshotCurrent().getName() if d.hasCurrentSnapshot() else "-"
            return "state %d %d current %s" % (*d.state(), cur)
        except libvirt.libvirtError as e:
            return f"state error {e.get_error_code()}"

    def step(label, action):
        nonlocal dom
        try:
            result = action()
            if isinstance(result, libvirt.virDomain):
                dom = result
                result = None
            if isinstance(result, libvirt.virDomainSnapshot):
                result = result.getName()
            outcome = "ok" if result is None else f"ok {result}"
        except libvirt.libvirtError as e:
            outcome = f"error {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}"
        print(f"{label}: {outcome}")
        for e in LOG.settle():
            print(f"  {e}")
        print(f"  {state()}")

    def snap(n):
        return dom.snapshotLookupByName(n)

    def create(n, flags=0, extra=""):
        return dom.snapshotCreateXML(
            f"<domainsnapshot><name>{n}</name><description>about {n}</description>{extra}"
            "</domainsnapshot>", flags)

    def names(flags):
        return " ".join(sorted(dom.snapshotListNames(flags)))

    def listed(flags):
        return " ".join(sorted(s.getName() for s in dom.listAllSnapshots(flags)))

    def children(n, flags):
        kids = sorted(s.getName() for s in snap(n).listAllChildren(flags))
        return "%d %s | %s" % (snap(n).numChildren(flags), " ".join(kids),
                               " ".join(sorted(snap(n).listChildrenNames(flags))))

    def image_snapshots():
        out = subprocess.run(["qemu-img", "snapshot", "-l", "-U", disk], capture_output=True,
                             text=True, check=True).stdout
        rows = [line.split()[1] for line in out.splitlines()[2:] if line.split()]
        return " ".join(sorted(rows))

    def redefine_current():
        text = snap("s2").getXMLDesc(0).replace("about s2", "redefined s2")
        dom.snapshotCreateXML(text, L.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
                              | L.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)
        return masked(snap("s2").getXMLDesc(0)).split("\n")[2]

    step("define", lambda: conn.defineXML(xml))
    step("current of none", lambda: dom.snapshotCurrent())
    step("create s1 offline", lambda: create("s1"))
    step("dumpxml s1", lambda: "\n" + masked(snap("s1").getXMLDesc(0)))
    step("create s1 again", lambda: create("s1"))
    step("create with current flag", lambda: create("x", L.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT))
    step("create bad xml", lambda: dom.snapshotCreateXML("<snapshot/>", 0))
    step("create unknown disk", lambda: create("x", 0, "<disks><disk name='vdz'/></disks>"))
    step("create offline with memory", lambda: create("x", 0, "<memory snapshot='internal'/>"))
    step("start", lambda: dom.create())
    step("create s2 running", lambda: create("s2"))
    step("dumpxml s2", lambda: "\n" + masked(snap("s2").getXMLDesc(0)))
    step("create running without memory", lambda: create("x", 0, "<memory snapshot='no'/>"))
    step("suspend", lambda: dom.suspend())
    step("create s3 paused", lambda: create("s3"))
    step("dumpxml s3 state", lambda: masked(snap("s3").getXMLDesc(0)).split("\n")[3])
    step("resume", lambda: dom.resume())
    step("image snapshots", image_snapshots)
    for label, flags in [("all", 0), ("roots", L.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS),
                         ("leaves", L.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES),
                         ("no leaves", L.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES),
                         ("inactive", L.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE),
                         ("active", L.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE),
                         ("internal", L.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL),
                         ("external", L.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL),
                         ("metadata", L.VIR_DOMAIN_SNAPSHOT_LIST_METADATA),
                         ("no metadata", L.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA),
                         ("bad flag", 1 << 20)]:
        step(f"list {label}", lambda f=flags: f"{names(f)} | {listed(f)} | {dom.snapshotNum(f)}")
    step("children of s1", lambda: children("s1", 0))
    step("descendants of s1", lambda: children("s1", L.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS))
    step("parent of s3", lambda: snap("s3").getParent())
    step("parent of s1", lambda: snap("s1").getParent())
    step("is current s3", lambda: f"{snap('s3').isCurrent()} {snap('s1').isCurrent()}")
    step("has metadata", lambda: snap("s1").hasMetadata())
    step("lookup missing", lambda: dom.snapshotLookupByName("nope"))
    step("revert to s1 (shut off) while running", lambda: dom.revertToSnapshot(snap("s1"), 0))
    step("revert to s2 (running) while shut off", lambda: dom.revertToSnapshot(snap("s2"), 0))
    step("revert to s3 (paused) while running", lambda: dom.revertToSnapshot(snap("s3"), 0))
    step("revert to s2 --paused", lambda: dom.revertToSnapshot(snap("s2"), 
        L.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED))
    step("revert to s3 --running", lambda: dom.revertToSnapshot(snap("s3"), 
        L.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING))
    step("revert --running --paused", lambda: dom.revertToSnapshot(snap("s3"), 
        L.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | L.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED))
    step("revert to s1 --paused", lambda: dom.revertToSnapshot(snap("s1"), 
        L.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED))
    step("revert to s1 --running", lambda: dom.revertToSnapshot(snap("s1"),
                                                               L.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING))
    step("revert to s1 --paused", lambda: dom.revertToSnapshot(snap("s1"),
                                                              L.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED))
    step("create s4 after revert", lambda: create("s4"))
    step("parent of s4", lambda: snap("s4").getParent())
    step("redefine s2 as current", redefine_current)
    step("create s5 without metadata", lambda: create("s5", L.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA))
    step("list after no metadata", lambda: names(0))
    step("image snapshots", image_snapshots)
    step("delete s4 running", lambda: snap("s4").delete(0))
    step("create s6 halt", lambda: create("s6", L.VIR_DOMAIN_SNAPSHOT_CREATE_HALT))
    step("undefine with snapshots", lambda: dom.undefine())
    step("delete s3 metadata only", lambda: snap("s3").delete(L.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY))
    step("delete s1 children only", lambda: snap("s1").delete(L.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY))
    step("list after", lambda: names(0))
    step("image snapshots", image_snapshots)
    step("delete s1 bad flag", lambda: snap("s1").delete(1 << 5))
    step("undefine snapshots metadata", lambda: dom.undefineFlags(
        L.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA))


main()
