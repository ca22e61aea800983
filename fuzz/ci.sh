#!/usr/bin/env bash
# The CI hook for fuzzing; .ci/run calls it as `bash fuzz/ci.sh`.
# Runs each fuzz target for FUZZ_SECONDS (default 20) through fuzz/run.sh, but only where the
# tools are: cargo-fuzz installed, and a toolchain that takes -Zsanitizer=address (nightly, or
# stable with RUSTC_BOOTSTRAP=1 and its sanitizer runtime). Without them it says so and exits 0;
# it exits non-zero only when the fuzz targets do not build or a target crashed or hung.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is not installed: fuzzing skipped"
    exit 0
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
if ! echo 'fn main() {}' | rustc -Zsanitizer=address -o "$probe/probe" - >/dev/null 2>&1; then
    echo "fuzz: this toolchain cannot build with -Zsanitizer=address: fuzzing skipped"
    exit 0
fi
exec fuzz/run.sh "$secs"
