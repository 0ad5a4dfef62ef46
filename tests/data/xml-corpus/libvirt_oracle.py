#!/usr/bin/python3
"""The real libvirt side of tests/tests/xml_differential.rs.

Reads lines "KIND PATH" on stdin, defines each document on libvirt's own test driver
(the URI given as the first argument, a real libvirtd's test:///default; without one,
test:///default in-process through libvirt-python), dumps it back and removes it, and
writes one record per document: a header line "OK LEN" or "ERR CODE DOMAIN LEN", then LEN
bytes (the dumped XML or the error message) and a newline.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from oracle_records import serve  # noqa: E402

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1] if len(sys.argv) > 1 else "test:///default")
pool = conn.storagePoolLookupByName("default-pool")


def run(kind, xml):
    if kind == "domain":
        o = conn.defineXMLFlags(xml, 0)
        try:
            return o.XMLDesc(0)
        finally:
            o.undefine()
    if kind == "network":
        o = conn.networkDefineXML(xml)
        try:
            return o.XMLDesc(0)
        finally:
            o.undefine()
    if kind == "pool":
        o = conn.storagePoolDefineXML(xml, 0)
        try:
            return o.XMLDesc(0)
        finally:
            o.undefine()
    if kind == "volume":
        o = pool.createXML(xml, 0)
        try:
            return o.XMLDesc(0)
        finally:
            o.delete(0)
    if kind == "nodedev":
        o = conn.nodeDeviceCreateXML(xml, 0)
        try:
            return o.XMLDesc(0)
        finally:
            o.destroy()
    if kind == "snapshot":
        # A leading "<!-- redefine -->" asks for VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.
        flags = 1 if xml.startswith("<!-- redefine -->") else 0
        o = conn.lookupByName("test").snapshotCreateXML(xml, flags)
        try:
            return o.getXMLDesc(0)
        finally:
            o.delete(0)
    raise ValueError(kind)


serve(run)
