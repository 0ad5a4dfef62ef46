#!/usr/bin/env bash
# Checks every XML document rvirt returned during the test suite (written by the audit of
# core/src/audit.rs into the directory given as $1) with libvirt's own validator,
# virt-xml-validate, against the schema its file name names (SCHEMA-HASH.xml).
# Documents listed in tests/data/xml-audit-libvirt-invalid.txt are exactly what libvirt
# itself returns (and its schema refuses); they are reported, not failed.
# Prints the failures and exits non-zero when there is any, or when nothing was audited
# (unless --allow-empty: a partial run may return no XML).
set -euo pipefail
allow_empty=false
if [ "${1:-}" = --allow-empty ]; then allow_empty=true; shift; fi
dir=${1:?usage: validate-xml-audit.sh [--allow-empty] AUDIT_DIR}
shopt -s nullglob
files=("$dir"/*.xml)
if [ ${#files[@]} -eq 0 ]; then
    $allow_empty && exit 0
    echo "validate-xml-audit: no documents in $dir (was RVIRT_XML_AUDIT_DIR set for the tests?)" >&2
    exit 1
fi
known="$(dirname "$0")/../tests/data/xml-audit-libvirt-invalid.txt"
bad=$(printf '%s\n' "${files[@]}" | xargs -P 2 -I{} sh -c \
    'f={}; s=$(basename "$f"); s=${s%%-*}; virt-xml-validate "$f" "$s" >/dev/null 2>&1 || echo "$f ($s)"')
total=${#files[@]}
shared=0
newer=0
# A network's <title> and <description> came with libvirt 9.7 (the network metadata API);
# 9.0's schema does not know them. Such a document must validate once they are removed.
without_9_7() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
root = tree.getroot()
found = [c for c in root if c.tag in ("title", "description")]
for c in found:
    root.remove(c)
tree.write(sys.argv[2])
sys.exit(0 if found else 1)
EOF
}
# libvirt 9.0 accepts a network port with a multicast <mac> and writes it back, while
# its schema (uniMacAddr) refuses one: such a port must validate with the MAC made unicast.
with_unicast_mac() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, xml.etree.ElementTree as ET
tree = ET.parse(sys.argv[1])
mac = tree.getroot().find("mac")
addr = mac.get("address", "") if mac is not None else ""
if not addr or not int(addr.split(":")[0], 16) & 1:
    sys.exit(1)
mac.set("address", "%02x" % (int(addr[:2], 16) & 0xFE) + addr[2:])
tree.write(sys.argv[2])
EOF
}
multicast=0
if [ -n "$bad" ]; then
    rest=""
    stripped=$(mktemp)
    while IFS= read -r line; do
        file=${line%% *}
        name=$(basename "$file")
        if grep -q "^$name " "$known"; then
            shared=$((shared + 1))
        elif [[ $name == network-* ]] && without_9_7 "$file" "$stripped" &&
            virt-xml-validate "$stripped" network >/dev/null 2>&1; then
            newer=$((newer + 1))
        elif [[ $name == networkport-* ]] && with_unicast_mac "$file" "$stripped" &&
            virt-xml-validate "$stripped" networkport >/dev/null 2>&1; then
            multicast=$((multicast + 1))
        else
            rest+="$line"$'\n'
        fi
    done <<< "$bad"
    rm -f "$stripped"
    bad=${rest%$'\n'}
fi
[ "$shared" -gt 0 ] && echo "validate-xml-audit: $shared documents fail as libvirt's own do (see $known)"
[ "$newer" -gt 0 ] && echo "validate-xml-audit: $newer network documents carry libvirt 9.7's <title>/<description>; they pass without them"
[ "$multicast" -gt 0 ] && echo "validate-xml-audit: $multicast network ports have a multicast <mac> as libvirt writes it back; they pass with it unicast"
if [ -n "$bad" ]; then
    n=$(printf '%s\n' "$bad" | wc -l)
    echo "validate-xml-audit: $n of $total documents rvirt returned fail virt-xml-validate:" >&2
    printf '%s\n' "$bad" | head -50 >&2
    exit 1
fi
echo "validate-xml-audit: $((total - shared - newer - multicast)) of $total distinct documents rvirt returned pass virt-xml-validate; the rest fail as libvirt's own or are 9.7 networks"
