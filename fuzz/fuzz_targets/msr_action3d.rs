//! MSR Action3D `aAA_sSS_eEE_skeleton3D.txt` files.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, check_sequence, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("a01_s01_e01_skeleton3D.txt");
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::formats::msr_action3d::parse(data, path) {
            Ok(seq) => check_sequence(&seq),
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
