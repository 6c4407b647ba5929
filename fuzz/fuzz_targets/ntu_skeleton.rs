//! NTU RGB+D `.skeleton` text files.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, check_sequence, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("S001C001P001R001A001.skeleton");
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::formats::ntu_skeleton::parse_allow_empty(data, path) {
            Ok(Some(sk)) => check_sequence(&sk.seq),
            Ok(None) => {}
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
