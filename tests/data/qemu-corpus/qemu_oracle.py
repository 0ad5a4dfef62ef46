#!/usr/bin/python3
"""One daemon's side of tests/tests/qemu_differential.rs.

Connects to the URI given as the first argument (a real libvirtd's or rvirtd's
qemu:///system) and reads lines "KIND PATH" on stdin. KIND "define" defines the document,
dumps its inactive XML and undefines it; KIND "native" asks for its `qemu-argv` native
form (virConnectDomainXMLToNative). One record per line: a header "OK LEN" or
"ERR CODE DOMAIN LEN", then LEN bytes (the XML, the argv or the error message) and a
newline.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from oracle_records import serve  # noqa: E402

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


serve(run)
