#!/usr/bin/python3
"""Writes the nwfilter corpus NNN.xml of tests/tests/xml_nwfilter.rs: every protocol
element with all its attributes, defaults, chains, filterrefs and some bad values.
Names are rvirt-corpus-N (no clash with shipped filters); uuids are fixed."""
MAC = "srcmacaddr='00:11:22:AA:bb:cc' srcmacmask='ff:ff:ff:ff:ff:00' dstmacaddr='01:02:03:04:05:06' dstmacmask='ff:ff:ff:ff:ff:ff'"
IP4 = "srcipaddr='10.1.2.3' srcipmask='255.255.255.0' dstipaddr='192.168.1.1' dstipmask='24'"
IP6 = "srcipaddr='fe80::1' srcipmask='64' dstipaddr='2001:db8::2' dstipmask='ffff:ffff::'"
RANGE4 = "srcipfrom='10.0.0.1' srcipto='10.0.0.9' dstipfrom='10.1.0.1' dstipto='10.1.0.9'"
RANGE6V = "srcipfrom='fe80::1' srcipto='fe80::9' dstipfrom='2001:db8::1'"
RANGE6 = "srcipfrom='fe80::1' srcipto='fe80::9' dstipfrom='2001:db8::1' dstipto='2001:db8::9'"
PORTS = "srcportstart='1000' srcportend='2000' dstportstart='80' dstportend='90'"
EXTRA = "dscp='10' comment='a comment' state='NEW,ESTABLISHED' ipset='myset' ipsetflags='src,dst' connlimit-above='5'"
L34 = "srcmacaddr='00:11:22:33:44:55'"
STP = ("type='0x80' flags='0x1' root-priority='1' root-priority-hi='2' root-address='00:11:22:33:44:55' "
       "root-address-mask='ff:ff:ff:ff:ff:ff' root-cost='10' root-cost-hi='20' sender-priority='3' "
       "sender-priority-hi='4' sender-address='00:11:22:33:44:66' sender-address-mask='ff:ff:ff:ff:ff:00' "
       "port='5' port-hi='6' msg-age='7' msg-age-hi='8' max-age='9' max-age-hi='10' hello-time='11' "
       "hello-time-hi='12' forward-delay='13' forward-delay-hi='14' comment='stp'")
ARP = ("hwtype='1' protocoltype='0x800' opcode='Request' arpsrcmacaddr='00:11:22:33:44:55' "
       "arpdstmacaddr='00:11:22:33:44:66' arpsrcipaddr='10.0.0.1' arpsrcipmask='32' "
       "arpdstipaddr='10.0.0.2' arpdstipmask='255.255.255.0' gratuitous='true' comment='arp'")

protos = [
    ("mac", MAC + " protocolid='ipv4' comment='mac'"),
    ("mac", "protocolid='0x0806'"),
    ("mac", "protocolid='arp' srcmacaddr='$MAC'"),
    ("vlan", MAC + " vlanid='42' encap-protocol='ipv6' comment='v'"),
    ("vlan", "vlanid='0x10' encap-protocol='0x86dd'"),
    # stp's attributes over three documents: xmllint's RelaxNG check of all of them at
    # once takes minutes.
    ("stp", "srcmacaddr='00:11:22:33:44:55' srcmacmask='ff:ff:ff:ff:ff:ff' " + " ".join(STP.split(" ")[:6])),
    ("stp", " ".join(STP.split(" ")[6:14])),
    ("stp", " ".join(STP.split(" ")[14:])),
    ("arp", MAC + " " + ARP),
    ("rarp", MAC + " " + ARP.replace("Request", "Reply_Reverse")),
    ("arp", "opcode='1' hwtype='0x1'"),
    ("ip", MAC + " " + IP4 + " protocol='udp' " + PORTS + " dscp='46' comment='ip'"),
    ("ip", "protocol='17' srcipaddr='$IP'"),
    ("ipv6", MAC + " " + IP6 + " protocol='icmpv6' type='1' typeend='2' code='0' codeend='3' comment='v6'"),
    ("ipv6", "protocol='tcp' " + PORTS),
    ("tcp", L34 + " " + IP4 + " " + RANGE4 + " " + PORTS + " " + EXTRA + " flags='SYN/SYN,ACK'"),
    ("udp", L34 + " " + IP4 + " " + RANGE4 + " " + PORTS + " " + EXTRA),
    ("sctp", L34 + " " + IP4 + " " + RANGE4 + " " + PORTS + " " + EXTRA),
    ("udplite", L34 + " " + IP4 + " " + RANGE4 + " " + EXTRA),
    ("esp", L34 + " " + IP4 + " " + RANGE4 + " " + EXTRA),
    ("ah", L34 + " " + IP4 + " " + RANGE4 + " " + EXTRA),
    ("all", L34 + " " + IP4 + " " + RANGE4 + " " + EXTRA),
    ("icmp", L34 + " " + IP4 + " " + RANGE4 + " type='8' code='0' " + EXTRA),
    ("igmp", L34 + " " + IP4 + " " + RANGE4 + " " + EXTRA),
    ("tcp-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + PORTS + " " + EXTRA + " flags='ALL/NONE'"),
    ("udp-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + PORTS + " " + EXTRA),
    ("sctp-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + PORTS + " " + EXTRA),
    ("udplite-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + EXTRA),
    ("esp-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + EXTRA),
    ("ah-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + EXTRA),
    ("all-ipv6", L34 + " " + IP6 + " " + RANGE6 + " " + EXTRA),
    ("icmpv6", L34 + " " + IP6 + " " + RANGE6 + " type='128' code='0' " + EXTRA),
    ("tcp", "dstportstart='22' state='NONE'"),
    ("tcp", "srcipaddr='10.0.0.1' match='no' srcipmask='16'"),
    ("tcp-ipv6", L34 + " " + IP6 + " " + RANGE6V + " " + PORTS + " " + EXTRA + " flags='SYN,ACK/ALL'"),
    ("udp-ipv6", IP6 + " " + RANGE6V + " " + PORTS),
    ("sctp-ipv6", IP6 + " " + RANGE6V + " " + PORTS + " state='RELATED'"),
    ("udplite-ipv6", IP6 + " " + RANGE6V + " dscp='1'"),
    ("esp-ipv6", IP6 + " " + RANGE6V + " connlimit-above='9'"),
    ("ah-ipv6", IP6 + " " + RANGE6V + " comment='ah6'"),
    ("all-ipv6", IP6 + " " + RANGE6V + " ipset='s6' ipsetflags='dst'"),
    ("icmpv6", IP6 + " " + RANGE6V + " type='128' code='0'"),
    ("stp", "type='0x0' root-cost='4294967295' port='65536'"),
    ("arp", "opcode='Bogus'"),
    ("arp", "gratuitous='yes'"),
    ("vlan", "vlanid='5000'"),
    ("ip", "srcipmask='33' srcipaddr='10.0.0.1'"),
    ("ipv6", "srcipaddr='not::an::addr'"),
    ("ip", "protocol='icmpv6'"),
    ("mac", "protocolid='0x0500'"),
    ("mac", "protocolid='0x1234' comment='x &amp; &lt;y&gt; &quot;q&quot;'"),
    ("tcp", "flags='SYN'"),
    # Valid under nwfilter.rng (libvirt writes the fuller forms above outside it).
    ("arp", MAC + " " + ARP.replace(" arpsrcipmask='32'", "").replace(" arpdstipmask='255.255.255.0'", "")),
    ("rarp", "opcode='3' arpsrcipaddr='10.0.0.1' gratuitous='false'"),
    ("tcp-ipv6", L34 + " " + IP6 + " " + RANGE6V + " " + PORTS + " dscp='2' comment='t6'"),
    ("sctp-ipv6", IP6 + " dstportstart='5'"),
    ("esp-ipv6", IP6 + " dscp='3'"),
    ("all-ipv6", IP6 + " comment='all6'"),
    ("udp", "dstportstart='0x35'"),
    ("all", ""),
    ("icmp", "type='$T' code='0'"),
    ("ip", "srcipaddr='10.0.0.0' srcipmask='8' dscp='0x3f'"),
]

docs = []
for i, (p, a) in enumerate(protos):
    docs.append("<filter name='rvirt-corpus-{n}'>\n  <uuid>{u}</uuid>\n"
                "  <rule action='accept' direction='inout'>\n    <%s %s/>\n  </rule>\n</filter>\n"
                % (p, a))

def simple(head, body):
    docs.append("<filter name='rvirt-corpus-{n}'%s>\n  <uuid>{u}</uuid>\n%s</filter>\n" % (head, body))

R = "  <rule action='%s' direction='%s'%s>\n    <tcp dstportstart='22'/>\n  </rule>\n"
simple("", R % ("drop", "in", ""))
simple("", R % ("reject", "out", " priority='-100'"))
simple("", R % ("return", "inout", " priority='0' statematch='false'"))
simple("", R % ("continue", "in", " statematch='0'"))
simple("", R % ("accept", "in", " statematch='true'"))
simple(" chain='ipv4'", "  <rule action='accept' direction='in'>\n    <ip protocol='tcp'/>\n  </rule>\n")
simple(" chain='ipv6' priority='-600'", "  <rule action='accept' direction='in'>\n    <ipv6/>\n  </rule>\n")
simple(" chain='arp-foo'", "  <rule action='accept' direction='in'>\n    <arp/>\n  </rule>\n")
simple(" chain='mac' priority='100'", "  <rule action='drop' direction='out'>\n    <mac protocolid='ipv4'/>\n  </rule>\n")
simple(" chain='vlan'", "")
simple(" chain='stp'", "")
simple(" chain='rarp'", "")
simple(" chain='root' priority='-1000'", "")
simple("", "  <filterref filter='clean-traffic'>\n    <parameter name='IP' value='10.0.0.1'/>\n"
       "    <parameter name='IP' value='10.0.0.2'/>\n    <parameter name='MAC' value='00:11:22:33:44:55'/>\n  </filterref>\n"
       "  <filterref filter='no-spoofing'/>\n")
simple("", R % ("accept", "in", " priority='200'") + "  <filterref filter='x'/>\n" + R % ("drop", "out", " priority='-5'"))
simple("", "  <rule action='accept' direction='in'>\n    <tcp dstportstart='1'/>\n    <udp dstportstart='2'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'/>\n")
simple("", "  <bogus/>\n" + R % ("accept", "in", " bogus='1'"))
# bad values
simple("", R % ("bogus", "in", ""))
simple("", R % ("accept", "sideways", ""))
simple("", R % ("accept", "in", " priority='5000'"))
simple("", R % ("accept", "in", " priority='abc'"))
simple("", R % ("accept", "in", " statematch='maybe'"))
simple(" chain='bogus'", "")
simple(" priority='2000'", "")
simple("", "  <rule direction='in'>\n    <tcp/>\n  </rule>\n")
simple("", "  <rule action='accept'>\n    <tcp/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <tcp dstportstart='70000'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <mac srcmacaddr='zz:zz'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <ip srcipaddr='300.1.1.1'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <ip dscp='64'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <mac protocolid='nonsense'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <tcp state='BOGUS'/>\n  </rule>\n")
simple("", "  <filterref/>\n")
# More edges of the filter and rule attributes.
simple(" priority='abc'", "")
simple(" chain='mac' priority='0'", "")
simple(" chain='ipv4' priority='-1001'", "")
simple("", R % ("accept", "in", " priority='0x10'"))
simple("", R % ("accept", "in", " priority='-1000'"))
simple("", "  <rule action='accept' direction='in'>\n    <bogus/>\n    <ip srcipaddr='10.0.0.1'/>\n  </rule>\n")
simple("", "  <filterref filter='a'>\n    <parameter name='X'/>\n    <parameter value='1'/>\n  </filterref>\n")
simple("", "  <rule action='accept' direction='in'>\n    <tcp match='yes' dstportstart='1'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <udp match='no'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <mac srcmacaddr='$bad-var'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <tcp dscp='1' srcipaddr='1.1.1.1' match='no' comment='c' srcportstart='5'/>\n  </rule>\n")
simple("", "  <rule action='accept' direction='in'>\n    <ip match='no' %s protocol='udp' %s/>\n  </rule>\n" % (IP4, PORTS))
# No uuid: both generate one (the test compares them as "a uuid").
docs.append("<filter name='rvirt-corpus-{n}' chain='mac-x'>\n  <rule action='accept' direction='out'>\n    <mac/>\n  </rule>\n</filter>\n")
docs.append("<filter name='rvirt-corpus-{n}'/>\n")
docs.append("<filter>\n  <uuid>f17e0000-0000-4000-8000-000000000999</uuid>\n</filter>\n")
docs.append("<filter name='rvirt-corpus-{n}'>\n  <uuid>not-a-uuid</uuid>\n</filter>\n")
docs.append("<filterx name='rvirt-corpus-{n}'/>\n")

for i, d in enumerate(docs):
    with open("%03d.xml" % i, "w") as f:
        f.write(d.replace("{n}", str(i)).replace("{u}", "f17e0000-0000-4000-8000-%012d" % i))
print(len(docs))
