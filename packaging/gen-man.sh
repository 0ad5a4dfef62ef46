#!/bin/sh
# Writes a man page for PROGRAM (section SECTION) made from `BINARY --help` to stdout.
#   packaging/gen-man.sh PROGRAM SECTION BINARY
set -eu
prog=$1
section=$2
bin=$3
help=$("$bin" --help)
version=$("$bin" --version | head -n 1)
# The second paragraph of --help is the description; its first sentence names the program.
summary=$(printf '%s\n' "$help" | awk 'NR > 2 && NF { print; exit }' | sed 's/[.:].*//')
roff() { sed -e 's/\\/\\e/g' -e 's/^\([.'"'"']\)/\\\&\1/' -e 's/-/\\-/g'; }
cat <<MAN
.TH $(printf '%s' "$prog" | tr a-z A-Z) $section "" "$version" "rvirt"
.SH NAME
$prog \\- $(printf '%s' "$summary" | roff)
.SH SYNOPSIS
.nf
$(printf '%s\n' "$help" | head -n 1 | sed 's/^Usage: //' | roff)
.fi
.SH DESCRIPTION
The text below is what
.B $prog \\-\\-help
prints.
.PP
.nf
$(printf '%s\n' "$help" | tail -n +3 | roff)
.fi
.SH SEE ALSO
The rvirt documentation in /usr/share/doc/rvirt\\-daemon and at the project's repository.
MAN
