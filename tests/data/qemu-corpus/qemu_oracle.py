#!/usr/bin/python3
"""One daemon's side of tests/tests/qemu_differential.rs.

Connects to the URI given as the first argument (a real libvirtd's or rvirtd's
qemu:///system) and reads lines "KIND PATH" on stdin. KIND "define" defines the document,
dumps its inactive XML and undefines it; KIND "native" asks for its `qemu-argv` native
form (virConnectDomainXMLToNative). One record per line: a header "OK LEN" or
"ERR CODE DOMAIN LEN", then LEN bytes (the XML, the argv or the error message) and a
newline.
"""
import sys

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])


def define(xml):
    dom = conn.defineXMLFlags(xml, 0)
    try:
        return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        dom.undefine()


def run(kind, xml):
    if kind == "define":
        return define(xml)
    if kind == "native":
        return conn.domainXMLToNative("qemu-argv", xml, 0)
    raise ValueError(kind)


for line in sys.stdin:
    kind, path = line.split(None, 1)
    with open(path.strip()) as f:
        text = f.read()
    try:
        body = run(kind, text).encode()
        head = "OK %d" % len(body)
    except libvirt.libvirtError as e:
        body = str(e).encode()
        head = "ERR %d %d %d" % (e.get_error_code(), e.get_error_domain(), len(body))
    sys.stdout.buffer.write(head.encode() + b"\n" + body + b"\n")
    sys.stdout.buffer.flush()
