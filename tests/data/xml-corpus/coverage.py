#!/usr/bin/python3
"""How many of a schema's element names the corpus reaches, per kind.

For each kind, the element names a document of that kind can contain are those its
RelaxNG schema (/usr/share/libvirt/schemas/KIND.rng, with its includes) reaches from its
<start> through <ref>s (commented-out parts and defines the start never reaches do not
count). A name is reached when some corpus document of the kind uses it (namespace
prefixes dropped: the schema names qemu:commandline "commandline").

Usage: coverage.py [KIND...]   prints "KIND: REACHED of TOTAL element names" and the
missing names, one kind a line; kinds: domain network pool volume nodedev snapshot
netport (default: all).
"""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = "/usr/share/libvirt/schemas"
RNG = "{http://relaxng.org/ns/structure/1.0}"

# kind: (top schema, corpus directories)
KINDS = {
    "domain": ("domain.rng", ["domain"]),
    "network": ("network.rng", ["network"]),
    "pool": ("storagepool.rng", ["pool"]),
    "volume": ("storagevol.rng", ["volume"]),
    "nodedev": ("nodedev.rng", ["nodedev"]),
    "snapshot": ("domainsnapshot.rng", ["snapshot"]),
    "netport": ("networkport.rng", ["netport"]),
}


def load(name, defines, starts, seen):
    """Collects the defines and start patterns of `name` and what it includes."""
    if name in seen:
        return
    seen.add(name)
    root = ET.parse(os.path.join(SCHEMAS, name)).getroot()
    for child in root:
        if child.tag == RNG + "include":
            load(child.get("href"), defines, starts, seen)
        elif child.tag == RNG + "define":
            defines.setdefault(child.get("name"), []).append(child)
        elif child.tag == RNG + "start":
            starts.append(child)


def reachable(top):
    defines, starts = {}, []
    load(top, defines, starts, set())
    names, done, todo = set(), set(), list(starts)
    while todo:
        node = todo.pop()
        for e in node.iter():
            if e.tag == RNG + "element" and e.get("name"):
                names.add(e.get("name"))
            elif e.tag == RNG + "ref" and e.get("name") not in done:
                done.add(e.get("name"))
                todo.extend(defines.get(e.get("name"), []))
    return names


def used(dirs):
    found = set()
    for d in dirs:
        for f in glob.glob(os.path.join(HERE, d, "*.xml")):
            with open(f) as fh:
                text = re.sub(r"<!--.*?-->", "", fh.read(), flags=re.S)
            for tag in re.findall(r"<([A-Za-z_][\w:.-]*)", text):
                found.add(tag.split(":")[-1])
    return found


def main():
    for kind in sys.argv[1:] or KINDS:
        top, dirs = KINDS[kind]
        schema = reachable(top)
        missing = sorted(schema - used(dirs))
        print("%s: %d of %d element names (%s); missing: %s" % (
            kind, len(schema) - len(missing), len(schema), top, " ".join(missing) or "none"))


main()
