//! Zero-shot feature files and class-embedding files (safetensors). The first byte picks the reader.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("split1.safetensors");
    with_alloc_limit(rest.len(), 64, || {
        let err = if which % 2 == 0 {
            skelzero::zsl::features::SplitFeatures::from_bytes(rest, path).err()
        } else {
            skelzero::zsl::features::class_embeddings_from_bytes(rest, path).err()
        };
        if let Some(e) = err {
            assert_names_file(&e.to_string(), path);
        }
    });
});
