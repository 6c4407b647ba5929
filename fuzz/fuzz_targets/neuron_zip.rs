//! Neuron's torch zip archives of precomputed class-text features (`src/text/precomputed.rs`).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("neuron_features.tar");
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::text::precomputed::parse_neuron_archive(std::io::Cursor::new(data), path)
        {
            Ok(f) => {
                assert_eq!(f.data.len(), f.classes * f.per_class * f.dim);
                assert!(f.data.iter().all(|v| v.is_finite()));
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
