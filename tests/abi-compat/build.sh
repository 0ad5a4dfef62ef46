#!/usr/bin/env bash
# Builds the two out-of-workspace driver modules used by tests/tests/abi_compat.rs:
#   examples/out-of-tree-driver  -> librvirt_driver_hello.so  (current plugin-api, SDK)
#   tests/abi-compat/old-module  -> librvirt_driver_oldmod.so (frozen plugin-api 1.0.0)
# and prints their paths, one per line. Incremental: re-running only rebuilds what changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET_DIR="$ROOT/target/ext"
CARGO="${CARGO:-cargo}"

build() {
    "$CARGO" build --quiet --release --manifest-path "$1/Cargo.toml" --target-dir "$TARGET_DIR" \
        "${@:2}" >&2
}

# The example depends on rvirt-plugin-api from crates.io, as a third party's module does;
# here it is built against this checkout's SDK (docs/driver-guide.md).
build "$ROOT/examples/out-of-tree-driver" \
    --config "patch.crates-io.rvirt-plugin-api.path=\"$ROOT/plugin-api\""
build "$ROOT/tests/abi-compat/old-module"

for name in hello oldmod; do
    so="$TARGET_DIR/release/librvirt_driver_$name.so"
    [[ -f "$so" ]] || { echo "build.sh: $so was not produced" >&2; exit 1; }
    echo "$so"
done
