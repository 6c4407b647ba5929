#!/bin/sh
# RUSTC_WRAPPER for run.sh: cargo calls it as `rustc-wrapper.sh RUSTC ARGS...`. It adds libFuzzer's coverage
# instrumentation (the flags cargo-fuzz uses with `-s none`) to skelzero and the fuzz targets only, so every other
# dependency is the one the main release build already compiled.
rustc="$1"
shift
case " $* " in
*" --crate-name skelzero "* | *" --crate-name skelzero_fuzz "* | *"/fuzz_targets/"*)
    exec "$rustc" "$@" \
        -Cpasses=sancov-module \
        -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares \
        --cfg fuzzing
    ;;
esac
exec "$rustc" "$@"
