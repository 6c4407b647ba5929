//! `skelzero text embed`: embeds texts with a sentence encoder and prints sizes, norms and first values, or writes
//! the embeddings of a file of class texts to `.npy`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;

use crate::text::{EmbeddingCache, ModelStore, TextEncoder};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: TextCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TextCommand {
    /// Embed texts given on the command line or in a file.
    Embed(EmbedArgs),
    /// Embed a TSV folder of class texts (`classes.tsv`, optional `sentence.tsv`, `parts.tsv`, `phrases.tsv`) into
    /// the class-embedding file `skelzero train --texts` reads.
    Classes(ClassesArgs),
}

#[derive(Debug, clap::Args)]
pub struct ClassesArgs {
    /// A model folder or a known name: minilm, mpnet, clip (CLIP ViT-L/14@336's text tower, the official STAR's;
    /// see --clip-dir).
    #[arg(long, default_value = "minilm")]
    pub text_model: String,
    /// The TSV folder (e.g. `assets/synthetic`, the synthetic demo's texts).
    #[arg(long, value_name = "DIR")]
    pub class_texts: PathBuf,
    /// Output safetensors (names, sentences, parts, phrases, motion).
    #[arg(long)]
    pub out: PathBuf,
    /// How the body-part texts are built: `plain` (the description) or `class-name-prefixed`
    /// (`<class name>, <Part>: <description>`, the official STAR's form, which `train --preset paper` expects for
    /// STAR). Recorded in the file's metadata.
    #[arg(long, default_value = "plain")]
    pub part_texts: String,
    /// With `--text-model clip`: the CLIP folder (config.json, tokenizer.json, model.safetensors of
    /// openai/clip-vit-large-patch14-336); default: the Hugging Face cache.
    #[arg(long, value_name = "DIR")]
    pub clip_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// A model folder (config.json, tokenizer.json, model.safetensors) or a known name: minilm, mpnet.
    #[arg(long, default_value = "minilm")]
    pub text_model: String,
    /// Texts to embed.
    pub texts: Vec<String>,
    /// A file of texts, one per line; with tabs, the last field of the line is the text. Empty lines are skipped.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Write the embeddings (texts x dim, float32) to this `.npy` file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Do not read or write the on-disk embedding cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Fail instead of installing a known model that is missing.
    #[arg(long)]
    pub no_install: bool,
}

/// How many leading values to print per embedding.
const SHOWN: usize = 8;

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        TextCommand::Embed(a) => embed(a),
        TextCommand::Classes(a) => classes(a),
    }
}

fn classes(args: &ClassesArgs) -> anyhow::Result<()> {
    let form =
        crate::dataset::texts::PartTextForm::from_name(&args.part_texts).with_context(|| {
            format!(
                "unknown --part-texts `{}` (plain or class-name-prefixed)",
                args.part_texts
            )
        })?;
    let texts = crate::dataset::texts::ClassTexts::from_tsv_dir(&args.class_texts)?;
    let spec = crate::pipeline::sentence::clip_spec(&args.text_model, args.clip_dir.as_deref())?
        .unwrap_or_else(|| args.text_model.clone());
    let mut embedder = crate::pipeline::text_embedder(&spec)?;
    let ce = crate::pipeline::class_embeddings_from_texts_with(&texts, embedder.as_mut(), form)?;
    crate::zsl::features::save_class_embeddings_with(&args.out, &ce, form)?;
    println!(
        "{} classes, dimension {} ({}) -> {}",
        ce.num_classes(),
        ce.dim(),
        embedder.id(),
        args.out.display()
    );
    Ok(())
}

fn embed(args: &EmbedArgs) -> anyhow::Result<()> {
    let mut texts = args.texts.clone();
    if let Some(file) = &args.file {
        let content = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        texts.extend(
            content
                .lines()
                .map(|l| l.rsplit('\t').next().unwrap_or(l).trim())
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    anyhow::ensure!(!texts.is_empty(), "nothing to embed: give texts or --file");

    let store = ModelStore::default_location()?;
    let dir = store.resolve(&args.text_model, !args.no_install)?;
    let start = Instant::now();
    let encoder = TextEncoder::load(&dir)?;
    let load_s = start.elapsed().as_secs_f64();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let start = Instant::now();
    let cache = (!args.no_cache)
        .then(EmbeddingCache::default_location)
        .flatten();
    let (embeddings, cached) = match &cache {
        Some(cache) => {
            let (e, stats) = cache.embed(&encoder, &refs)?;
            (e, stats.hits)
        }
        None => (encoder.embed(&refs)?, 0),
    };
    let embed_s = start.elapsed().as_secs_f64();

    if let Some(out) = &args.out {
        crate::formats::npy::write_f32(out, &[embeddings.len(), embeddings.dim], &embeddings.data)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    let norms: Vec<f32> = embeddings
        .rows()
        .map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect();
    if args.json {
        let value = serde_json::json!({
            "model": encoder.id(),
            "path": encoder.dir(),
            "dim": embeddings.dim,
            "max_len": encoder.max_len(),
            "load_seconds": load_s,
            "embed_seconds": embed_s,
            "cached": cached,
            "out": args.out,
            "texts": refs.iter().zip(embeddings.rows()).zip(&norms).map(|((t, r), n)| serde_json::json!({
                "text": t, "norm": n, "first": &r[..SHOWN.min(r.len())],
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "model {} ({}), dim {}, max {} tokens; {} texts ({} cached) in {:.3} s, load {:.3} s",
        encoder.id(),
        encoder.dir().display(),
        embeddings.dim,
        encoder.max_len(),
        refs.len(),
        cached,
        embed_s,
        load_s
    );
    if let Some(out) = &args.out {
        println!(
            "wrote {} x {} to {}",
            embeddings.len(),
            embeddings.dim,
            out.display()
        );
    }
    // A file can hold thousands of texts: show the first few.
    for ((text, row), norm) in refs.iter().zip(embeddings.rows()).zip(&norms).take(20) {
        let first: Vec<String> = row.iter().take(SHOWN).map(|v| format!("{v:+.6}")).collect();
        println!("{text:?}: norm {norm:.6}, first [{}]", first.join(", "));
    }
    Ok(())
}
