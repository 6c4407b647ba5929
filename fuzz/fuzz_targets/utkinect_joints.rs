//! UTKinect-Action3D `joints_sXX_eXX.txt` files.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, check_sequence, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("joints_s01_e01.txt");
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::formats::utkinect::parse_joints(data, path) {
            Ok(joints) => {
                assert_eq!(joints.frame_ids.len(), joints.seq.frames());
                check_sequence(&joints.seq);
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
