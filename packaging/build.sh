#!/bin/sh
# Builds every rvirt package into target/packages/: the Debian packages (debian/, through
# debian/rules, as `dpkg-buildpackage -b -us -uc` does) and the RPMs
# (packaging/rpm/rvirt.spec, with rpmbuild), from one cargo build.
#
#   packaging/build.sh [--profile release|debug] [--prebuilt DIR] [--out DIR]
#                      [--deb-only|--rpm-only] [--no-lintian]
#
# --profile debug packages the debug build (stripped) instead of a release build;
# --prebuilt DIR runs no cargo and packages the binaries already in DIR (the packaging
# test packages the debug build its suite was built with); --out DIR puts the packages
# there instead of target/packages. lintian and rpmlint (when installed) must report no
# errors. Needs dpkg-dev, debhelper, lintian and (for the RPMs) rpm; cargo and rustc
# from PATH.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
profile=release
prebuilt=
out=
deb=1
rpm=1
lint=1
usage() {
    echo "usage: $0 [--profile release|debug] [--prebuilt DIR] [--out DIR] [--deb-only|--rpm-only] [--no-lintian]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --profile) [ $# -ge 2 ] || usage; profile=$2; shift ;;
    --prebuilt) [ $# -ge 2 ] || usage; prebuilt=$(cd "$2" && pwd); shift ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --deb-only) rpm=0 ;;
    --rpm-only) deb=0 ;;
    --no-lintian) lint=0 ;;
    *) usage ;;
    esac
    shift
done
case $profile in release | debug) ;; *) echo "$0: profile must be release or debug" >&2; exit 2 ;; esac
target=${CARGO_TARGET_DIR:-$root/target}
out=${out:-$target/packages}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"
export RVIRT_PROFILE=$profile CARGO_TARGET_DIR=$target
bindir=$target/$profile
if [ -n "$prebuilt" ]; then
    export RVIRT_PREBUILT=1 RVIRT_BINDIR=$prebuilt
    bindir=$prebuilt
else
    # One cargo build for both package formats.
    export RVIRT_CARGO_ARGS="${RVIRT_CARGO_ARGS:-$( [ "$profile" = release ] && echo --release) --locked \
-p rvirtd -p rvirsh -p rvirt-driver-qemu -p rvirt-driver-storage -p rvirt-driver-network \
-p rvirt-driver-nodedev -p rvirt-driver-xen -p rvirt-driver-test}"
    # shellcheck disable=SC2086
    cargo build $RVIRT_CARGO_ARGS
    export RVIRT_PREBUILT=1 RVIRT_BINDIR=$bindir
fi

# debian/ is built in place: one build at a time per source tree.
exec 9>"$target/.packages.lock"
flock 9

if [ $deb = 1 ]; then
    rm -f "$out"/*.deb
    dpkg-checkbuilddeps
    # What dpkg-buildpackage -b runs, without its .changes/.buildinfo in the parent
    # directory; the .deb files go to the output directory.
    export RVIRT_DEB_DIR=$out
    debian/rules clean
    debian/rules build
    debian/rules binary
    debian/rules clean
    if [ $lint = 1 ]; then
        # Errors fail the build; warnings are shown.
        lintian --fail-on error "$out"/*.deb
    fi
fi

if [ $rpm = 1 ]; then
    rm -f "$out"/*.rpm
    top=$target/rpmbuild
    rm -rf "$top"
    mkdir -p "$top"
    # Debian's rpm has no database of Debian's packages to check build dependencies in.
    rpmbuild -bb --nodeps \
        --define "_topdir $top" \
        --define "_rpmdir $out" \
        --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
        --define "rvirt_src $root" \
        --define "rvirt_bindir $bindir" \
        packaging/rpm/rvirt.spec
    if [ $lint = 1 ] && command -v rpmlint >/dev/null; then
        rpmlint -r packaging/rpm/rpmlintrc "$out"/*.rpm
    fi
fi
ls -1 "$out"
