//! Description-set files (the explorer's edited class texts, `format = 1` TOML): any input parses or gives an
//! error naming the file; a parsed set writes back to TOML that parses to the same set.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skelzero::dataset::description_set::DescriptionSet;
use skelzero_fuzz::{CappedAlloc, assert_names_file, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    with_alloc_limit(data.len(), 64, || {
        let path = Path::new("descriptions.toml");
        match DescriptionSet::from_toml(text, path) {
            Ok(set) => {
                let again = DescriptionSet::from_toml(&set.to_toml(None), path)
                    .unwrap_or_else(|e| panic!("a written set does not parse: {e}"));
                assert_eq!(again, set, "round trip changed the set");
            }
            Err(e) => assert_names_file(&e.to_string(), path),
        }
    });
});
