#!/usr/bin/env bash
# Regenerates the built-in demo's files (assets/demo/encoder, assets/demo/classes.safetensors, assets/demo/runs/*)
# with skelzero's own commands: an ST-GCN encoder pretrained on the seen classes of the synthetic `synth-demo` split
# (unseen-class samples never reach it), its features of the split, MiniLM embeddings of the class texts composed
# for the project (assets/synthetic/*.tsv, made by src/dataset/synthetic/texts.rs), and STAR, InfoCPL, SMIE and
# DeViSE runs trained on them, each with its epoch (and DeViSE its learning rate) chosen on pseudo-unseen seen
# classes and its GZSL gamma on whole held-out training subjects (--val-subjects). Nothing is chosen on the unseen
# test classes. The binary compiles these files in (src/pipeline/demo.rs): rebuild after running this.
#
# Usage: assets/demo/regenerate.sh [WORK_DIR]   (run from the repository root; WORK_DIR defaults to runs/demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-runs/demo}"
mkdir -p "$work"
run() { cargo run --release --locked --quiet -- "$@"; }

# 1. The skeleton encoder, on the 20 seen classes' odd-subject samples (subject 3 held out for its validation), one
#    body per sample (the interactions are told apart by the actor; half the cost of two).
run pretrain --dataset synthetic --split synth-demo --encoder stgcn --epochs 40 --batch-size 16 --lr 5e-3 --bodies 1 --seed 0 \
    --out "$work/encoder"
# 2. Its frozen features of the split (seen-class training samples, GZSL test samples, SMIE's masked view).
run extract --run "$work/encoder" --split synth-demo --out "$work/synth-demo.safetensors"
# 3. Class embeddings: names, sentences, body-part texts and phrases through all-MiniLM-L6-v2 (installed with
#    `skelzero models fetch minilm` when missing).
run text classes --text-model minilm --class-texts assets/synthetic --out "$work/texts.safetensors"
tail -n +2 assets/synthetic/classes.tsv | cut -f2 > "$work/class_names.txt"
# 4. The zero-shot methods, with smaller configs than the defaults (STAR 2.9 MB, InfoCPL 2.6 MB, SMIE 0.8 MB, DeViSE
#    0.4 MB). DeViSE with its
#    defaults (lr chosen among its grid on seen-class validation); STAR, InfoCPL and SMIE at lr 1e-3 for 30 epochs
#    (epoch chosen on validation).
common=(--val-subjects --features "$work/synth-demo.safetensors" --texts "$work/texts.safetensors" --split synth-demo
    --class-names "$work/class_names.txt" --seed 0)
printf 'method = "star"\nparts = 6\nprompts = 32\ndim = 64\nheads = 4\nhidden = 128\n' > "$work/star.toml"
printf 'method = "infocpl"\nhidden = [256, 128]\n' > "$work/infocpl.toml"
printf 'method = "smie"\nhidden = [256, 128]\n' > "$work/smie.toml"
run train --method devise "${common[@]}" --out "$work/devise"
for method in star infocpl smie; do
    run train --method "$method" --method-config "$work/$method.toml" --lr 1e-3 --epochs 30 "${common[@]}" \
        --out "$work/$method"
done

# 5. Ship the files the demo loads (the runs share one class-embedding file).
mkdir -p assets/demo/encoder
cp "$work/encoder/config.toml" "$work/encoder/checkpoint.safetensors" assets/demo/encoder/
cp "$work/devise/classes.safetensors" assets/demo/classes.safetensors
for method in star infocpl smie devise; do
    cmp "$work/$method/classes.safetensors" assets/demo/classes.safetensors
    mkdir -p "assets/demo/runs/$method"
    cp "$work/$method/config.toml" "$work/$method/weights.safetensors" "assets/demo/runs/$method/"
done
