#!/usr/bin/python3
"""The real libvirt side of tests/tests/xml_nwfilter.rs.

argv[1] is the URI of a running libvirtd. Reads lines "KIND PATH" on stdin (KIND is
"filter"), one document each,
defines each as a network filter, dumps it back and undefines it, and writes one record
per document: "OK LEN" or "ERR CODE DOMAIN LEN", then LEN bytes and a newline.
"""
import sys

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])

for line in sys.stdin:
    with open(line.split(None, 1)[1].strip()) as f:
        text = f.read()
    try:
        o = conn.nwfilterDefineXML(text)
        try:
            body = o.XMLDesc(0).encode()
        finally:
            o.undefine()
        head = "OK %d" % len(body)
    except libvirt.libvirtError as e:
        body = str(e).encode()
        head = "ERR %d %d %d" % (e.get_error_code(), e.get_error_domain(), len(body))
    sys.stdout.buffer.write(head.encode() + b"\n" + body + b"\n")
    sys.stdout.buffer.flush()
