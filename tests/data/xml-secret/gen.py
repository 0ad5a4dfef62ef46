#!/usr/bin/python3
"""Writes the corpus of tests/tests/xml_secret_binding.rs: secret/NNN.xml and
binding/NNN.xml, good and bad documents for libvirtd's secret and nwfilter drivers.

Usage: tests/data/xml-secret/gen.py (from anywhere; writes next to itself).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
U = "0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60"
UUID = "<uuid>%s</uuid>" % U


def sec(body, attrs=" ephemeral='yes'"):
    return "<secret%s>%s</secret>" % (attrs, body)


def usage(kind, child, value):
    return "<usage type='%s'><%s>%s</%s></usage>" % (kind, child, value, child)


SECRETS = [
    sec(UUID),
    sec(UUID, ""),
    sec(UUID, " ephemeral='no' private='no'"),
    sec(UUID, " ephemeral='yes' private='yes'"),
    sec(UUID, " private='yes'"),
    sec(UUID, " ephemeral=''"),
    sec(UUID, " ephemeral='yes' private=''"),
    sec(UUID, " ephemeral='maybe'"),
    sec(UUID, " ephemeral='YES'"),
    sec(UUID, " ephemeral='on'"),
    sec(UUID, " ephemeral='1'"),
    sec(UUID, " ephemeral='yes' private='true'"),
    sec(UUID + usage("volume", "volume", "/var/lib/libvirt/images/a.img")),
    sec(UUID + usage("ceph", "name", "client.admin secret")),
    sec(UUID + usage("iscsi", "target", "iqn.2013-07.com.example:storage")),
    sec(UUID + usage("tls", "name", "tls_example")),
    sec(UUID + usage("vtpm", "name", "VTPM_example")),
    sec(UUID + "<usage type='volume'/>"),
    sec(UUID + "<usage type='ceph'/>"),
    sec(UUID + "<usage type='iscsi'/>"),
    sec(UUID + "<usage type='tls'/>"),
    sec(UUID + "<usage type='vtpm'/>"),
    sec(UUID + usage("volume", "volume", "")),
    sec(UUID + usage("ceph", "name", "")),
    sec(UUID + usage("volume", "volume", "  /spaced  ")),
    sec(UUID + usage("iscsi", "target", " ")),
    sec(UUID + usage("volume", "name", "wrong-child")),
    sec(UUID + usage("tls", "volume", "/wrong")),
    sec(UUID + "<usage/>"),
    sec(UUID + "<usage type=''/>"),
    sec(UUID + "<usage type='none'/>"),
    sec(UUID + "<usage type='foo'/>"),
    sec(UUID + "<usage type='Volume'><volume>/a</volume></usage>"),
    sec(UUID + "<usage type='volume'><volume>/a</volume><volume>/b</volume></usage>"),
    sec(UUID + usage("volume", "volume", "/a") + usage("ceph", "name", "c")),
    sec(UUID + usage("tls", "name", "a&amp;b&lt;c&gt;'q'\"d\"")),
    sec(UUID + "<description>a secret</description>"),
    sec(UUID + "<description>  spaced  </description>"),
    sec(UUID + "<description></description>"),
    sec(UUID + "<description>a &amp; b &lt; 'q' \"d\"</description>"),
    sec(UUID + "<description>line1\nline2</description>"),
    sec(usage("vtpm", "name", "v1") + "<description>after</description>" + UUID),
    sec("<uuid>0b1c3e4e3c1a4d559a7e1c2b3d4e5f60</uuid>"),
    sec("<uuid>0B1C3E4E-3C1A-4D55-9A7E-1C2B3D4E5F60</uuid>"),
    sec("<uuid> 0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60 </uuid>"),
    sec("<uuid>0b 1c 3e 4e 3c 1a 4d 55 9a 7e 1c 2b 3d 4e 5f 60</uuid>"),
    sec("<uuid>-0b1c3e4e--3c1a-4d55-9a7e-1c2b3d4e5f60</uuid>"),
    sec("<uuid>0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60-</uuid>"),
    sec("<uuid>{0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f60}</uuid>"),
    sec("<uuid>0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f6</uuid>"),
    sec("<uuid>0b1c3e4e-3c1a-4d55-9a7e-1c2b3d4e5f600</uuid>"),
    sec("<uuid>zzz</uuid>"),
    sec("<uuid>00000000-0000-0000-0000-000000000000</uuid>"),
    sec(UUID + "<uuid>zz</uuid>"),
    sec("<uuid></uuid>"),
    sec(""),
    sec("<description>no uuid</description>" + usage("ceph", "name", "gen")),
    sec(UUID + "<bogus/>", " ephemeral='yes' bogus='1'"),
    sec(UUID + usage("volume", "volume", "<x/>/p")),
    "<foo/>",
    "<secret",
    "<secret ephemeral='yes'>" + UUID,
    "<secret ephemeral='yes'><uuid>" + U + "</uuid><description>a</secret>",
]

O = "<owner><name>vm</name><uuid>%s</uuid></owner>" % U
P = "<portdev name='rvt-nodev0'/>"
M = "<mac address='52:54:00:11:22:33'/>"
F = "<filterref filter='rvirt-test-binding'/>"


def bind(body):
    return "<filterbinding>%s</filterbinding>" % body


def params(*ps):
    inner = "".join("<parameter%s/>" % p for p in ps)
    return "<filterref filter='rvirt-test-binding'>%s</filterref>" % inner


BINDINGS = [
    bind(O + P + M + F),
    bind(O + P + "<linkdev name='rvt-link0'/>" + M + F),
    bind(O + P + M + params(" name='IP' value='10.0.0.1'")),
    bind(O + P + M + params(" name='IP' value='10.0.0.1'", " name='MAC' value='52:54:00:aa:bb:cc'",
                            " name='A' value='x'")),
    bind(O + P + M + params(" name='IP' value='10.0.0.2'", " name='IP' value='10.0.0.1'")),
    bind(O + P + M + params(" name='B' value='1'", " name='A' value='2'")),
    bind(O + P + M + params(" name='IP'")),
    bind(O + P + M + params(" value='1'")),
    bind(O + P + "<mac address='52:54:00:AA:BB:CC'/>" + F),
    bind(O + P + "<mac address='01:00:00:00:00:00'/>" + F),
    bind(O + P + "<mac address='zz'/>" + F),
    bind(O + P + "<mac/>" + F),
    bind(O + P + F),
    bind(O + P + M),
    bind(O + P + M + "<filterref/>"),
    bind(O + P + M + "<filterref filter='rvirt-no-such-filter'/>"),
    bind(O + "<portdev/>" + M + F),
    bind(O + M + F),
    bind(P + M + F),
    bind("<owner><uuid>%s</uuid></owner>" % U + P + M + F),
    bind("<owner><name>vm</name></owner>" + P + M + F),
    bind("<owner><name>vm</name><uuid>zz</uuid></owner>" + P + M + F),
    bind("<owner><name>a&amp;b</name><uuid>0b1c3e4e3c1a4d559a7e1c2b3d4e5f60</uuid></owner>"
         + P + M + F),
    bind(F + M + P + O),
    bind(O + P + M + params(" name='a-b' value='1'", " name='A' value='x y'", " name='A' value=''",
                            " name='A' value='1,2'", " name='A' value='$x'", " name='A' value='a/b'",
                            " name='A b' value='1'", " name='a.b' value='1'")),
    bind(O + P + M + params(" name='' value='1'", " name='_a1' value='a.b:c_d'",
                            " name='9a' value='ff::1'", " name='A' value='1'",
                            " name='A' value='2'", " name='B' value='x y'")),
    bind(O + "<portdev name=''/>" + M + F),
    bind(O + P + "<mac address=''/>" + F),
    bind(O + P + M + "<filterref filter=''/>"),
    bind("<owner><name></name><uuid>%s</uuid></owner>" % U + P + M + F),
    bind("<owner><name> vm </name><uuid> %s </uuid></owner>" % U + P + M + F),
    bind(O + P + "<linkdev/>" + M + F),
    bind(O + P + "<linkdev name=''/>" + M + F),
    bind(O + P + "<mac address='52:54:0:1:2:3'/>" + F),
    bind(O + P + "<mac address='52-54-00-11-22-33'/>" + F),
    bind(O + P + "<mac address='52:54:00:11:22:33:44'/>" + F),
    bind(O + P + M + F + "<bogus/>"),
    "<filterbind/>",
    "<filterbinding",
    bind(""),
]


def write(kind, docs):
    d = os.path.join(HERE, kind)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".xml"):
            os.remove(os.path.join(d, f))
    for i, x in enumerate(docs):
        with open(os.path.join(d, "%03d.xml" % i), "w") as f:
            f.write(x + "\n")


write("secret", SECRETS)
write("binding", BINDINGS)
