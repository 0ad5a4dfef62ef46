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
if [ -n "$bad" ]; then
    rest=""
    while IFS= read -r line; do
        name=$(basename "${line%% *}")
        if grep -q "^$name " "$known"; then
            shared=$((shared + 1))
        else
            rest+="$line"$'\n'
        fi
    done <<< "$bad"
    bad=${rest%$'\n'}
fi
[ "$shared" -gt 0 ] && echo "validate-xml-audit: $shared documents fail as libvirt's own do (see $known)"
if [ -n "$bad" ]; then
    n=$(printf '%s\n' "$bad" | wc -l)
    echo "validate-xml-audit: $n of $total documents rvirt returned fail virt-xml-validate:" >&2
    printf '%s\n' "$bad" | head -50 >&2
    exit 1
fi
echo "validate-xml-audit: $((total - shared)) of $total distinct documents rvirt returned pass virt-xml-validate; the rest fail as libvirt's own"
