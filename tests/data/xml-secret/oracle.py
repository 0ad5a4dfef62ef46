#!/usr/bin/python3
"""The real libvirtd side of tests/tests/xml_secret_binding.rs.

Usage: oracle.py URI. Reads lines "KIND PATH" (KIND: secret or binding, with a suffix
"-validate" for the call's VALIDATE flag) on stdin,
defines each document on the libvirtd at URI, dumps it and removes it again, and writes
one record per document: "OK LEN" or "ERR CODE DOMAIN LEN", then LEN bytes (the dumped
XML or the error message) and a newline. Bindings refer to the filter FILTER, which is
defined for the run and undefined afterwards; their port devices do not exist on the
host, so libvirtd records the binding without touching the firewall.
"""
import sys

import libvirt

FILTER = ("<filter name='rvirt-test-binding'>"
          "<rule action='accept' direction='inout'><all/></rule></filter>")

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])


def run(kind, xml):
    flags = 0
    if kind.endswith("-validate"):
        # VIR_SECRET_DEFINE_VALIDATE, VIR_NWFILTER_BINDING_CREATE_VALIDATE
        kind, flags = kind[:-len("-validate")], 1
    if kind == "secret":
        o = conn.secretDefineXML(xml, flags)
        try:
            return o.XMLDesc(0)
        finally:
            o.undefine()
    if kind == "binding":
        o = conn.nwfilterBindingCreateXML(xml, flags)
        try:
            return o.XMLDesc(0)
        finally:
            o.delete()
    raise ValueError(kind)


def main():
    filt = conn.nwfilterDefineXML(FILTER)
    try:
        for line in sys.stdin:
            kind, path = line.split(None, 1)
            with open(path.strip()) as f:
                xml = f.read()
            try:
                body = run(kind, xml)
                head = "OK %d" % len(body.encode())
            except libvirt.libvirtError as e:
                body = str(e)
                head = "ERR %d %d %d" % (e.get_error_code(), e.get_error_domain(),
                                         len(body.encode()))
            sys.stdout.write(head + "\n" + body + "\n")
            sys.stdout.flush()
    finally:
        filt.undefine()


main()
