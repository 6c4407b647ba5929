#!/usr/bin/env bash
# Parse speed of skelzero's PKU-MMD reader against pandas' C read_csv on the same files, in the same run.
# PANDAS_PYTHON: a python with pandas (e.g. /work/venv-pandas/bin/python); without it only the Rust half runs.
# SKELZERO_PKU_DIR: the skeleton folder (default ../shared/data/pku-mmd-v1/skeleton).
set -euo pipefail
cd "$(dirname "$0")/.."
export SKELZERO_PKU_DIR="${SKELZERO_PKU_DIR:-$PWD/../shared/data/pku-mmd-v1/skeleton}"

rust_out="$(cargo bench --quiet --bench pku_parse)"
echo "$rust_out"
rust_par="$(sed -n 's/.*rust_rayon_mb_s=\([0-9.]*\).*/\1/p' <<<"$rust_out")"
rust_seq="$(sed -n 's/.*rust_1thread_mb_s=\([0-9.]*\).*/\1/p' <<<"$rust_out")"

if [ -z "${PANDAS_PYTHON:-}" ] || ! "$PANDAS_PYTHON" -c 'import pandas' 2>/dev/null; then
    echo "PANDAS_PYTHON unset or without pandas: skipping the pandas half"
    exit 0
fi

pandas_out="$("$PANDAS_PYTHON" - "$SKELZERO_PKU_DIR" <<'PY'
import os, sys, time
import pandas as pd
d = sys.argv[1]
files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".txt"))
size = sum(os.path.getsize(f) for f in files)
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    frames = 0
    for f in files:
        df = pd.read_csv(f, sep=" ", header=None, engine="c", dtype="float32")
        frames += len(df)
    best = min(best, time.perf_counter() - t)
print(f"pandas {pd.__version__}: frames={frames} columns={df.shape[1]}")
print(f"pandas_s={best:.4f} pandas_mb_s={size / 1e6 / best:.1f}")
PY
)"
echo "$pandas_out"
pandas="$(sed -n 's/.*pandas_mb_s=\([0-9.]*\).*/\1/p' <<<"$pandas_out")"
awk -v p="$rust_par" -v s="$rust_seq" -v q="$pandas" 'BEGIN {
    printf "ratio rust(rayon)/pandas = %.2f, rust(1 thread)/pandas = %.2f\n", p / q, s / q }'
