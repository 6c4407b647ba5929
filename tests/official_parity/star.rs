//! STAR's paper preset against the official `ModelMatch.forward`, `loss_cal` and `get_gzsl_acc`
//! (cseeyangchen/STAR, fixture key `star`); helpers are the parent file's.

use super::*;
use skelzero::zsl::star;

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
