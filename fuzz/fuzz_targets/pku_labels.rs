//! PKU-MMD label files (`action,start,end,confidence` lines).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("label/0002-L.txt");
    // The first byte picks the recording length the segments are checked against (or none).
    let (frames, data) = match data.split_first() {
        Some((&b, rest)) if b % 2 == 0 => (Some(usize::from(b) * 37), rest),
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    with_alloc_limit(
        data.len(),
        64,
        || match skelzero::formats::pku_mmd::parse_labels(data, path, frames) {
            Ok(segments) => {
                for s in segments {
                    assert!(s.start < s.end && s.action >= 1);
                    if let Some(f) = frames {
                        assert!(s.end <= f);
                    }
                }
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        },
    );
});
