"""Times openTSNE and scikit-learn's Barnes-Hut t-SNE on the features the Rust benchmark wrote (benches/tsne.rs).

Usage: tsne_py.py FEATURES.npy PERPLEXITY ITERATIONS THREADS. Prints one JSON line per library:
{"library": ..., "seconds": ..., "version": ...} or {"library": ..., "missing": reason}.
"""
import json
import sys
import time

import numpy as np

path, perplexity, iterations, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
x = np.load(path).astype(np.float32)
early = 250
labels = np.arange(len(x)) % 60  # the Rust side's clusters


def agreement(emb):
    """Share of points whose nearest embedded neighbour is from the same cluster."""
    emb = np.asarray(emb, dtype=np.float64)
    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float((labels[d.argmin(1)] == labels).mean())


try:
    import openTSNE

    start = time.perf_counter()
    # Barnes-Hut gradients and exact neighbours, as the Rust side does; openTSNE's iteration counts exclude the
    # early-exaggeration phase.
    emb = openTSNE.TSNE(
        perplexity=perplexity,
        n_iter=iterations - early,
        early_exaggeration_iter=early,
        negative_gradient_method="bh",
        neighbors="exact",
        n_jobs=threads,
        random_state=42,
        initialization="random",
    ).fit(x)
    seconds = time.perf_counter() - start
    print(json.dumps({"library": "openTSNE (bh)", "seconds": seconds, "version": openTSNE.__version__,
                      "agreement": agreement(emb)}))
    start = time.perf_counter()
    emb = openTSNE.TSNE(perplexity=perplexity, n_iter=iterations - early, early_exaggeration_iter=early,
                        n_jobs=threads, random_state=42).fit(x)
    seconds = time.perf_counter() - start
    print(json.dumps({"library": "openTSNE (defaults: FFT, annoy, PCA init)", "seconds": seconds,
                      "version": openTSNE.__version__, "agreement": agreement(emb)}))
except ImportError as e:
    print(json.dumps({"library": "openTSNE", "missing": str(e)}))

try:
    import sklearn
    from sklearn.manifold import TSNE

    start = time.perf_counter()
    kwargs = dict(perplexity=perplexity, method="barnes_hut", n_jobs=threads, random_state=42, init="random",
                  learning_rate="auto")
    try:
        emb = TSNE(max_iter=iterations, **kwargs).fit_transform(x)
    except TypeError:  # scikit-learn < 1.5 names it n_iter
        emb = TSNE(n_iter=iterations, **kwargs).fit_transform(x)
    seconds = time.perf_counter() - start
    print(json.dumps({"library": "scikit-learn (barnes_hut)", "seconds": seconds, "version": sklearn.__version__,
                      "agreement": agreement(emb)}))
except ImportError as e:
    print(json.dumps({"library": "scikit-learn", "missing": str(e)}))
