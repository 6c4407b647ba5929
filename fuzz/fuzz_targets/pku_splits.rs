//! PKU-MMD split lists (`cross-subject.txt`, `cross-view.txt`).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("cross-subject.txt");
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::formats::pku_mmd::parse_split_lists(data, path) {
            Ok(lists) => {
                assert!(!lists.train.is_empty() && !lists.validation.is_empty());
                for id in lists.train.iter().chain(&lists.validation) {
                    assert!(skelzero::formats::pku_mmd::is_recording_name(id), "{id}");
                }
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
