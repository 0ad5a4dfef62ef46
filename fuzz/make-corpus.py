#!/usr/bin/python3
"""Regenerates the extracted part of the seed corpus from fixtures in the repository.

  fuzz/make-corpus.py

- frame_decode, payload_decode: one message per distinct (program, procedure, type,
  status) from the libvirt 9.0 captures in tests/data/compat/wire/*/frames.bin (messages
  over 4 KiB are skipped). payload_decode inputs are: program selector byte (0 remote,
  1 qemu, 2 keepalive), procedure number (u16, big endian), payload.
- xml_*: the documents of plugins/test/src/default-node.xml, the qemu test guests, and
  the virsh dumpxml outputs captured from libvirt.
- xml_testnode: default-node.xml itself. config_toml: config/rvirtd.toml.

Hand-written seeds (files named hand-*) are kept; only wire-*/repo-* files are rewritten.
Standard library only.
"""
import glob
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
PROGRAMS = {0x20008086: 0, 0x20008087: 1, 0x6B656570: 2}


def out(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clean(target):
    for p in glob.glob(os.path.join(CORPUS, target, "wire-*")) + glob.glob(
        os.path.join(CORPUS, target, "repo-*")
    ):
        os.remove(p)


def frames(path):
    data = open(path, "rb").read()
    off = 0
    while off + 17 <= len(data):
        (ln,) = struct.unpack(">I", data[off + 13:off + 17])
        yield data[off + 13:off + 13 + ln]
        off += 13 + ln


def wire():
    clean("frame_decode")
    clean("payload_decode")
    seen = set()
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/data/compat/wire/*/frames.bin"))):
        session = os.path.basename(os.path.dirname(path))
        for msg in frames(path):
            if len(msg) < 28 or len(msg) > 4096:
                continue
            prog, _vers, proc, typ, _serial, status = struct.unpack(">IIiiIi", msg[4:28])
            key = (prog, proc, typ, status)
            if prog not in PROGRAMS or key in seen or not 0 <= proc < 65536:
                continue
            seen.add(key)
            name = f"wire-{session}-{prog:x}-{proc}-t{typ}-s{status}"
            out("frame_decode", name, msg)
            if status == 0:
                out("payload_decode", name, bytes([PROGRAMS[prog]]) + struct.pack(">H", proc) + msg[28:])


def elements(text, tag):
    """Top-level <tag ...>...</tag> blocks of a document (no nesting of the same tag)."""
    return re.findall(rf"<{tag}[\s>].*?</{tag}>", text, re.S)


def xml():
    for t in ["xml_domain", "xml_network", "xml_storage_pool", "xml_storage_vol", "xml_nodedev", "xml_testnode"]:
        clean(t)
    node = open(os.path.join(ROOT, "plugins/test/src/default-node.xml")).read()
    out("xml_testnode", "repo-default-node.xml", node.encode())
    for kind, target in [("domain", "xml_domain"), ("network", "xml_network"), ("pool", "xml_storage_pool"),
                         ("volume", "xml_storage_vol"), ("device", "xml_nodedev")]:
        for i, e in enumerate(elements(node, kind)):
            out(target, f"repo-default-node-{kind}{i}.xml", e.encode())
    for p in ["plugins/qemu/testdata/tiny-tcg.xml", "plugins/qemu/testdata/tiny-kvm.xml",
              "tests/data/compat/wire/anchor1.xml"]:
        out("xml_domain", "repo-" + os.path.basename(p), open(os.path.join(ROOT, p), "rb").read())
    for session, kind, target in [("dumpxml-test", "domain", "xml_domain"),
                                  ("net-dumpxml-default", "network", "xml_network")]:
        text = open(os.path.join(ROOT, "tests/data/compat/wire", session, "virsh.out")).read()
        for e in elements(text, kind):
            out(target, f"repo-virsh-{session}.xml", e.encode())


def config():
    clean("config_toml")
    out("config_toml", "repo-rvirtd.toml", open(os.path.join(ROOT, "config/rvirtd.toml"), "rb").read())


wire()
xml()
config()
