#!/usr/bin/env bash
# Builds every cargo-fuzz target of fuzz/ and runs each for a bounded time, failing if any
# target crashes (a panic, a sanitizer report, a timeout or running out of memory).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 30); TARGET names (default: all of `cargo fuzz list`).
# Environment: FUZZ_JOBS targets at a time (default: the number of CPUs),
# FUZZ_SANITIZER address (default) or none.
#
# cargo-fuzz is installed into target/tools of this checkout when it is not there (nothing
# outside the clone is changed). It needs nightly compiler flags, which RUSTC_BOOTSTRAP=1
# allows on a stable toolchain. Each target starts from its committed seeds in
# fuzz/corpus/TARGET; inputs it finds go to target/fuzz/corpus/TARGET, crash inputs to
# target/fuzz/artifacts/TARGET, and each run's output to target/fuzz/logs/TARGET.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

secs=${1:-30}
[ $# -gt 0 ] && shift
case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac

export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
tools="$root/target/tools"
if ! "$tools/bin/cargo-fuzz" --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz into $tools"
    # A debug build of the tool: it only drives cargo, and builds in seconds, not minutes.
    cargo install cargo-fuzz --locked --debug --root "$tools"
fi
export PATH="$tools/bin:$PATH"

out="$root/target/fuzz"
sanitizer=${FUZZ_SANITIZER:-address}
# Release code with debug assertions, so integer overflow panics too.
build_flags=(-O --debug-assertions --sanitizer "$sanitizer" --target-dir "$out/build")

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building ${#targets[@]} targets (sanitizer: $sanitizer)"
start=$SECONDS
cargo fuzz build "${build_flags[@]}"
echo "fuzz: built in $((SECONDS - start)) s"

run_one() {
    local t=$1
    local log="$out/logs/$t.log"
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs" "fuzz/corpus/$t"
    if cargo fuzz run "${build_flags[@]}" "$t" "$out/corpus/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$t/" >"$log" 2>&1; then
        local execs
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "fuzz: $t: ok, ${execs:-?} runs in ${secs} s, $(find "$out/corpus/$t" -type f | wc -l) new corpus entries"
    else
        echo "fuzz: $t: FAILED (log: $log, crash inputs: $out/artifacts/$t/)"
        grep -a -A1 -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY:" "$log" | head -8 | sed 's/^/    /'
        return 1
    fi
}

jobs=${FUZZ_JOBS:-$(nproc)}
failed=0
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done

if [ "$failed" -ne 0 ]; then
    echo "fuzz: some targets crashed; reproduce with" \
        "RUSTC_BOOTSTRAP=1 target/tools/bin/cargo-fuzz run -O -a --target-dir target/fuzz/build TARGET target/fuzz/artifacts/TARGET/crash-..." >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${secs} s each without a crash ($((SECONDS - start)) s in all)"
