//! Every method's loss and scores against the independent numpy oracle (`tests/fixtures/zsl_oracle.py`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::SeedableRng;
use serde_json::Value;
use skelzero::zsl::{
    ClassEmbeddings, Dims, FeatureBatch, MethodConfig, StepContext, devise, infocpl, relation,
    smie, star,
};

const TOL: f64 = 1e-5;

fn oracle() -> Value {
    let text = include_str!("fixtures/zsl_oracle.json");
    serde_json::from_str(text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn tensor(v: &Value, shape: &[usize]) -> Tensor {
    Tensor::from_vec(floats(v), shape, &Device::Cpu).unwrap()
}

fn weights(v: &Value) -> VarBuilder<'static> {
    let mut map = HashMap::new();
    for (k, t) in v.as_object().unwrap() {
        let shape: Vec<usize> = t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        map.insert(k.clone(), tensor(&t["data"], &shape));
    }
    VarBuilder::from_tensors(map, DType::F32, &Device::Cpu)
}

struct Common {
    n: usize,
    cv: usize,
    d: usize,
    c: usize,
    labels: Vec<usize>,
    labels_t: Tensor,
    visual: Tensor,
    masked: Tensor,
    sentences: Tensor,
}

fn common(o: &Value) -> Common {
    let c = &o["common"];
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    let (n, cv, d, nc) = (u("N"), u("CV"), u("D"), u("C"));
    let labels: Vec<usize> = c["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let lt: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
    Common {
        n,
        cv,
        d,
        c: nc,
        labels,
        labels_t: Tensor::from_vec(lt, n, &Device::Cpu).unwrap(),
        visual: tensor(&c["visual"], &[n, cv]),
        masked: tensor(&c["masked"], &[n, cv]),
        sentences: tensor(&c["sentences"], &[nc, d]),
    }
}

fn classes(c: &Common) -> ClassEmbeddings {
    ClassEmbeddings {
        names: c.sentences.clone(),
        sentences: c.sentences.clone(),
        parts: None,
        phrases: None,
        motion: None,
    }
}

fn scalar(t: &Tensor) -> f64 {
    f64::from(t.to_scalar::<f32>().unwrap())
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() < TOL, "{what}: got {got}, oracle {want}");
}

fn assert_scores(got: &Tensor, want: &Value, what: &str) {
    let g = got.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let w = floats(want);
    assert_eq!(g.len(), w.len(), "{what}: size");
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() < TOL as f32,
            "{what}[{i}]: got {a}, oracle {b}"
        );
    }
}

fn ctx_rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(0)
}

#[test]
fn devise_hinge_rank_loss_matches_oracle() {
    let o = oracle();
    let c = common(&o);
    // The oracle checks the hinge rank loss on raw dot products.
    let cfg = devise::DeviseConfig {
        loss: devise::DeviseLoss::Hinge,
        margin: o["devise"]["margin"].as_f64().unwrap(),
        ..Default::default()
    };
    let m = MethodConfig::Devise(cfg)
        .build(
            Dims {
                visual: c.cv,
                text: c.d,
            },
            weights(&o["devise"]["weights"]),
        )
        .unwrap();
    let batch = FeatureBatch::from_pooled(c.visual.clone());
    let mut rng = ctx_rng();
    let loss = m
        .loss(
            &batch,
            &c.labels_t,
            &classes(&c),
            &mut StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: None,
            },
        )
        .unwrap();
    assert_close(
        scalar(&loss),
        o["devise"]["loss"].as_f64().unwrap(),
        "devise loss",
    );
    assert_scores(
        &m.scores(&batch, &classes(&c)).unwrap(),
        &o["devise"]["scores"],
        "devise scores",
    );
}

#[test]
fn relationnet_mse_loss_matches_oracle() {
    let o = oracle();
    let c = common(&o);
    let h = &o["relation"]["hidden"];
    let cfg = relation::RelationConfig {
        text_hidden: h[0].as_u64().unwrap() as usize,
        relation_hidden: h[1].as_u64().unwrap() as usize,
    };
    let m = MethodConfig::RelationNet(cfg)
        .build(
            Dims {
                visual: c.cv,
                text: c.d,
            },
            weights(&o["relation"]["weights"]),
        )
        .unwrap();
    let batch = FeatureBatch::from_pooled(c.visual.clone());
    let mut rng = ctx_rng();
    let loss = m
        .loss(
            &batch,
            &c.labels_t,
            &classes(&c),
            &mut StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: None,
            },
        )
        .unwrap();
    assert_close(
        scalar(&loss),
        o["relation"]["loss"].as_f64().unwrap(),
        "relation loss",
    );
    assert_scores(
        &m.scores(&batch, &classes(&c)).unwrap(),
        &o["relation"]["scores"],
        "relation scores",
    );
}

fn smie_method(o: &Value, c: &Common) -> Box<dyn skelzero::zsl::ZslMethod> {
    let s = &o["smie"];
    let cfg = smie::SmieConfig {
        hidden: [
            s["hidden"][0].as_u64().unwrap() as usize,
            s["hidden"][1].as_u64().unwrap() as usize,
        ],
        lambda: s["lambda"].as_f64().unwrap(),
        margin: s["margin"].as_f64().unwrap(),
        mask_frames: 1,
        ..Default::default()
    };
    MethodConfig::Smie(cfg)
        .build(
            Dims {
                visual: c.cv,
                text: c.d,
            },
            weights(&s["weights"]),
        )
        .unwrap()
}

#[test]
fn smie_jsd_mi_and_temporal_hinge_match_oracle() {
    let o = oracle();
    let c = common(&o);
    let m = smie_method(&o, &c);
    let mut rng = ctx_rng();
    let mut batch = FeatureBatch::from_pooled(c.visual.clone());
    let l0 = m
        .loss(
            &batch,
            &c.labels_t,
            &classes(&c),
            &mut StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: None,
            },
        )
        .unwrap();
    assert_close(
        scalar(&l0),
        o["smie"]["loss_no_mask"].as_f64().unwrap(),
        "smie -MI",
    );
    batch.masked = Some(c.masked.clone());
    let l1 = m
        .loss(
            &batch,
            &c.labels_t,
            &classes(&c),
            &mut StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: None,
            },
        )
        .unwrap();
    assert_close(
        scalar(&l1),
        o["smie"]["loss"].as_f64().unwrap(),
        "smie total",
    );
    assert_scores(
        &m.scores(&batch, &classes(&c)).unwrap(),
        &o["smie"]["scores"],
        "smie scores",
    );
}

#[test]
fn smie_motion_attention_matches_oracle() {
    let o = oracle();
    let seq = floats(&o["motion"]["seq"]);
    let att = smie::motion_attention(&seq, 6);
    for (a, b) in att.iter().zip(floats(&o["motion"]["attention"])) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
    // Masking: the highest-attention frame never survives, and T - 2m frames remain in time order.
    let mut rng = ctx_rng();
    let keep = smie::keyframe_mask(&att, 1, &mut rng);
    assert_eq!(keep.len(), 4);
    assert!(keep.windows(2).all(|w| w[0] < w[1]));
    let top = (0..6).max_by(|&a, &b| att[a].total_cmp(&att[b])).unwrap();
    assert!(!keep.contains(&top));
}

fn infocpl_setup(o: &Value, c: &Common) -> (infocpl::InfoCpl, ClassEmbeddings, usize) {
    let s = &o["infocpl"];
    let k = s["K"].as_u64().unwrap() as usize;
    let cfg = infocpl::InfoCplConfig {
        topk: s["topk"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect(),
        warmup_epochs: 1,
        negatives: 2,
        hidden: [
            s["hidden"][0].as_u64().unwrap() as usize,
            s["hidden"][1].as_u64().unwrap() as usize,
        ],
        ..Default::default()
    };
    let m = infocpl::InfoCpl::new(
        &cfg,
        Dims {
            visual: c.cv,
            text: c.d,
        },
        weights(&s["weights"]),
    )
    .unwrap();
    let mut cl = classes(c);
    cl.phrases = Some(tensor(&s["phrases"], &[c.c, k, c.d]));
    cl.motion = Some(tensor(&s["motion"], &[c.c, c.d]));
    (m, cl, k)
}

#[test]
fn infocpl_infonce_with_x_sampling_matches_oracle_in_warmup_and_after() {
    let o = oracle();
    let c = common(&o);
    let (m, cl, _) = infocpl_setup(&o, &c);
    let negs: Vec<Vec<usize>> = o["infocpl"]["negatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        })
        .collect();
    let batch = FeatureBatch::from_pooled(c.visual.clone());
    let warm = m
        .loss_with_negatives(&batch, &c.labels, &cl, 0, &negs)
        .unwrap();
    assert_close(
        scalar(&warm),
        o["infocpl"]["loss_warmup"].as_f64().unwrap(),
        "infocpl warm-up loss",
    );
    let main = m
        .loss_with_negatives(&batch, &c.labels, &cl, 1, &negs)
        .unwrap();
    assert_close(
        scalar(&main),
        o["infocpl"]["loss"].as_f64().unwrap(),
        "infocpl loss",
    );
    use skelzero::zsl::ZslMethod;
    assert_scores(
        &m.scores(&batch, &cl).unwrap(),
        &o["infocpl"]["scores"],
        "infocpl scores",
    );
}

#[test]
fn star_losses_match_oracle() {
    let o = oracle();
    let c = common(&o);
    let s = &o["star"];
    let u = |k: &str| s[k].as_u64().unwrap() as usize;
    let cfg = star::StarConfig {
        parts: 2,
        prompts: u("prompts"),
        dim: u("dim"),
        heads: u("heads"),
        hidden: u("hidden"),
        alpha: 0.1,
        beta: 0.1,
        logit_scale: s["logit_scale"].as_f64().unwrap(),
        ..Default::default()
    };
    let m = MethodConfig::Star(cfg)
        .build(
            Dims {
                visual: c.cv,
                text: c.d,
            },
            weights(&s["weights"]),
        )
        .unwrap();
    let shape: Vec<usize> = s["map_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let batch = FeatureBatch {
        pooled: c.visual.clone(),
        masked: None,
        map: Some(tensor(&s["map"], &shape)),
    };
    let cl = ClassEmbeddings {
        names: tensor(&s["names"], &[c.c, c.d]),
        sentences: c.sentences.clone(),
        parts: Some(tensor(&s["parts"], &[c.c, 2, c.d])),
        phrases: None,
        motion: None,
    };
    let mut rng = ctx_rng();
    let loss = m
        .loss(
            &batch,
            &c.labels_t,
            &cl,
            &mut StepContext {
                epoch: 0,
                rng: &mut rng,
                all_classes: None,
            },
        )
        .unwrap();
    assert_close(scalar(&loss), s["loss"].as_f64().unwrap(), "star loss");
    assert_scores(&m.scores(&batch, &cl).unwrap(), &s["scores"], "star scores");
    let _ = c.n;
}
