#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one at a time, and prints executions and findings per target.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Seeds come from ../shared/data (fuzz/seeds writes them into fuzz/seed-corpus/ at run time; nothing is committed).
# Builds on stable Rust without cargo-fuzz: skelzero and the targets get libFuzzer's coverage flags through
# rustc-wrapper.sh, skelzero with debug assertions and overflow checks. Set CARGO_TARGET_DIR to the main build's
# folder to reuse its dependencies. No sanitizer runtime: memory errors in unsafe code are not detected, but every
# panic, abort, hang (-timeout) and out-of-memory (-rss_limit_mb) is, and each target aborts on any single
# allocation above 1 MiB + 64 x the input size (fuzz/src/lib.rs). A finding lands in fuzz/artifacts/TARGET/.
set -euo pipefail
secs="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
data="${SKELZERO_DATA:-$root/../shared/data}"
target_dir="${CARGO_TARGET_DIR:-$here/target}"
all=(ntu_skeleton pku_skeleton pku_labels msr_action3d utkinect_joints utkinect_labels npy neuron_zip class_texts
    configs checkpoint zsl_safetensors dataset_folder pku_splits ntu_labels text_config predictions description_set)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

export CARGO_TARGET_DIR="$target_dir"
if [ -z "${SKIP_BUILD:-}" ]; then # SKIP_BUILD=1: run the targets already built
    nice -n 10 cargo build --release --quiet --manifest-path "$here/seeds/Cargo.toml"
    RUSTC_WRAPPER="$here/rustc-wrapper.sh" nice -n 10 cargo build --release --quiet \
        --manifest-path "$here/Cargo.toml" --bins
fi
rm -rf "$here/seed-corpus"
"$target_dir/release/skelzero-fuzz-seeds" "$data" "$here/seed-corpus"

mkdir -p "$here/logs"
printf '%-16s %8s %12s %10s %9s  %s\n' target seconds executions exec/s findings artifacts
for t in "${targets[@]}"; do
    corpus="$here/corpus/$t"
    artifacts="$here/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    log="$here/logs/$t.log"
    # Inputs are cut to max_len: larger where the smallest valid file is larger (a Neuron storage holds whole
    # 30 KB classes; the NTU joint arrays are 31 KB).
    case "$t" in
    neuron_zip | npy) max_len=65536 ;;
    dataset_folder) max_len=32768 ;;
    *) max_len=16384 ;;
    esac
    start=$(date +%s)
    touch "$here/logs/$t.start"
    set +e
    nice -n 10 "$target_dir/release/$t" "$corpus" "$here/seed-corpus/$t" \
        -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
    rc=$?
    set -e
    # The scratch folders of the targets that read from disk (fuzz/src/lib.rs scratch_dir).
    rm -rf /dev/shm/skelzero-fuzz-"$t"-* "${TMPDIR:-/tmp}"/skelzero-fuzz-"$t"-*
    took=$(($(date +%s) - start))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    found=$(find "$artifacts" -type f -newer "$here/logs/$t.start" | wc -l)
    [ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found="rc=$rc"
    printf '%-16s %8s %12s %10s %9s  %s\n' "$t" "$took" "${execs:-?}" "${rate:-?}" "$found" \
        "$(find "$artifacts" -type f -newer "$here/logs/$t.start" -printf '%f ' | head -c 120)"
done
