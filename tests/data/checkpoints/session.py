#!/usr/bin/python3
"""One checkpoint session on the running domain "test" of a test:///default connection
(argv[1]): creates, refusals, parent/children, lookups, deletes; prints what each step
answered, creation times as T and lists sorted (libvirt lists checkpoints in hash order).
tests/tests/checkpoints.rs runs it on libvirt's test driver and on rvirtd's and compares.
"""
import re
import sys

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])
dom = conn.lookupByName("test")


def show(text):
    print(re.sub(r"\b\d{10}\b", "T", text))


def attempt(what, f):
    try:
        r = f()
        show("%s: %s" % (what, r if isinstance(r, str) else "ok"))
    except libvirt.libvirtError as e:
        show("%s: error %d %d %s" % (what, e.get_error_code(), e.get_error_domain(), str(e).split("\n")[0]))


def names(cps):
    return " ".join(sorted(c.getName() for c in cps))


REQUESTS = [
    "<domaincheckpoint><name>c1</name><description>a &amp; b</description></domaincheckpoint>",
    "<domaincheckpoint><name>c2</name><disks><disk name='vda' checkpoint='no'/></disks></domaincheckpoint>",
    "<domaincheckpoint><name>c3</name><disks><disk name='vda' checkpoint='bitmap' bitmap='bm3'/></disks></domaincheckpoint>",
    "<domaincheckpoint/>",
    "<domaincheckpoint><name>c4</name><disks><disk name='/guest/diskimage1'/></disks></domaincheckpoint>",
    "<domaincheckpoint><name>c5</name><disks><disk name='vdz'/></disks></domaincheckpoint>",
    "<domaincheckpoint><name>c6</name><disks><disk name='vda' checkpoint='bogus'/></disks></domaincheckpoint>",
    "<domaincheckpoint><name>c1</name></domaincheckpoint>",
    "<checkpoint/>",
    "<domaincheckpoint><name>c7</name><frob/></domaincheckpoint>",
]
for i, x in enumerate(REQUESTS):
    attempt("create %d" % i, lambda: dom.checkpointCreateXML(x, 0).getXMLDesc(0))
attempt("no domain", lambda: dom.checkpointLookupByName("c3").getXMLDesc(libvirt.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN))
attempt("all", lambda: names(dom.listAllCheckpoints(0)))
attempt("roots", lambda: names(dom.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS)))
attempt("leaves", lambda: names(dom.listAllCheckpoints(libvirt.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES)))
attempt("parent of c3", lambda: dom.checkpointLookupByName("c3").getParent().getName())
attempt("parent of c1", lambda: dom.checkpointLookupByName("c1").getParent().getName())
attempt("lookup nope", lambda: dom.checkpointLookupByName("nope").getName())
attempt("children of c1", lambda: names(dom.checkpointLookupByName("c1").listAllChildren(0)))
attempt("descendants of c1", lambda: names(dom.checkpointLookupByName("c1").listAllChildren(
    libvirt.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS)))
attempt("delete c2", lambda: dom.checkpointLookupByName("c2").delete(0))
attempt("parent of c3 now", lambda: dom.checkpointLookupByName("c3").getParent().getName())
attempt("delete children of c1", lambda: dom.checkpointLookupByName("c1").delete(
    libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY))
attempt("left", lambda: names(dom.listAllCheckpoints(0)))
attempt("next parent", lambda: dom.checkpointCreateXML("<domaincheckpoint><name>c8</name></domaincheckpoint>", 0)
        .getParent().getName())
attempt("delete c1 and all", lambda: dom.checkpointLookupByName("c1").delete(libvirt.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN))
attempt("none left", lambda: names(dom.listAllCheckpoints(0)))
off = conn.defineXML("<domain type='test'><name>cp-off</name><memory>1024</memory><os><type>hvm</type></os></domain>")
attempt("inactive", lambda: off.checkpointCreateXML("<domaincheckpoint/>", 0).getName())
