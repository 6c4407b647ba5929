//! Label files of NTU-style arrays: text (one 0-based label per line) or `.npy` (N,) / one-hot (N, C). The first
//! byte picks the form and the number of samples the labels must match.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, put_file, scratch_dir, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let name = if which % 2 == 0 {
        "train_label.txt"
    } else {
        "train_label.npy"
    };
    let n = usize::from(which / 2);
    let dir = scratch_dir("ntu_labels");
    put_file(&dir, name, rest);
    let path = dir.join(name);
    with_alloc_limit(
        rest.len(),
        64,
        || match skelzero::formats::ntu_array::read_labels(&path, n) {
            Ok(labels) => assert_eq!(labels.len(), n),
            Err(e) => assert_names_file(&e.to_string(), &path),
        },
    );
});
