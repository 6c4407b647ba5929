"""sentence-transformers reference timing for benches/text_encode.rs (run by it; optional).

Usage: python3 text_encode_st.py MODEL_DIR TEXTS_FILE THREADS REPEATS
Prints one JSON line: {"load_s", "best_s", "runs_s"}; exits 3 with {"missing": ...} when torch or
sentence-transformers is not installed.
"""

import json
import sys
import time


def main() -> int:
    model_dir, texts_file, threads, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:  # the reference is optional
        print(json.dumps({"missing": str(e)}))
        return 3
    torch.set_num_threads(threads)
    with open(texts_file, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f]
    start = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    load_s = time.perf_counter() - start
    model.encode(texts[:8], batch_size=32)  # warm-up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            model.encode(texts, batch_size=32, normalize_embeddings=True)
        runs.append(time.perf_counter() - start)
    print(json.dumps({"load_s": load_s, "best_s": min(runs), "runs_s": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
