"""The record loop the libvirt-python oracles of the differential tests share.

Reads lines "KIND PATH" on stdin; for each, calls run(kind, text of the file at PATH) and
writes one record to stdout: a header line "OK LEN" or "ERR CODE DOMAIN LEN", then LEN
bytes (what run returned, or the libvirt error's message) and a newline.
"""
import sys

import libvirt


def serve(run):
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
