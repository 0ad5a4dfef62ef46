#!/bin/sh
# Installs rvirt's files into a staging tree in the packaged layout; the Debian rules and
# the RPM spec both call it, then split the tree into packages (debian/*.install,
# packaging/rpm/rvirt.spec %files).
#
#   packaging/install.sh BINDIR DESTDIR [UNITDIR]
#
# BINDIR holds the built rvirtd, rvirsh, rvirt-leaseshelper and librvirt_driver_*.so
# (target/release or target/debug); UNITDIR is where systemd units go (default
# /lib/systemd/system, Debian's; RPM passes /usr/lib/systemd/system).
set -eu
bindir=$1
dest=$2
unitdir=${3:-/lib/systemd/system}
src=$(cd "$(dirname "$0")/.." && pwd)

inst() { # MODE SRC DEST
    install -D -m "$1" "$2" "$dest$3"
}

inst 0755 "$bindir/rvirtd" /usr/sbin/rvirtd
inst 0755 "$bindir/rvirsh" /usr/bin/rvirsh
inst 0755 "$bindir/rvirt-leaseshelper" /usr/lib/rvirt/rvirt-leaseshelper
mkdir -p "$dest/usr/lib/rvirt/modules"
for m in "$bindir"/librvirt_driver_*.so; do
    inst 0644 "$m" "/usr/lib/rvirt/modules/$(basename "$m")"
done
inst 0644 "$src/config/rvirtd.toml" /etc/rvirt/rvirtd.toml
for u in "$src"/packaging/systemd/*.service "$src"/packaging/systemd/*.socket; do
    inst 0644 "$u" "$unitdir/$(basename "$u")"
done
inst 0644 "$src/packaging/networks/default.xml" /usr/share/rvirt/networks/default.xml
mkdir -p "$dest/usr/share/man/man8" "$dest/usr/share/man/man1"
"$src/packaging/gen-man.sh" rvirtd 8 "$bindir/rvirtd" | gzip -9n >"$dest/usr/share/man/man8/rvirtd.8.gz"
"$src/packaging/gen-man.sh" rvirsh 1 "$bindir/rvirsh" | gzip -9n >"$dest/usr/share/man/man1/rvirsh.1.gz"
mkdir -p "$dest/usr/share/bash-completion/completions"
"$src/packaging/gen-completion.sh" "$bindir/rvirsh" \
    >"$dest/usr/share/bash-completion/completions/rvirsh"
