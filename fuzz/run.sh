#!/usr/bin/env bash
# Usage: fuzz/run.sh SECONDS [TARGET...]
# Runs each fuzz target (all five by default) for SECONDS, one after another, and exits non-zero
# if any of them crashed, hung (over 10 s on one input) or ran out of memory; the input that did
# it is in fuzz/artifacts/<target>/. Needs cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its nightly-only flags (-Zsanitizer=address and others).
set -uo pipefail
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
fuzz=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz")
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(html_extract article suggest feed date config)
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}

failed=()
for t in "${targets[@]}"; do
    # Seeds: the saved regressions, and the fixtures the target's input looks like. libFuzzer
    # adds what it finds to the first directory (fuzz/corpus/, not committed).
    seeds=("$fuzz/regressions/$t")
    case $t in
        html_extract) seeds+=("$root/fixtures/ipa" "$root/fixtures/hostile" "$root/fixtures/encodings"); max_len=65536 ;;
        article) seeds+=("$root/fixtures/articles" "$root/fixtures/hostile"); max_len=65536 ;;
        suggest) seeds+=("$root/fixtures/suggest" "$root/fixtures/ipa" "$root/fixtures/hostile"); max_len=65536 ;;
        feed) seeds+=("$root/fixtures/feeds" "$root/fixtures/jvn"); max_len=16384 ;;
        date) max_len=256 ;;
        config) seeds+=("$root/config"); max_len=16384 ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
    mkdir -p "$fuzz/corpus/$t"
    echo "== $t for ${secs}s"
    if ! (cd "$root" && cargo fuzz run "$t" "$fuzz/corpus/$t" "${seeds[@]}" -- \
            -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1); then
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]} (inputs in $fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ${targets[*]}: no crash in ${secs}s each"
