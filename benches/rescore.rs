//! Re-scoring after one class-description edit, as the explorer's editor does it, on 5,000 samples: MiniLM encodes
//! the changed text (no embedding cache), the class embeddings are rebuilt from the kept rows, the features are
//! scored again by the method against the edited class (the other columns are kept: each method scores a class from
//! its own embeddings only), and the figures the app shows are recomputed (metrics, both confusion matrices,
//! per-class accuracy). Goal (issue 7): under 100 ms from edit commit to updated numbers.
//!
//! Features: the demo's real ST-GCN features of its 90 test samples (the embedded encoder, `assets/demo`), tiled to
//! `SKELZERO_RESCORE_N` (5000) rows. DeViSE is the demo's trained run; RelationNet, SMIE, InfoCPL and STAR are the
//! same architectures with seeded untrained weights over the demo's class embeddings (scoring cost does not depend
//! on the weights' values). STAR reads the encoder's feature map, (N, T', V, 256), which is 330 KB per sample:
//! `SKELZERO_RESCORE_STAR_N` (default 1000) sets its size. Each method edits a field its scores read (the sentence;
//! STAR the class name; InfoCPL a phrase), `SKELZERO_RESCORE_REPEATS` (7) times with different texts.
//!
//! `cargo bench --bench rescore` (needs MiniLM: `skelzero models fetch minilm`).
#![allow(clippy::unwrap_used)] // a benchmark aborts on setup errors

mod common;

use common::{env_usize, percentile};
use std::time::Instant;

use skelzero::dataset::description_set::{DescriptionSet, EditHistory, Field, Value};
use skelzero::experiment::run::LoadedRun;
use skelzero::pipeline::demo::{demo_dataset, demo_encoder, demo_run, demo_texts};
use skelzero::pipeline::description_embed::{EmbeddedSet, TextUse, embed_changes};
use skelzero::pipeline::predict::{changed_classes, rescored_classes, scored_rows, visual_part_of};
use skelzero::pipeline::predictions::{Predictions, Setting};
use skelzero::pipeline::scoring::{ScoreSource, score_job};
use skelzero::pipeline::{CachedEncoder, TextEmbedder};
use skelzero::text::TextEncoder;
use skelzero::text::store::ModelStore;
use skelzero::util::jobs::JobHandle;
use skelzero::zsl::{FeatureBatch, MethodConfig, MethodKind};

/// Times the encoder calls.
struct Timed<'a> {
    inner: &'a mut CachedEncoder,
    ms: f64,
}

impl TextEmbedder for Timed<'_> {
    fn id(&self) -> String {
        self.inner.id()
    }
    fn embed(&mut self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let t = Instant::now();
        let out = self.inner.embed(texts);
        self.ms += t.elapsed().as_secs_f64() * 1000.0;
        out
    }
}

/// `p` and `f` with their rows repeated to `n`.
fn tiled(p: &Predictions, f: &FeatureBatch, n: usize) -> (Predictions, FeatureBatch) {
    let rows: Vec<usize> = (0..n).map(|i| i % p.num_samples()).collect();
    let c = p.num_classes();
    let tp = Predictions {
        sample_ids: (0..n).map(|i| format!("t{i:05}")).collect(),
        labels: rows.iter().map(|&r| p.labels[r]).collect(),
        scores: rows
            .iter()
            .flat_map(|&r| p.scores[r * c..(r + 1) * c].to_vec())
            .collect(),
        features: None,
        ..p.clone()
    };
    (tp, f.select(&rows).unwrap())
}

/// Per-class accuracy as the editor computes it (both matrices).
fn figures(p: &Predictions) -> (f32, f32) {
    let m = p.metrics();
    let z = p.confusion(Setting::Zsl);
    let g = p.confusion(Setting::Gzsl);
    let diag: f32 = (0..z.size()).map(|i| z.row_fraction(i, i)).sum::<f32>()
        + (0..g.size()).map(|i| g.row_fraction(i, i)).sum::<f32>();
    (m.zsl_accuracy, diag)
}

fn main() {
    let n = env_usize("SKELZERO_RESCORE_N", 5000);
    let star_n = env_usize("SKELZERO_RESCORE_STAR_N", 1000);
    let repeats = env_usize("SKELZERO_RESCORE_REPEATS", 7).max(1);
    let dir = ModelStore::default_location()
        .unwrap()
        .resolve("minilm", false)
        .expect("MiniLM is not installed: skelzero models fetch minilm");
    let mut encoder = CachedEncoder::new(TextEncoder::load(&dir).unwrap(), None);
    // Warm the encoder (first-call allocations) on an unrelated text.
    encoder.embed(&["warm up".to_owned()]).unwrap();

    let t = Instant::now();
    let scored = score_job(
        &ScoreSource::Demo(skelzero::pipeline::demo::default_demo_run()),
        &candle_core::Device::Cpu,
        &JobHandle::default(),
    )
    .unwrap();
    println!(
        "demo scored: {} test samples in {:.1} s; tiled to {n} (STAR {star_n})",
        scored.predictions.num_samples(),
        t.elapsed().as_secs_f32()
    );
    let texts = DescriptionSet::from_class_texts(&demo_texts());
    let demo = demo_run().unwrap();
    let original = EmbeddedSet {
        texts: texts.clone(),
        embeddings: demo.classes.clone(),
    };
    let jump = texts
        .classes
        .iter()
        .position(|c| c.name == "jump up")
        .unwrap();

    println!(
        "\n{:<12} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}   (median of {repeats}, ms)",
        "method", "N", "once", "encode", "rebuild", "score", "figures", "total"
    );
    for kind in MethodKind::ALL {
        let mut config = demo.config.clone();
        let run = if kind == MethodKind::Devise {
            demo_run().unwrap()
        } else {
            config.method = MethodConfig::default_for(kind);
            let (method, _) = config
                .method
                .build_trainable(config.dims, &candle_core::Device::Cpu, 7)
                .unwrap();
            LoadedRun {
                dir: format!("untrained-{kind}").into(),
                config,
                method,
                classes: demo.classes.clone(),
                branch_set: None,
                saved_gamma: None,
            }
        };
        let (rows_n, feats) = if kind == MethodKind::Star {
            // STAR scores the feature map: encode the demo's test samples again, keeping it.
            let ds = demo_dataset();
            let (rows, _) = scored_rows(&ds, &run);
            let f = demo_encoder(&candle_core::Device::Cpu)
                .unwrap()
                .features(&ds, &rows, &run, &mut |_, _| true)
                .unwrap();
            (star_n, f)
        } else {
            (n, scored.features.clone())
        };
        let (base, feats) = tiled(&scored.predictions, &feats, rows_n);
        let used = TextUse::scored_by(kind);
        // The first edit of a session computes the method's sample-side part (DeViSE, STAR) once.
        let t = Instant::now();
        let visual = visual_part_of(&run, &feats).unwrap();
        let visual_ms = t.elapsed().as_secs_f64() * 1000.0;
        let (mut enc, mut rebuild, mut score, mut figs, mut total) =
            (vec![], vec![], vec![], vec![], vec![]);
        for r in 0..repeats {
            let mut h = EditHistory::new(texts.clone());
            let new = format!("A person crouches and jumps straight up, attempt {r}.");
            match kind {
                MethodKind::Star => h.set(jump, Field::Name, Value::Text(format!("jump up {r}"))),
                MethodKind::InfoCpl => {
                    let mut p = texts.classes[jump].phrases.clone().unwrap();
                    p[0] = new;
                    h.set(jump, Field::Phrases, Value::List(p))
                }
                _ => h.set(jump, Field::Sentence, Value::Text(new)),
            };
            let start = Instant::now();
            let mut timed = Timed {
                inner: &mut encoder,
                ms: 0.0,
            };
            let out = embed_changes(h.current(), &[&original], used, &mut timed).unwrap();
            assert_eq!(out.encoded.len(), 1);
            let t_embed = start.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let changed = changed_classes(&original.embeddings, &out.set.embeddings).unwrap();
            assert_eq!(changed, [jump]);
            let p = rescored_classes(
                &base,
                &run,
                &out.set.embeddings,
                &feats,
                visual.as_ref(),
                &changed,
            )
            .unwrap();
            let t_score = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            std::hint::black_box(figures(&p));
            let t_fig = t.elapsed().as_secs_f64() * 1000.0;
            enc.push(timed.ms);
            rebuild.push(t_embed - timed.ms);
            score.push(t_score);
            figs.push(t_fig);
            total.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "{:<12} {:>6} {:>10} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            kind.title(),
            rows_n,
            if visual.is_some() {
                format!("{visual_ms:.0}")
            } else {
                "-".to_owned()
            },
            percentile(&mut enc, 0.5),
            percentile(&mut rebuild, 0.5),
            percentile(&mut score, 0.5),
            percentile(&mut figs, 0.5),
            percentile(&mut total, 0.5),
        );
    }
}
