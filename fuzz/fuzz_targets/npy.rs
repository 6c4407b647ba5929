//! `.npy` arrays: float32 and int64 reads, then every use the loaders make of them (NTU joint arrays, NTU
//! `(N, 3, T, 25, M)` batches, class embeddings).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero::formats::{npy, ntu_array};
use skelzero_fuzz::{CappedAlloc, assert_names_file, check_sequence, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("S001C001P001R001A001_joints.npy");
    with_alloc_limit(data.len(), 64, || {
        match npy::read_f32_from_bytes(data, path) {
            Ok(arr) => {
                assert_eq!(arr.shape.iter().product::<usize>(), arr.data.len());
                match ntu_array::sequences_from_batch(&arr, path) {
                    Ok(seqs) => seqs.iter().flatten().for_each(check_sequence),
                    Err(e) => assert_names_file(&e.to_string(), path),
                }
                if let Err(e) =
                    skelzero::text::precomputed::class_features_from_npy(arr.clone(), path)
                {
                    assert_names_file(&e.to_string(), path);
                }
                match ntu_array::sequence_from_joints(arr, path) {
                    Ok(seq) => check_sequence(&seq),
                    Err(e) => assert_names_file(&e.to_string(), path),
                }
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        }
        match npy::read_i64_from_bytes(data, path) {
            Ok(arr) => assert_eq!(arr.shape.iter().product::<usize>(), arr.data.len()),
            Err(e) => assert_names_file(&e.to_string(), path),
        }
    });
});
