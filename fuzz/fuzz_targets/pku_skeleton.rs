//! PKU-MMD skeleton files (150 numbers a line).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, check_sequence, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("0002-L.txt");
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::formats::pku_mmd::parse_skeleton(data, path) {
            Ok(seq) => check_sequence(&seq),
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
