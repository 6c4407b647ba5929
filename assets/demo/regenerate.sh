#!/usr/bin/env bash
# Regenerates the built-in demo's checkpoint (assets/demo/encoder, assets/demo/zsl) with skelzero's own commands:
# an ST-GCN encoder pretrained on the seen classes of the synthetic `synth-demo` split (unseen-class samples never
# reach it), its features of the split, MiniLM embeddings of the class texts written for the project
# (assets/synthetic/*.tsv), and a DeViSE run trained on them with seen-class model selection. The binary compiles
# these files in (src/pipeline/demo.rs): rebuild after running this. About 15 minutes on 2 CPU cores.
#
# Usage: assets/demo/regenerate.sh [WORK_DIR]   (run from the repository root; WORK_DIR defaults to runs/demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-runs/demo}"
mkdir -p "$work"
run() { cargo run --release --quiet -- "$@"; }

# 1. The skeleton encoder. 80 epochs at lr 5e-3: batch norm's running statistics need that many steps on the 45
#    training samples; after 10 epochs the eval-mode features collapse and zero-shot accuracy is at chance.
run pretrain --dataset synthetic --split synth-demo --encoder stgcn --epochs 80 --lr 5e-3 --seed 0 \
    --out "$work/encoder"
# 2. Its frozen features of the split (seen-class training samples, GZSL test samples, SMIE's masked view).
run extract --run "$work/encoder" --split synth-demo --out "$work/synth-demo.safetensors"
# 3. Class embeddings: names, descriptions, body-part texts and phrases through all-MiniLM-L6-v2 (installed with
#    `skelzero models fetch minilm` when missing).
run text classes --text-model minilm --class-texts assets/synthetic --out "$work/texts.safetensors"
tail -n +2 assets/synthetic/classes.tsv | cut -f2 > "$work/class_names.txt"
# 4. The zero-shot method (epoch and GZSL gamma chosen on a validation split of the seen classes). DeViSE with these
#    settings had the best seen-class validation harmonic mean (0.63) of the candidates tried: SMIE (defaults; 200
#    epochs batch 16; 40 epochs batch 16 lr 1e-3; 60 epochs batch 8 lr 3e-4: all chose epoch 0, val H 0.24-0.32),
#    DeViSE (200 epochs batch 16: val H 0.40) and RelationNet (200 epochs batch 16: val H 0). Nothing was chosen on the
#    unseen test classes.
run train --method devise --epochs 60 --batch-size 16 --lr 1e-2 --features "$work/synth-demo.safetensors" \
    --texts "$work/texts.safetensors" --split synth-demo --class-names "$work/class_names.txt" --seed 0 \
    --out "$work/devise"

# 5. Ship the files the demo loads.
mkdir -p assets/demo/encoder assets/demo/zsl
cp "$work/encoder/config.toml" "$work/encoder/checkpoint.safetensors" assets/demo/encoder/
cp "$work/devise/config.toml" "$work/devise/weights.safetensors" "$work/devise/classes.safetensors" assets/demo/zsl/
# 6. The figures the explorer shows (the split's test samples).
run predict --encoder assets/demo/encoder --run assets/demo/zsl --dataset synthetic --out "$work/predictions.json"
