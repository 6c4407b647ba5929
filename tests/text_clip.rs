//! CLIP's text tower (`--text-model clip`) on a tiny random CLIP written by the test itself (config, safetensors and
//! a word-level tokenizer with CLIP's start and end tokens): shapes, determinism, the end-of-text pooling against a
//! hand computation, truncation, the Hugging Face cache layout, and one clear error where the weights are missing.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::path::Path;

use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::clip::text_model::{
    Activation, ClipTextConfig, ClipTextTransformer,
};
use skelzero::text::clip::{ClipTextEncoder, model_folder};

const WORDS: [&str; 10] = [
    "drink",
    "water",
    "kick",
    "something",
    "a",
    "ball",
    ",",
    "head",
    ":",
    "the",
];
/// `[UNK]` 0, `<|startoftext|>` 1, the words 2.., `<|endoftext|>` last (the largest id, as in CLIP).
const EOT: u32 = WORDS.len() as u32 + 2;
const CONTEXT: usize = 16;

fn tiny_config() -> ClipTextConfig {
    ClipTextConfig {
        vocab_size: WORDS.len() + 3,
        embed_dim: 8,
        activation: Activation::QuickGelu,
        intermediate_size: 16,
        max_position_embeddings: CONTEXT,
        pad_with: None,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        projection_dim: 6,
    }
}

fn tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    vocab.insert("[UNK]".into(), 0.into());
    vocab.insert("<|startoftext|>".into(), 1.into());
    for (i, w) in WORDS.iter().enumerate() {
        vocab.insert((*w).into(), (i + 2).into());
    }
    vocab.insert("<|endoftext|>".into(), EOT.into());
    let special = |t: &str, id: u32| serde_json::json!({"id": t, "ids": [id], "tokens": [t]});
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<|startoftext|>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}
            ],
            "pair": [
                {"Sequence": {"id": "A", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}}
            ],
            "special_tokens": {
                "<|startoftext|>": special("<|startoftext|>", 1),
                "<|endoftext|>": special("<|endoftext|>", EOT)
            }
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    })
    .to_string()
}

/// Writes a tiny random CLIP (a CLIPModel config with a `text_config`) into `dir`.
fn write_tiny_clip(dir: &Path, with_weights: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let c = tiny_config();
    let config = serde_json::json!({
        "model_type": "clip",
        "projection_dim": c.projection_dim,
        "text_config": {
            "vocab_size": c.vocab_size,
            "hidden_size": c.embed_dim,
            "intermediate_size": c.intermediate_size,
            "max_position_embeddings": c.max_position_embeddings,
            "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads,
            "hidden_act": "quick_gelu"
        }
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
    if with_weights {
        let vm = VarMap::new();
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        ClipTextTransformer::new(vb.pp("text_model"), &c).unwrap();
        candle_nn::linear_no_bias(c.embed_dim, c.projection_dim, vb.pp("text_projection")).unwrap();
        vm.save(dir.join("model.safetensors")).unwrap();
    }
}

/// `encode_text` by hand for one text: the transformer on its ids alone (no padding), the hidden state at its last
/// token, times the projection.
fn by_hand(dir: &Path, ids: &[u32]) -> Vec<f32> {
    let c = tiny_config();
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .unwrap();
    let model = ClipTextTransformer::new(vb.pp("text_model"), &c).unwrap();
    let proj = vb
        .pp("text_projection")
        .get((c.projection_dim, c.embed_dim), "weight")
        .unwrap();
    let x = Tensor::new(ids, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let hidden = model.forward_with_mask(&x, usize::MAX).unwrap();
    let last = hidden.i((0, ids.len() - 1)).unwrap().unsqueeze(0).unwrap();
    // candle's own pooling (argmax token id = the end token here) agrees with the last position.
    let argmax = model.forward(&x).unwrap();
    let diff: f32 = (&argmax - &last)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff < 1e-6);
    last.matmul(&proj.t().unwrap())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn clip_text_features_are_the_projected_end_token_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("clip");
    write_tiny_clip(&d, true);
    let enc = ClipTextEncoder::load(&d).unwrap();
    assert_eq!(enc.dim(), 6);
    // Different lengths in one batch: the shorter rows are padded, which must not change their features.
    let texts = ["drink water", "kick a ball , head : the ball", "the"];
    let ids = enc.token_ids(&texts).unwrap();
    assert_eq!(ids[0], [1, 2, 3, EOT]);
    let raw = enc.encode_text(&texts).unwrap();
    assert_eq!(raw.len(), texts.len() * 6);
    for (k, row) in raw.chunks_exact(6).enumerate() {
        let want = by_hand(&d, &ids[k]);
        for (a, b) in row.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "text {k}: {a} vs {b}");
        }
    }
    // Unit-length embeddings, the same on every call and every load.
    let e = enc.embed(&texts).unwrap();
    for row in e.rows() {
        let n: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-5);
    }
    assert_eq!(e, enc.embed(&texts).unwrap());
    assert_eq!(e, ClipTextEncoder::load(&d).unwrap().embed(&texts).unwrap());
}

#[test]
fn long_texts_keep_their_end_token_at_the_context_length() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("clip");
    write_tiny_clip(&d, true);
    let enc = ClipTextEncoder::load(&d).unwrap();
    let long = ["drink water "; 12].concat();
    let ids = enc.token_ids(&[long.as_str()]).unwrap();
    assert_eq!(ids[0].len(), CONTEXT);
    assert_eq!(ids[0][0], 1);
    assert_eq!(*ids[0].last().unwrap(), EOT, "clip.tokenize(truncate=True)");
    assert_eq!(enc.encode_text(&[long.as_str()]).unwrap().len(), 6);
}

#[test]
fn a_hugging_face_cache_entry_is_read_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let entry = dir
        .path()
        .join("models--openai--clip-vit-large-patch14-336");
    write_tiny_clip(&entry.join("snapshots/0123abcd"), true);
    assert_eq!(
        model_folder(&entry).unwrap(),
        entry.join("snapshots/0123abcd")
    );
    assert_eq!(ClipTextEncoder::load(&entry).unwrap().dim(), 6);
}

#[test]
fn missing_clip_weights_are_one_error_naming_the_folder_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("clip-no-weights");
    write_tiny_clip(&d, false);
    let err = ClipTextEncoder::load(&d).err().unwrap().to_string();
    assert!(
        err.contains("clip-no-weights")
            && err.contains("model.safetensors")
            && err.contains("--clip-dir"),
        "{err}"
    );
    let absent = dir.path().join("nowhere");
    let err = ClipTextEncoder::load(&absent).err().unwrap().to_string();
    assert!(err.contains("nowhere"), "{err}");
    // Through the CLI's text-encoder selection too.
    std::fs::write(
        dir.path().join("classes.tsv"),
        "id\tname\na1\tdrink water\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .args(["text", "classes", "--text-model", "clip", "--clip-dir"])
        .arg(&d)
        .arg("--class-texts")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("out.safetensors"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.safetensors"), "{stderr}");
}
