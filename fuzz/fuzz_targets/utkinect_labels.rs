//! UTKinect-Action3D `actionLabel.txt`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("actionLabel.txt");
    with_alloc_limit(data.len(), 64, || {
        match skelzero::formats::utkinect::parse_labels(data, path) {
            Ok(blocks) => {
                for b in blocks {
                    for s in b.segments {
                        // The loader indexes the class names with it.
                        assert!(s.label < skelzero::formats::utkinect::CLASS_NAMES.len());
                        if let Some((a, z)) = s.frames {
                            assert!(a <= z);
                        }
                    }
                }
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        }
    });
});
