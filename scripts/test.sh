#!/usr/bin/env bash
# Runs every test: builds all workspace targets (the driver modules are cdylibs the
# integration tests load), then the whole suite. Tests that need a real peer (virsh,
# libvirt-python, libvirtd) fail when CI=true and the peer is missing; locally they skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --workspace --all-targets
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast "$@"
else
    cargo test --workspace --no-fail-fast "$@"
fi
