//! The paper preset against the *official* SMIE, InfoCPL and STAR modules (YujieOuO/SMIE, damNull/InfoCPL,
//! cseeyangchen/STAR at the commits in the fixture), run by `tests/fixtures/official_parity.py` with PyTorch on fixed
//! weights and inputs: losses, scores, the codebook attention and gradients must agree to 1e-5. The weights are not
//! stored; both sides draw them from the same integer hash ([`unit`]).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::SeedableRng;
use serde_json::Value;
use skelzero::zsl::blocks::layer_norm_plain;
use skelzero::zsl::preset::{PaperDataset, Preset, TextShape, method_config};
use skelzero::zsl::{
    ClassEmbeddings, Dims, FeatureBatch, MethodConfig, MethodKind, StepContext, ZslMethod,
    index_tensor, infocpl, smie,
};

const TOL: f32 = 1e-5;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/official_parity.json")).unwrap()
}

/// The fixture generator's `unit`: splitmix64 of `(salt, i)` mapped to `[-1, 1)`.
fn unit(salt: u64, i: u64) -> f64 {
    let mut z = (salt.wrapping_mul(1_000_003))
        .wrapping_add(i)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    2.0 * ((z >> 11) as f64 / (1u64 << 53) as f64) - 1.0
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn tensor(v: &Value, shape: &[usize]) -> Tensor {
    Tensor::from_vec(floats(v), shape, &Device::Cpu).unwrap()
}

fn dim(v: &Value, key: &str) -> usize {
    v[key].as_u64().unwrap() as usize
}

/// Sets every var named by `rename(official name)` to the official parameter's values (same formula, salt and
/// fan-in as the generator); every var of `varmap` must be set.
fn load_official(varmap: &VarMap, params: &Value, rename: impl Fn(&str) -> String) {
    let data = varmap.data().lock().unwrap();
    let mut set = 0;
    for (name, p) in params.as_object().unwrap() {
        let ours = rename(name);
        let var = data
            .get(&ours)
            .unwrap_or_else(|| panic!("no var `{ours}` for official `{name}`"));
        let shape = usizes(&p["shape"]);
        let salt = p["salt"].as_u64().unwrap();
        let fan_in = p["fan_in"].as_f64().unwrap();
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n as u64)
            .map(|i| (unit(salt, i) / fan_in.sqrt()) as f32)
            .collect();
        assert_eq!(var.dims(), shape.as_slice(), "{ours}");
        var.set(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap())
            .unwrap();
        set += 1;
    }
    assert_eq!(
        set,
        data.len(),
        "every parameter comes from the official module"
    );
}

fn assert_close(what: &str, ours: &[f32], official: &[f32]) {
    assert_eq!(ours.len(), official.len(), "{what}: length");
    for (i, (a, b)) in ours.iter().zip(official).enumerate() {
        assert!(
            (a - b).abs() <= TOL * (1.0 + b.abs()),
            "{what}[{i}]: skelzero {a} vs official {b}"
        );
    }
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn var_grad(varmap: &VarMap, grads: &candle_core::backprop::GradStore, name: &str) -> Vec<f32> {
    let data = varmap.data().lock().unwrap();
    let var = data.get(name).unwrap_or_else(|| panic!("no var `{name}`"));
    flat(
        grads
            .get(var)
            .unwrap_or_else(|| panic!("no gradient for `{name}`")),
    )
}

fn smie_official_name(name: &str) -> String {
    name.replace("global_D.", "estimator.")
}

struct SmieSetup {
    method: smie::Smie,
    varmap: VarMap,
    n: usize,
    cv: usize,
    language: Tensor,
    labels: Vec<usize>,
}

fn smie_setup(o: &Value, margin: f64) -> SmieSetup {
    let (n, cv, d, c) = (
        dim(o, "n"),
        dim(o, "visual"),
        dim(o, "text"),
        dim(o, "classes"),
    );
    let MethodConfig::Smie(mut cfg) = method_config(
        MethodKind::Smie,
        Preset::Paper,
        PaperDataset::Ntu60,
        TextShape::default(),
    ) else {
        panic!("paper SMIE config")
    };
    cfg.margin = margin;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let method = smie::Smie::new(
        &cfg,
        Dims {
            visual: cv,
            text: d,
        },
        vb,
    )
    .unwrap();
    load_official(&varmap, &o["params"], smie_official_name);
    SmieSetup {
        method,
        varmap,
        n,
        cv,
        language: tensor(&o["language"], &[c, d]),
        labels: usizes(&o["labels"]),
    }
}

/// The paper preset's SMIE pairs a feature with the label-name embedding: names are the official language, the
/// sentences something else, so a run that read the sentences would fail.
fn name_classes(language: &Tensor) -> ClassEmbeddings {
    ClassEmbeddings::new(
        language.clone(),
        (language.ones_like().unwrap() * 0.3).unwrap(),
    )
}

#[test]
fn official_parity_smie_mi_temp_constrain_and_loss_with_gradients() {
    let f = fixture();
    let o = &f["smie"];
    for case in o["cases"].as_array().unwrap() {
        let margin = case["margin"].as_f64().unwrap();
        let s = smie_setup(o, margin);
        let feat0 = tensor(&o["feat0"], &[s.n, s.cv]);
        let feat1 = tensor(&o["feat1"], &[s.n, s.cv]);
        let labels_t = index_tensor(&s.labels, &Device::Cpu).unwrap();
        let seen_language = s.language.index_select(&labels_t, 0).unwrap();
        let mi = s.method.mi_global(&feat0, &seen_language).unwrap();
        let mi_m = s.method.mi_masked(&feat0, &feat1, &seen_language).unwrap();
        assert_close(
            "MI.forward",
            &flat(&mi),
            &floats(&case["mi"].clone().into_array()),
        );
        assert_close(
            "MI.temp_constrain",
            &flat(&mi_m),
            &floats(&case["mi_masked"].clone().into_array()),
        );
        let batch = FeatureBatch {
            pooled: feat0,
            masked: Some(feat1),
            map: None,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut ctx = StepContext {
            epoch: 0,
            rng: &mut rng,
            all_classes: None,
        };
        let loss = s
            .method
            .loss(&batch, &labels_t, &name_classes(&s.language), &mut ctx)
            .unwrap();
        assert_close(
            &format!("loss (margin {margin})"),
            &flat(&loss),
            &floats(&case["loss"].clone().into_array()),
        );
        let grads = loss.backward().unwrap();
        for (name, want) in case["grads"].as_object().unwrap() {
            let ours = var_grad(&s.varmap, &grads, &smie_official_name(name));
            assert_close(&format!("d loss / d {name}"), &ours, &floats(want));
        }
        let g0 = var_grad(&s.varmap, &grads, "estimator.l0.weight");
        let row0 = floats(&case["grad_l0_weight_row0"]);
        assert_close("d loss / d l0.weight[0]", &g0[..row0.len()], &row0);
    }
}

#[test]
fn official_parity_smie_get_acc_scores_without_layer_norm() {
    let f = fixture();
    let o = &f["smie"];
    let s = smie_setup(o, 0.1);
    let unseen = usizes(&o["unseen"]);
    let rows = o["test"].as_array().unwrap().len() / s.cv;
    let test = FeatureBatch::from_pooled(tensor(&o["test"], &[rows, s.cv]));
    let classes = name_classes(&s.language).select(&unseen).unwrap();
    let scores = s.method.scores(&test, &classes).unwrap();
    let want = floats(&o["test_scores"]);
    assert_close("get_acc scores", &flat(&scores), &want);
    let pred: Vec<usize> = scores
        .argmax(1)
        .unwrap()
        .to_vec1::<u32>()
        .unwrap()
        .into_iter()
        .map(|p| unseen[p as usize])
        .collect();
    assert_eq!(pred, usizes(&o["test_pred"]), "get_acc predictions");
    // The default preset normalises at inference, so it scores differently on the same weights: the test would
    // notice the paper preset falling back to it.
    let mut cfg = smie::SmieConfig {
        text: smie::SmieText::Names,
        ..Default::default()
    };
    cfg.ln_at_inference = true;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let dims = Dims {
        visual: s.cv,
        text: dim(o, "text"),
    };
    let ln = smie::Smie::new(&cfg, dims, vb).unwrap();
    load_official(&varmap, &o["params"], smie_official_name);
    let other = flat(&ln.scores(&test, &classes).unwrap());
    assert!(
        other.iter().zip(&want).any(|(a, b)| (a - b).abs() > 1e-4),
        "LayerNorm at inference must change the scores"
    );
}

fn infocpl_official_name(name: &str) -> String {
    // proj.{b}.* -> branch.{b}.proj.*, global_D.{b}.lX.* -> branch.{b}.estimator.lX.*
    let parts: Vec<&str> = name.splitn(3, '.').collect();
    match parts.as_slice() {
        ["proj", b, rest] => format!("branch.{b}.proj.{rest}"),
        ["global_D", b, rest] => format!("branch.{b}.estimator.{rest}"),
        _ => panic!("unexpected official InfoCPL parameter `{name}`"),
    }
}

struct InfoSetup {
    method: infocpl::InfoCpl,
    varmap: VarMap,
    visual: Tensor,
    classes: ClassEmbeddings,
    labels: Vec<usize>,
}

fn infocpl_setup(o: &Value) -> InfoSetup {
    let (n, cv, d, c, k) = (
        dim(o, "n"),
        dim(o, "visual"),
        dim(o, "text"),
        dim(o, "classes"),
        dim(o, "codebook"),
    );
    let series = usizes(&o["series"]);
    let MethodConfig::InfoCpl(mut cfg) = method_config(
        MethodKind::InfoCpl,
        Preset::Paper,
        PaperDataset::Ntu60,
        TextShape {
            codebook: Some(k),
            parts: None,
            classes: None,
        },
    ) else {
        panic!("paper InfoCPL config")
    };
    assert_eq!(cfg.hidden, [1024, 512], "official estimator 2D-1024-512-1");
    assert_eq!(cfg.warmup_epochs, 15, "official reverse_ep");
    assert!(cfg.shared_negatives);
    // The fixture runs two of the official branches (the series [1, 5, ..., 55] would only repeat them).
    assert_eq!(&cfg.topk[..2], series.as_slice());
    cfg.topk = series;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let method = infocpl::InfoCpl::new(
        &cfg,
        Dims {
            visual: cv,
            text: d,
        },
        vb,
    )
    .unwrap();
    load_official(&varmap, &o["params"], infocpl_official_name);
    let language = tensor(&o["language"], &[c, k + 1, d]);
    let phrases = language.narrow(1, 0, k).unwrap().contiguous().unwrap();
    let motion = language.narrow(1, k, 1).unwrap().squeeze(1).unwrap();
    let names = Tensor::zeros((c, d), DType::F32, &Device::Cpu).unwrap();
    let mut classes = ClassEmbeddings::new(names.clone(), names);
    classes.phrases = Some(phrases);
    classes.motion = Some(motion);
    InfoSetup {
        method,
        varmap,
        visual: tensor(&o["visual_in"], &[n, cv]),
        classes,
        labels: usizes(&o["labels"]),
    }
}

#[test]
fn official_parity_infocpl_info_nce_loss_and_gradients() {
    let f = fixture();
    let o = &f["infocpl"];
    let s = infocpl_setup(o);
    let labels_t = index_tensor(&s.labels, &Device::Cpu).unwrap();
    let batch = FeatureBatch::from_pooled(s.visual.clone());
    for case in o["cases"].as_array().unwrap() {
        let epoch = case["epoch"].as_u64().unwrap() as usize;
        let mut rng = rand::rngs::StdRng::seed_from_u64(epoch as u64);
        let mut ctx = StepContext {
            epoch,
            rng: &mut rng,
            all_classes: None,
        };
        let loss = s
            .method
            .loss(&batch, &labels_t, &s.classes, &mut ctx)
            .unwrap();
        assert_close(
            &format!("forward_v2 loss (epoch {epoch})"),
            &flat(&loss),
            &floats(&case["loss"].clone().into_array()),
        );
        let grads = loss.backward().unwrap();
        for (name, want) in case["grads"].as_object().unwrap() {
            let ours = var_grad(&s.varmap, &grads, &infocpl_official_name(name));
            assert_close(
                &format!("d loss / d {name} (epoch {epoch})"),
                &ours,
                &floats(want),
            );
        }
    }
}

#[test]
fn official_parity_infocpl_codebook_attention() {
    let f = fixture();
    let o = &f["infocpl"];
    let s = infocpl_setup(o);
    let data = s.varmap.data().lock().unwrap();
    let w = data["branch.0.proj.weight"].as_tensor().clone();
    let b = data["branch.0.proj.bias"].as_tensor().clone();
    let u = layer_norm_plain(
        &s.visual
            .matmul(&w.t().unwrap())
            .unwrap()
            .broadcast_add(&b)
            .unwrap(),
    )
    .unwrap();
    let phrases = s.classes.phrases.as_ref().unwrap();
    for case in o["attention"].as_array().unwrap() {
        let k = case["k"].as_u64().unwrap() as usize;
        let rho = case["rho"].as_f64().unwrap();
        let ours = infocpl::codebook_attention(&u, phrases, k, rho).unwrap();
        assert_close(
            &format!("att_lang_aggregation_multi (k {k}, rho {rho})"),
            &flat(&ours),
            &floats(&case["out"]),
        );
    }
}

#[test]
fn official_parity_shared_negatives_take_the_same_ranks_for_every_anchor() {
    // Anchors of class 0 and 1 each have 4 other-class rows; 2 shared ranks pick the same positions in each list.
    let labels = [0, 1, 2, 0, 1, 2];
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let neg = infocpl::sample_negatives_shared(&labels, 2, &mut rng);
    let pools: Vec<Vec<usize>> = labels
        .iter()
        .map(|&y| (0..6).filter(|&j| labels[j] != y).collect())
        .collect();
    let ranks: Vec<usize> = neg[0]
        .iter()
        .map(|j| pools[0].iter().position(|p| p == j).unwrap())
        .collect();
    assert_eq!(ranks.len(), 2);
    for (i, n) in neg.iter().enumerate() {
        let r: Vec<usize> = n
            .iter()
            .map(|j| pools[i].iter().position(|p| p == j).unwrap())
            .collect();
        assert_eq!(r, ranks, "anchor {i}");
        assert!(n.iter().all(|&j| labels[j] != labels[i]));
    }
}

// STAR's cases are in their own file, to keep each under the project's size limit.
#[path = "official_parity/star.rs"]
mod star_parity;

trait IntoArray {
    fn into_array(self) -> Value;
}

impl IntoArray for Value {
    /// A scalar as a one-element array, for [`floats`].
    fn into_array(self) -> Value {
        Value::Array(vec![self])
    }
}
