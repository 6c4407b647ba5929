//! A run's `predictions.json`, read as the explorer and `skelzero eval` read it, then every figure the views show
//! (metrics, both confusion matrices, top-k rows) computed from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skelzero::pipeline::predictions::{Predictions, Setting};
use skelzero_fuzz::{CappedAlloc, put_file, scratch_dir, with_alloc_limit};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir("predictions");
    put_file(&dir, "predictions.json", data);
    let file = dir.join("predictions.json");
    with_alloc_limit(data.len(), 64, || match Predictions::load(&dir) {
        Ok(p) => {
            let m = p.metrics();
            for v in [
                m.zsl_accuracy,
                m.seen_accuracy,
                m.unseen_accuracy,
                m.harmonic,
            ] {
                assert!(v.is_finite() && (0.0..=1.0).contains(&v), "{m:?}");
            }
            for setting in [Setting::Zsl, Setting::Gzsl] {
                let c = p.confusion(setting);
                let k = c.size();
                for t in 0..k.min(64) {
                    let f = c.row_fraction(t, 0);
                    assert!(f.is_finite());
                }
                for i in 0..p.num_samples().min(64) {
                    let top = p.top_k(i, 5, setting);
                    assert!(top.len() <= 5);
                    let _ = p.predicted(i, setting);
                }
            }
            for class in p.classes.iter().take(64) {
                let _ = p.class_name(*class, &[]);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(&file.to_string_lossy().into_owned()), "{msg}");
        }
    });
});
