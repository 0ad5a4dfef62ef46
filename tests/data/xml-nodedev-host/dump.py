#!/usr/bin/python3
"""The real libvirtd side of tests/tests/xml_nodedev_host.rs.

Usage: dump.py URI. Writes on stdout one record per node device the libvirtd at URI
reports (its node-device driver enumerates the host's udev devices): a line "NAME CAPS
LEN" (CAPS: the capability names libvirt lists, comma-separated), then LEN bytes of the
XML libvirt formats for it and a newline.
"""
import sys

import libvirt

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])
for dev in conn.listAllDevices(0):
    xml = dev.XMLDesc(0)
    sys.stdout.write("%s %s %d\n%s\n" % (dev.name(), ",".join(dev.listCaps()),
                                          len(xml.encode()), xml))
