//! TOML files: pretraining and zero-shot run configs (`config.toml`), split files, method configs. The first byte
//! picks the reader.
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
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let path = Path::new("config.toml");
    with_alloc_limit(rest.len(), 64, || {
        let err = match which % 4 {
            0 => skelzero::pretrain::run::RunConfig::from_toml(text, path)
                .err()
                .map(|e| e.to_string()),
            1 => skelzero::experiment::run::config_from_toml(text, path)
                .err()
                .map(|e| e.to_string()),
            2 => skelzero::dataset::protocol::SplitFile::from_text(text, path, true)
                .err()
                .map(|e| e.to_string()),
            _ => {
                // Method configs are plain serde: any error is toml's own (no file name to check).
                let _ = toml::from_str::<skelzero::zsl::MethodConfig>(text);
                None
            }
        };
        if let Some(m) = err {
            assert_names_file(&m, path);
        }
    });
});
