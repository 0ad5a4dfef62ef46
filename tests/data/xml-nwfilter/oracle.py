#!/usr/bin/python3
"""The real libvirt side of tests/tests/xml_nwfilter.rs.

argv[1] is the URI of a running libvirtd. Reads lines "KIND PATH" on stdin (KIND is
"filter"), one document each,
defines each as a network filter, dumps it back and undefines it, and writes one record
per document: "OK LEN" or "ERR CODE DOMAIN LEN", then LEN bytes and a newline.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from oracle_records import serve  # noqa: E402

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])


def run(_kind, text):
    o = conn.nwfilterDefineXML(text)
    try:
        return o.XMLDesc(0)
    finally:
        o.undefine()


serve(run)
