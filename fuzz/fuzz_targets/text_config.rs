//! A sentence encoder's `config.json` (and `sentence_bert_config.json`, after a form feed) in a model folder with a
//! small tokenizer and an empty weights file: the loader must refuse every such folder with an error naming one of
//! its files, and never allocate for the sizes a config declares.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{CappedAlloc, put_file, put_or_remove, scratch_dir, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// A word-level tokenizer of four tokens.
const TOKENIZER: &str = r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,
"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
"model":{"type":"WordLevel","vocab":{"[PAD]":0,"[UNK]":1,"a":2,"b":3},"unk_token":"[UNK]"}}"#;

/// A safetensors file with no tensors.
const EMPTY_WEIGHTS: &[u8] = b"\x02\x00\x00\x00\x00\x00\x00\x00{}";

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir("text_config");
    let mut parts = data.splitn(2, |&b| b == 0x0c);
    put_file(&dir, "config.json", parts.next().unwrap_or_default());
    put_or_remove(&dir, "sentence_bert_config.json", parts.next());
    if !dir.join("tokenizer.json").is_file() {
        put_file(&dir, "tokenizer.json", TOKENIZER.as_bytes());
        put_file(&dir, "model.safetensors", EMPTY_WEIGHTS);
    }
    with_alloc_limit(
        data.len() + TOKENIZER.len(),
        64,
        || match skelzero::text::TextEncoder::load(&dir) {
            Ok(_) => panic!("a model with no weights loaded"),
            Err(e) => {
                let m = e.to_string();
                assert!(
                    [
                        "config.json",
                        "sentence_bert_config.json",
                        "tokenizer.json",
                        "model.safetensors",
                    ]
                    .iter()
                    .any(|f| m.contains(&dir.join(f).to_string_lossy().into_owned())),
                    "error names no file of the model folder: {m}"
                );
            }
        },
    );
});
