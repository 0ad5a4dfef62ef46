#!/usr/bin/env bash
# Checks every XML document rvirt returned during the test suite (written by the audit of
# core/src/audit.rs into the directory given as $1) with libvirt's own validator,
# virt-xml-validate, against the schema its file name names (SCHEMA-HASH.xml).
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
bad=$(printf '%s\n' "${files[@]}" | xargs -P 2 -I{} sh -c \
    'f={}; s=$(basename "$f"); s=${s%%-*}; virt-xml-validate "$f" "$s" >/dev/null 2>&1 || echo "$f ($s)"')
total=${#files[@]}
if [ -n "$bad" ]; then
    n=$(printf '%s\n' "$bad" | wc -l)
    echo "validate-xml-audit: $n of $total documents rvirt returned fail virt-xml-validate:" >&2
    printf '%s\n' "$bad" | head -50 >&2
    exit 1
fi
echo "validate-xml-audit: all $total distinct documents rvirt returned pass virt-xml-validate"
