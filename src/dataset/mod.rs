//! Datasets: labelled samples read from a folder or file, zero-shot splits, and class texts.
