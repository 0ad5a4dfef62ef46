#!/usr/bin/python3
"""Builds xml/src/schema/names.rs: for every element of libvirt's RelaxNG grammars, the
names of the attributes (with their enumerated values, when the grammar lists them) and
of the child elements it may hold. That is what rvirt checks when a caller asks for
validation (the VALIDATE flags): names outside the schema are refused, like libvirt does.

Usage: xml/schema/gen-names.py [/usr/share/libvirt/schemas] > xml/src/schema/names.rs
"""
import os
import sys
import xml.etree.ElementTree as ET

RNG = "{http://relaxng.org/ns/structure/1.0}"
SCHEMAS = [
    ("Domain", "domain.rng"),
    ("Network", "network.rng"),
    ("StoragePool", "storagepool.rng"),
    ("StorageVol", "storagevol.rng"),
    ("NodeDevice", "nodedev.rng"),
    ("Secret", "secret.rng"),
    ("Interface", "interface.rng"),
    ("NetworkPort", "networkport.rng"),
    ("DomainSnapshot", "domainsnapshot.rng"),
    ("DomainCheckpoint", "domaincheckpoint.rng"),
    ("NwFilterBinding", "nwfilterbinding.rng"),
    ("NwFilter", "nwfilter.rng"),
]

# Elements later libvirt releases added that rvirt implements, as (schema, root element,
# new child, an existing child with the same content): the schemas above are 9.0's.
LATER = [
    ("Network", "network", "title", "name"),        # libvirt 9.7
    ("Network", "network", "description", "name"),  # libvirt 9.7
]


def tag(e):
    return e.tag[len(RNG):] if e.tag.startswith(RNG) else None


class Grammar:
    """One <grammar> scope: its defines (bodies merged by name) and start patterns."""

    def __init__(self, parent=None):
        self.defines = {}
        self.start = []
        self.parent = parent


class Loader:
    def __init__(self, base):
        self.base = base
        self.ns = {}  # id(rng element) -> inherited ns

    def mark_ns(self, e, ns):
        ns = e.get("ns", ns)
        self.ns[id(e)] = ns
        for c in e:
            self.mark_ns(c, ns)

    def load_file(self, href, g, ns=""):
        root = ET.parse(os.path.join(self.base, href)).getroot()
        self.mark_ns(root, ns)
        self.fill(root, g)

    def fill(self, grammar_el, g):
        for c in grammar_el:
            t = tag(c)
            if t == "define":
                if c.get("combine") is None and c.get("name") in g.defines:
                    g.defines[c.get("name")] = []
                g.defines.setdefault(c.get("name"), []).extend(list(c))
            elif t == "start":
                g.start.extend(list(c))
            elif t == "include":
                sub = Grammar()
                self.load_file(c.get("href"), sub, self.ns.get(id(c), ""))
                overrides = Grammar()
                self.fill(c, overrides)
                for k, v in sub.defines.items():
                    if k not in overrides.defines:
                        g.defines.setdefault(k, []).extend(v)
                for k, v in overrides.defines.items():
                    g.defines[k] = list(v)
                if not overrides.start:
                    g.start.extend(sub.start)
                else:
                    g.start.extend(overrides.start)
            elif t == "div":
                self.fill(c, g)


class Builder:
    def __init__(self, loader):
        self.loader = loader
        self.nodes = []  # [attrs dict, any_attr, children dict name->set(ids), text]
        self.memo = {}

    def element_names(self, e):
        n = e.get("name")
        ns = self.loader.ns.get(id(e), "")
        if n is not None:
            return [qual(ns, n.strip())]
        names = []
        for c in e:
            names.extend(self.name_class(c, ns))
            if names:
                break
        return names

    def name_class(self, c, ns):
        t = tag(c)
        if t == "name":
            return [qual(c.get("ns", ns), c.text.strip())]
        if t == "anyName":
            return ["*"]
        if t == "nsName":
            return [qual(c.get("ns", ns), "*")]
        if t == "choice":
            out = []
            for x in c:
                out.extend(self.name_class(x, ns))
            return out
        return []

    def node(self, e, g):
        key = (id(e), id(g))
        if key in self.memo:
            return self.memo[key]
        idx = len(self.nodes)
        self.memo[key] = idx
        rec = [{}, False, {}, False]
        self.nodes.append(rec)
        body = [c for c in e if tag(c) not in ("name", "anyName", "nsName", "choice")
                or e.get("name") is not None]
        if e.get("name") is None:
            body = list(e)[1:]
        self.walk(body, g, rec, set())
        return idx

    def walk(self, pats, g, rec, seen):
        for p in pats:
            t = tag(p)
            if t is None:
                continue
            if t == "element":
                for n in self.element_names(p):
                    rec[2].setdefault(n, set()).add(self.node(p, g))
            elif t == "attribute":
                ns = self.loader.ns.get(id(p), "")
                # Attributes are in no namespace unless the pattern says so.
                ns = p.get("ns", "")
                names = [qual(ns, p.get("name").strip())] if p.get("name") else \
                    self.name_class(list(p)[0], ns)
                vals = self.values([c for c in p if tag(c) not in
                                    ("name", "anyName", "nsName")] if p.get("name") is None
                                   else list(p), g, set())
                for n in names:
                    if n == "*":
                        rec[1] = True
                        continue
                    if n in rec[0]:
                        old = rec[0][n]
                        rec[0][n] = None if old is None or vals is None else old | vals
                    else:
                        rec[0][n] = vals
            elif t in ("ref", "parentRef"):
                name = p.get("name")
                gg = g if t == "ref" else g.parent
                if (name, id(gg)) in seen:
                    continue
                seen.add((name, id(gg)))
                self.walk(gg.defines.get(name, []), gg, rec, seen)
            elif t == "grammar":
                sub = Grammar(g)
                self.loader.fill(p, sub)
                self.walk(sub.start, sub, rec, set())
            elif t in ("text", "data", "value", "list"):
                rec[3] = True
            elif t in ("empty", "notAllowed", "param", "except"):
                pass
            else:  # choice, group, interleave, optional, zeroOrMore, oneOrMore, mixed
                if t == "mixed":
                    rec[3] = True
                self.walk(list(p), g, rec, seen)

    def values(self, pats, g, seen):
        """The set of values an attribute pattern allows, or None when it takes any text."""
        out = set()
        if not pats:
            return None  # <attribute name='x'/> is text
        for p in pats:
            t = tag(p)
            if t == "value":
                out.add((p.text or "").strip() if p.get("type", "token") == "token"
                        else (p.text or ""))
            elif t == "choice" or t == "group":
                v = self.values(list(p), g, seen)
                if v is None:
                    return None
                out |= v
            elif t == "ref":
                if p.get("name") in seen:
                    continue
                v = self.values(g.defines.get(p.get("name"), []), g,
                                seen | {p.get("name")})
                if v is None:
                    return None
                out |= v
            elif t == "empty":
                out.add("")
            else:
                return None
        return out


def qual(ns, n):
    return "{%s}%s" % (ns, n) if ns else n


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/libvirt/schemas"
    loader = Loader(base)
    b = Builder(loader)
    roots = []
    for kind, f in SCHEMAS:
        g = Grammar()
        loader.load_file(f, g)
        rec = [{}, False, {}, False]
        b.walk(g.start, g, rec, set())
        for later_kind, root, child, like in LATER:
            if later_kind == kind:
                for node in rec[2][root]:
                    kids = b.nodes[node][2]
                    kids[child] = set(kids[like])
        roots.append((kind, f, rec[2]))
    # Merge structurally identical nodes so the table stays small.
    ids = list(range(len(b.nodes)))
    while True:
        canon = {}
        new = []
        for i, (attrs, any_attr, kids, text) in enumerate(b.nodes):
            k = (tuple(sorted((a, tuple(sorted(v)) if v is not None else None)
                              for a, v in attrs.items())), any_attr,
                 tuple(sorted((n, tuple(sorted({ids[x] for x in s}))) for n, s in kids.items())),
                 text)
            new.append(canon.setdefault(k, len(canon)))
        if new == ids:
            break
        ids = new
    count = max(ids) + 1
    uniq = [None] * count
    for i, rec in enumerate(b.nodes):
        uniq[ids[i]] = rec
    print("// @generated by xml/schema/gen-names.py from libvirt 9.0's RelaxNG schemas (and its LATER list).")
    print("// Element and attribute names (and enumerated attribute values) only; do not edit.")
    print("#![allow(clippy::all)]")
    print("use super::{Attr, Node, Schema};")
    print()
    print("pub(super) static NODES: [Node; %d] = [" % count)
    for attrs, any_attr, kids, text in uniq:
        a = ", ".join("Attr { name: %s, values: %s }" % (
            rust_str(n), "None" if v is None else
            "Some(&[" + ", ".join(rust_str(x) for x in sorted(v)) + "])")
            for n, v in sorted(attrs.items()))
        k = ", ".join("(%s, &[%s])" % (rust_str(n), ", ".join(str(x) for x in sorted({ids[y] for y in s})))
                      for n, s in sorted(kids.items()))
        print("    Node { attrs: &[%s], any_attr: %s, children: &[%s] }," % (
            a, "true" if any_attr else "false", k))
    print("];")
    print()
    print("pub(super) fn roots(s: Schema) -> (&'static str, &'static [(&'static str, &'static [u16])]) {")
    print("    match s {")
    for kind, f, kids in roots:
        k = ", ".join("(%s, &[%s])" % (rust_str(n), ", ".join(str(x) for x in sorted({ids[y] for y in s})))
                      for n, s in sorted(kids.items()))
        print("        Schema::%s => (%s, &[%s])," % (kind, rust_str(f), k))
    print("    }")
    print("}")


main()
