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
    index_tensor, infocpl, smie, star,
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

// ---- STAR ----

/// The generator's `input_value`: `1.5 * unit(1000 + salt, i)`, for an input stored as `[salt, shape...]`.
fn star_input(spec: &Value) -> Tensor {
    let spec = usizes(spec);
    let (salt, shape) = (spec[0] as u64, &spec[1..]);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n as u64)
        .map(|i| (1.5 * unit(1000 + salt, i)) as f32)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// The official parameter `name`, drawn as the generator drew it.
fn official_param(params: &Value, name: &str) -> Tensor {
    let p = &params[name];
    assert!(p.is_object(), "no official parameter `{name}`");
    let shape = usizes(&p["shape"]);
    let salt = p["salt"].as_u64().unwrap();
    let fan_in = p["fan_in"].as_f64().unwrap();
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n as u64)
        .map(|i| (unit(salt, i) / fan_in.sqrt()) as f32)
        .collect();
    Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
}

/// The official source of one of skelzero's STAR parameters: a parameter name and, for the attention's packed
/// `in_proj_bias`, which third of it (q, k, v).
fn star_official_source(ours: &str) -> (String, Option<usize>) {
    let parts: Vec<&str> = ours.split('.').collect();
    match parts.as_slice() {
        ["name", "0", leaf] => (format!("crossmodal_align1.{leaf}"), None),
        ["name", "1", leaf] => (format!("crossmodal_align2.{leaf}"), None),
        ["part", i, "prompts"] => (format!("body_part_prompts.{i}"), None),
        ["part", i, "w"] => (format!("body_part_w.{i}"), None),
        ["part", i, "class_prompt"] => (format!("pd_prompt.{i}"), None),
        ["part", i, "attn", qkv @ ("q" | "k" | "v"), "weight"] => (
            format!("body_part_st_attention_networks.{i}.{qkv}_proj_weight"),
            None,
        ),
        ["part", i, "attn", qkv @ ("q" | "k" | "v"), "bias"] => (
            format!("body_part_st_attention_networks.{i}.in_proj_bias"),
            Some(["q", "k", "v"].iter().position(|x| x == qkv).unwrap()),
        ),
        ["part", i, "attn", "out", leaf] => (
            format!("body_part_st_attention_networks.{i}.out_proj.{leaf}"),
            None,
        ),
        ["part", i, "ffn", "0", leaf] => (format!("body_part_mapping_matrix1.{i}.{leaf}"), None),
        ["part", i, "ffn", "1", leaf] => (format!("body_part_mapping_matrix2.{i}.{leaf}"), None),
        ["part", i, "text", "0", leaf] => (format!("pd_mapping_matrix1.{i}.{leaf}"), None),
        ["part", i, "text", "1", leaf] => (format!("pd_mapping_matrix2.{i}.{leaf}"), None),
        _ => panic!("no official STAR parameter for `{ours}`"),
    }
}

struct StarSetup {
    method: star::Star,
    varmap: VarMap,
    batch: FeatureBatch,
    labels: Tensor,
    seen_classes: ClassEmbeddings,
    /// Seen classes, then unseen: the run's class list, whose rows the per-class prompts follow.
    run_classes: ClassEmbeddings,
    /// Every class in the official (global id) order.
    official_classes: ClassEmbeddings,
    /// The run's class list as official ids.
    order: Vec<usize>,
}

fn star_setup(o: &Value, transductive: bool) -> StarSetup {
    let (n, cv, d, c) = (
        dim(o, "n"),
        dim(o, "visual"),
        dim(o, "text"),
        dim(o, "classes"),
    );
    let MethodConfig::Star(mut cfg) = method_config(
        MethodKind::Star,
        Preset::Paper,
        PaperDataset::Ntu60,
        TextShape {
            codebook: None,
            parts: Some(6),
            classes: Some(c),
        },
    ) else {
        panic!("paper STAR config")
    };
    // model/shiftgcn_match_ntu.py ModelMatch's sizes and initialisation.
    assert_eq!(
        (cfg.prompts, cfg.dim, cfg.heads, cfg.hidden),
        (100, 768, 4, 256)
    );
    assert_eq!(
        cfg.class_prompts, c,
        "one semantic-part prompt per (class, part)"
    );
    assert!(cfg.w_unit_init);
    assert_eq!((cfg.alpha, cfg.beta, cfg.logit_scale), (0.1, 0.1, 1.0));
    assert!(!cfg.transductive_text, "transductive only when asked for");
    cfg.transductive_text = transductive;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let method = star::Star::new(
        &cfg,
        Dims {
            visual: cv,
            text: d,
        },
        vb,
    )
    .unwrap();
    let seen = usizes(&o["seen"]);
    let unseen = usizes(&o["unseen"]);
    let order: Vec<usize> = seen.iter().chain(&unseen).copied().collect();
    {
        let data = varmap.data().lock().unwrap();
        let order_t = index_tensor(&order, &Device::Cpu).unwrap();
        for (name, var) in data.iter() {
            let (official, third) = star_official_source(name);
            let mut t = official_param(&o["params"], &official);
            if let Some(k) = third {
                let w = t.dim(0).unwrap() / 3;
                t = t.narrow(0, k * w, w).unwrap();
            }
            if name.ends_with("class_prompt") {
                // Row r of skelzero's table is the r-th class of the run's list.
                t = t.index_select(&order_t, 0).unwrap();
            }
            assert_eq!(var.dims(), t.dims(), "{name} <- {official}");
            var.set(&t).unwrap();
        }
    }
    let map = star_input(&o["inputs"]["map"]) // (N, Cv, T', V) as the backbone gives it
        .permute((0, 2, 3, 1))
        .unwrap()
        .contiguous()
        .unwrap();
    let batch = FeatureBatch {
        pooled: map.mean(1).unwrap().mean(1).unwrap(),
        masked: None,
        map: Some(map),
    };
    let names = star_input(&o["inputs"]["names"]);
    let mut official_classes = ClassEmbeddings::new(names.clone(), names);
    official_classes.parts = Some(star_input(&o["inputs"]["parts"]));
    let labels: Vec<usize> = usizes(&o["labels"])
        .iter()
        .map(|l| seen.iter().position(|s| s == l).unwrap())
        .collect();
    assert_eq!(batch.len(), n);
    StarSetup {
        method,
        varmap,
        batch,
        labels: index_tensor(&labels, &Device::Cpu).unwrap(),
        seen_classes: official_classes.select(&seen).unwrap(),
        run_classes: official_classes.select(&order).unwrap(),
        official_classes,
        order,
    }
}

/// Gradients are compared on the scale of the official gradient (their entries are around 1e-5 here, so an
/// absolute 1e-5 would accept anything): `|ours - official| <= 1e-5 * max |official|`.
fn assert_grad_close(what: &str, ours: &[f32], official: &[f32]) {
    const REL: f32 = 1e-5;
    assert_eq!(ours.len(), official.len(), "{what}: length");
    let scale = official.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(scale > 0.0, "{what}: the official gradient is zero");
    for (i, (a, b)) in ours.iter().zip(official).enumerate() {
        assert!(
            (a - b).abs() <= REL * scale,
            "{what}[{i}]: skelzero {a} vs official {b} (scale {scale})"
        );
    }
}

#[test]
fn official_parity_star_loss_cal_terms_total_and_gradients() {
    let f = fixture();
    let o = &f["star"];
    // The official loss is transductive on the text side (loss_pd_label over every class).
    let s = star_setup(o, true);
    let (mpce, sce, gce) = s
        .method
        .loss_terms(&s.batch, &s.labels, &s.seen_classes, Some(&s.run_classes))
        .unwrap();
    let want = &o["losses"];
    assert_close(
        "loss_part_ce",
        &flat(&mpce),
        &[want["part_ce"].as_f64().unwrap() as f32],
    );
    assert_close(
        "loss_pd_label",
        &flat(&sce),
        &[want["pd_label"].as_f64().unwrap() as f32],
    );
    assert_close(
        "loss_global_ce",
        &flat(&gce),
        &[want["global_ce"].as_f64().unwrap() as f32],
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut ctx = StepContext {
        epoch: 0,
        rng: &mut rng,
        all_classes: Some(&s.run_classes),
    };
    let loss = s
        .method
        .loss(&s.batch, &s.labels, &s.seen_classes, &mut ctx)
        .unwrap();
    assert_close(
        "total loss",
        &flat(&loss),
        &[want["total"].as_f64().unwrap() as f32],
    );
    let grads = loss.backward().unwrap();
    for (name, want) in o["grads"].as_object().unwrap() {
        let want = floats(want);
        let ours: Vec<f32> = if name.ends_with("in_proj_bias") {
            let i = name.split('.').nth(1).unwrap();
            ["q", "k", "v"]
                .iter()
                .flat_map(|x| var_grad(&s.varmap, &grads, &format!("part.{i}.attn.{x}.bias")))
                .collect()
        } else {
            let ours = skelzero_star_name(name);
            var_grad(&s.varmap, &grads, &ours)
        };
        assert_grad_close(&format!("d loss / d {name}"), &ours, &want);
    }
    for (name, row) in o["grad_rows"].as_object().unwrap() {
        let mut r = row["row"].as_u64().unwrap() as usize;
        if name.starts_with("pd_prompt") {
            // The official row is a global class id; skelzero's follows the run's class list.
            r = s.order.iter().position(|&c| c == r).unwrap();
        }
        let ours = var_grad(&s.varmap, &grads, &skelzero_star_name(name));
        let want = floats(&row["values"]);
        let w = want.len();
        assert_grad_close(
            &format!("d loss / d {name}[{r}]"),
            &ours[r * w..(r + 1) * w],
            &want,
        );
    }
}

/// skelzero's name of an official STAR parameter the fixture holds gradients of.
fn skelzero_star_name(official: &str) -> String {
    let p: Vec<&str> = official.split('.').collect();
    match p.as_slice() {
        ["crossmodal_align1", leaf] => format!("name.0.{leaf}"),
        ["crossmodal_align2", leaf] => format!("name.1.{leaf}"),
        ["pd_mapping_matrix1", i, leaf] => format!("part.{i}.text.0.{leaf}"),
        ["pd_mapping_matrix2", i, leaf] => format!("part.{i}.text.1.{leaf}"),
        ["body_part_mapping_matrix1", i, leaf] => format!("part.{i}.ffn.0.{leaf}"),
        ["body_part_mapping_matrix2", i, leaf] => format!("part.{i}.ffn.1.{leaf}"),
        ["body_part_st_attention_networks", i, "out_proj", leaf] => {
            format!("part.{i}.attn.out.{leaf}")
        }
        ["body_part_w", i] => format!("part.{i}.w"),
        ["body_part_prompts", i] => format!("part.{i}.prompts"),
        ["pd_prompt", i] => format!("part.{i}.class_prompt"),
        _ => panic!("unmapped official STAR parameter `{official}`"),
    }
}

#[test]
fn official_parity_star_get_gzsl_acc_scores() {
    let f = fixture();
    let o = &f["star"];
    let s = star_setup(o, false);
    // get_gzsl_acc: cos(sum_p z_p, crossmodal_align(names)) over every class, in global id order.
    let scores = s.method.scores(&s.batch, &s.official_classes).unwrap();
    assert_close("get_gzsl_acc scores", &flat(&scores), &floats(&o["scores"]));
    let pred: Vec<usize> = scores
        .argmax(1)
        .unwrap()
        .to_vec1::<u32>()
        .unwrap()
        .into_iter()
        .map(|p| p as usize)
        .collect();
    assert_eq!(pred, usizes(&o["pred"]), "get_gzsl_acc predictions");
}

#[test]
fn official_parity_star_inductive_paper_run_keeps_the_official_mpce_and_gce() {
    // Without --transductive-text the paper preset changes SCE only (over the seen classes), and the unseen
    // classes' prompts get no gradient.
    let f = fixture();
    let o = &f["star"];
    let s = star_setup(o, false);
    let (mpce, sce, gce) = s
        .method
        .loss_terms(&s.batch, &s.labels, &s.seen_classes, None)
        .unwrap();
    let want = &o["losses"];
    assert_close(
        "loss_part_ce",
        &flat(&mpce),
        &[want["part_ce"].as_f64().unwrap() as f32],
    );
    assert_close(
        "loss_global_ce",
        &flat(&gce),
        &[want["global_ce"].as_f64().unwrap() as f32],
    );
    let official_sce = want["pd_label"].as_f64().unwrap() as f32;
    assert!(
        (flat(&sce)[0] - official_sce).abs() > 1e-3,
        "seen-only SCE differs from the official all-class loss_pd_label"
    );
    let loss = ((mpce + (sce * 0.1).unwrap()).unwrap() + (gce * 0.1).unwrap()).unwrap();
    let grads = loss.backward().unwrap();
    let g = var_grad(&s.varmap, &grads, "part.0.class_prompt");
    let d = dim(o, "text");
    let n_seen = s.seen_classes.num_classes();
    assert!(g[..n_seen * d].iter().any(|x| x.abs() > 0.0));
    assert!(
        g[n_seen * d..].iter().all(|&x| x == 0.0),
        "unseen prompts untouched"
    );
}

trait IntoArray {
    fn into_array(self) -> Value;
}

impl IntoArray for Value {
    /// A scalar as a one-element array, for [`floats`].
    fn into_array(self) -> Value {
        Value::Array(vec![self])
    }
}
