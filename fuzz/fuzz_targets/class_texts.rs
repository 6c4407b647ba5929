//! Class-text files: one-per-line descriptions, STAR part descriptions, Neuron JSON, SA-DVAE CSV, class-name TSVs
//! and a TSV text folder. The first byte picks the reader.
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
    with_alloc_limit(rest.len(), 64, || {
        let path = Path::new("classes_text.txt");
        let text = match skelzero::dataset::texts::text_from_bytes(rest.to_vec(), path) {
            Ok(t) => t,
            Err(e) => return assert_names_file(&e.to_string(), path),
        };
        use skelzero::dataset::texts as t;
        let err = match which % 7 {
            0 => t::parse_lines(&text, path).err(),
            1 => t::parse_star_parts(&text, path).err(),
            2 => t::parse_neuron_json(&text, path).err(),
            3 => t::parse_sadvae_csv(&text, path).err(),
            4 => skelzero::dataset::load::parse_class_names(&text, path).err(),
            5 => {
                // One text split into the folder's four files at form feeds.
                let mut parts = text.split('\u{c}');
                let classes = parts.next().unwrap_or("");
                let dir = Path::new("text_dir");
                match t::ClassTexts::from_tsv_strs(
                    dir,
                    classes,
                    parts.next(),
                    parts.next(),
                    parts.next(),
                ) {
                    Ok(ct) => {
                        let n = ct.num_classes();
                        for c in 0..n {
                            assert!(ct.sentence_or_name(c).is_some());
                        }
                        None
                    }
                    Err(e) => {
                        let m = e.to_string();
                        assert!(m.contains("text_dir"), "{m}");
                        None
                    }
                }
            }
            _ => skelzero::dataset::protocol::SplitFile::from_text(&text, path, false).err(),
        };
        if let Some(e) = err {
            assert_names_file(&e.to_string(), path);
        }
    });
});
