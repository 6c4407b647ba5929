//! Encoder checkpoints (safetensors) loaded into a network's variables.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(
    init: {
        let _ = skelzero_fuzz::seed_varmap();
    },
    |data: &[u8]| {
        let vm = skelzero_fuzz::seed_varmap();
        let path = Path::new("checkpoint.safetensors");
        with_alloc_limit(data.len(), 64, || {
            if let Err(e) = skelzero::nn::checkpoint::load_varmap_bytes(&vm, data, path) {
                assert_names_file(&e.to_string(), path);
            }
        });
    }
);
