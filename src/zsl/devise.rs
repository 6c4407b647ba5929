//! DeViSE (Frome et al., NeurIPS 2013), the linear-compatibility baseline of SynSE, SMIE, InfoCPL and STAR.
//!
//! A linear map `M` projects the visual feature into the text space; compatibility is the dot product
//! `s(v, t) = t^T M v` with the L2-normalised class sentence `t`. Training uses DeViSE's hinge rank loss
//!
//! `L = 1/N sum_i sum_{j != y_i} max(0, margin - s(v_i, t_{y_i}) + s(v_i, t_j))`
//!
//! over the classes of the batch's class set.
//!
//! The `softmax` loss ([`DeviseLoss::Softmax`]) standardises the visual feature with the training set's per-channel
//! mean and standard deviation (kept in the run as `standardize.mean` / `standardize.std`, so inference applies the
//! same statistics), scores by the cosine `cos(M v', t)` and trains a softmax cross-entropy over the class set on
//! `cos / temperature`. Which loss a run uses is chosen on seen-class validation (see `DeviseConfig::default`).

use candle_core::{D, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};

use super::blocks::{l2_normalize, linear};
use super::loss::{check_labels, cross_entropy, labels_vec, one_hot};
use super::{
    ClassEmbeddings, Dims, FeatureBatch, JointEmbedding, JointSpace, MethodKind, ParamInit,
    Rescoring, Result, StepContext, ZslError, ZslMethod,
};

/// DeViSE's training loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviseLoss {
    /// The paper's hinge rank loss on raw dot products `t^T M v`.
    Hinge,
    /// Softmax cross-entropy over `cos(M v', t) / temperature` on standardised features `v'`.
    #[default]
    Softmax,
}

impl DeviseLoss {
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "hinge" => Some(Self::Hinge),
            "softmax" => Some(Self::Softmax),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviseConfig {
    /// The loss. Default `softmax`: on msr1 (ST-GCN features, MiniLM texts, seed 0) seen-class validation picked it
    /// over the hinge (see the README's DeViSE section for the figures). A run saved before this option existed has
    /// no `loss` in its config.toml and was trained with the hinge, so a missing `loss` reads as `hinge`.
    #[serde(default = "hinge")]
    pub loss: DeviseLoss,
    /// Hinge margin (0.1 in the DeViSE paper).
    pub margin: f64,
    /// Softmax temperature on the cosine. 4 is the best of {0.05, 0.1, 0.2, 0.5, 1, 2, 4} on msr1's seen-class
    /// validation; from 0.5 up the figures differ by under one point (the README's DeViSE paragraph).
    pub temperature: f64,
}

impl Default for DeviseConfig {
    fn default() -> Self {
        Self {
            loss: DeviseLoss::default(),
            margin: 0.1,
            temperature: 4.0,
        }
    }
}

fn hinge() -> DeviseLoss {
    DeviseLoss::Hinge
}

/// The training set's per-channel statistics the softmax loss standardises with.
struct Standardize {
    mean: Tensor,
    std: Tensor,
}

pub struct Devise {
    proj: Linear,
    cfg: DeviseConfig,
    standardize: Option<Standardize>,
}

/// DeViSE's parameters other than linear layers: the standardisation statistics (identity until
/// [`set_feature_statistics`] fills them from the training features).
pub fn param_init(leaf: &str, _dims: &[usize]) -> Option<ParamInit> {
    match leaf {
        "mean" => Some(ParamInit::Zeros),
        "std" => Some(ParamInit::Ones),
        _ => None,
    }
}

/// Fills a DeViSE's `standardize.mean` / `standardize.std` (when it has them) from the training features: the
/// per-channel mean and population standard deviation (floored at 1e-6 so a constant channel stays finite). They
/// are not trained (the method detaches them), so they stay as set and are saved with the run.
pub fn set_feature_statistics(varmap: &candle_nn::VarMap, train: &FeatureBatch) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| ZslError::Invalid("poisoned var map".into()))?;
    let (Some(mean_var), Some(std_var)) =
        (data.get("standardize.mean"), data.get("standardize.std"))
    else {
        return Ok(());
    };
    let x = &train.pooled;
    let mean = x.mean_keepdim(0)?;
    let std = x
        .broadcast_sub(&mean)?
        .sqr()?
        .mean_keepdim(0)?
        .sqrt()?
        .clamp(1e-6, f64::MAX)?;
    mean_var.set(&mean.squeeze(0)?)?;
    std_var.set(&std.squeeze(0)?)?;
    Ok(())
}

impl Devise {
    pub fn new(cfg: &DeviseConfig, dims: Dims, vb: VarBuilder) -> Result<Self> {
        if cfg.loss == DeviseLoss::Softmax && (cfg.temperature.is_nan() || cfg.temperature <= 0.0) {
            return Err(ZslError::Invalid(format!(
                "DeViSE: temperature must be positive, got {}",
                cfg.temperature
            )));
        }
        let standardize = match cfg.loss {
            DeviseLoss::Hinge => None,
            DeviseLoss::Softmax => {
                let vb = vb.pp("standardize");
                let get = |name: &str| -> Result<Tensor> {
                    let init = param_init(name, &[dims.visual]).ok_or_else(|| {
                        ZslError::Invalid(format!("DeViSE has no parameter `{name}`"))
                    })?;
                    Ok(vb.get_with_hints(dims.visual, name, init.hint())?)
                };
                Some(Standardize {
                    mean: get("mean")?,
                    std: get("std")?,
                })
            }
        };
        Ok(Self {
            proj: candle_nn::linear(dims.visual, dims.text, vb.pp("proj"))?,
            cfg: cfg.clone(),
            standardize,
        })
    }

    /// The projected features: `M v` (hinge) or the unit-length `M v'` of the standardised `v'` (softmax).
    ///
    /// # Shapes
    /// `visual (N, Cv)` -> `(N, D)`.
    fn project(&self, visual: &Tensor) -> Result<Tensor> {
        match &self.standardize {
            None => linear(&self.proj, visual),
            Some(s) => {
                // Detached: the statistics are the training set's, never trained.
                let v = visual
                    .broadcast_sub(&s.mean.detach())?
                    .broadcast_div(&s.std.detach())?;
                l2_normalize(&linear(&self.proj, &v)?)
            }
        }
    }

    /// Compatibility scores: `t_c^T M v_n` (hinge) or `cos(M v_n', t_c)` (softmax).
    ///
    /// # Shapes
    /// `visual (N, Cv)`, `texts (C, D)` -> `(N, C)`.
    pub fn forward(&self, visual: &Tensor, texts: &Tensor) -> Result<Tensor> {
        self.scores_from_projected(&self.project(visual)?, texts)
    }

    fn scores_from_projected(&self, projected: &Tensor, texts: &Tensor) -> Result<Tensor> {
        match self.cfg.loss {
            DeviseLoss::Hinge => Ok(projected.matmul(&texts.t()?)?),
            DeviseLoss::Softmax => Ok(projected.matmul(&l2_normalize(texts)?.t()?)?),
        }
    }
}

/// Softmax cross-entropy on cosine scores `(N, C)` divided by `temperature`.
pub fn softmax_cosine_loss(cosines: &Tensor, labels: &Tensor, temperature: f64) -> Result<Tensor> {
    cross_entropy(&(cosines / temperature)?, labels)
}

// Loss.

/// DeViSE's hinge rank loss on a score matrix `(N, C)`: the mean over samples of the summed violations.
pub fn hinge_rank_loss(scores: &Tensor, labels: &[usize], margin: f64) -> Result<Tensor> {
    let (n, c) = scores.dims2()?;
    let onehot = one_hot(labels, c, scores.device())?;
    let pos = (scores * &onehot)?.sum_keepdim(D::Minus1)?; // (N, 1)
    let viol = (scores.broadcast_sub(&pos)? + margin)?.relu()?;
    // The positive class contributes max(0, margin) = margin; remove it.
    let viol = (viol * (1.0 - onehot)?)?;
    Ok((viol.sum_all()? / n as f64)?)
}

impl ZslMethod for Devise {
    fn kind(&self) -> MethodKind {
        MethodKind::Devise
    }

    fn loss(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        _ctx: &mut StepContext<'_>,
    ) -> Result<Tensor> {
        let labels_v = labels_vec(labels)?;
        check_labels(&labels_v, classes.num_classes())?;
        let s = self.forward(&batch.pooled, &classes.sentences)?;
        match self.cfg.loss {
            DeviseLoss::Hinge => hinge_rank_loss(&s, &labels_v, self.cfg.margin),
            DeviseLoss::Softmax => softmax_cosine_loss(&s, labels, self.cfg.temperature),
        }
    }

    fn scores(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor> {
        self.forward(&batch.pooled, &classes.sentences)
    }

    fn as_rescoring(&self) -> Option<&dyn Rescoring> {
        Some(self)
    }

    fn as_joint_space(&self) -> Option<&dyn JointSpace> {
        Some(self)
    }
}

// ---- Re-scoring and explorer helpers ----

/// Re-scoring after a class-text edit from the projected features, equal to [`ZslMethod::scores`]; checked by
/// `one_class_columns_equal_a_full_rescoring_for_every_method` (src/pipeline/predict.rs).
impl Rescoring for Devise {
    /// The projected features `M v (N, D)` (unit length for the softmax loss).
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor> {
        self.project(&batch.pooled)
    }

    /// The scores from the projected features, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor> {
        self.scores_from_projected(visual, &classes.sentences)
    }
}

/// The text space the score is a dot product in; each sample's nearest class point is its best-scoring class,
/// checked by `text_points_where_the_method_has_a_joint_space` (src/pipeline/analysis.rs); an edit moves only the
/// edited class's point, checked by `an_edit_moves_only_the_edited_class_text_point` (src/pipeline/predict.rs).
impl JointSpace for Devise {
    /// `M v` and the class sentences, both unit length: a sample's score ranks classes as its cosine does (its own
    /// `|M v|` is shared by every class), so its nearest class point is its zero-shot prediction.
    fn joint_embedding(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<JointEmbedding> {
        Ok(JointEmbedding {
            space: format!(
                "text space ({}-d): skeleton features projected by DeViSE's linear map M; class points: the class \
                 sentences; both unit length, so a sample's nearest class point is its prediction",
                classes.dim()
            ),
            samples: l2_normalize(&self.project(&batch.pooled)?)?,
            classes: l2_normalize(&classes.sentences)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zsl::MethodConfig;
    use candle_core::{DType, Device};

    const DIMS: Dims = Dims { visual: 5, text: 3 };

    fn features(scale: &[f32; 5], shift: &[f32; 5]) -> FeatureBatch {
        let v: Vec<f32> = (0..8 * 5)
            .map(|i| {
                let c = i % 5;
                ((i as f32 * 0.37).sin() + 0.1 * c as f32) * scale[c] + shift[c]
            })
            .collect();
        FeatureBatch::from_pooled(Tensor::from_vec(v, (8, 5), &Device::Cpu).unwrap())
    }

    fn texts() -> ClassEmbeddings {
        let t: Vec<f32> = (0..4 * 3).map(|i| (i as f32 * 0.91).cos()).collect();
        let t = l2_normalize(&Tensor::from_vec(t, (4, 3), &Device::Cpu).unwrap()).unwrap();
        ClassEmbeddings::new(t.clone(), t)
    }

    fn softmax_cfg() -> MethodConfig {
        MethodConfig::Devise(DeviseConfig {
            loss: DeviseLoss::Softmax,
            ..Default::default()
        })
    }

    fn flat(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    #[test]
    fn softmax_loss_is_cross_entropy_of_cosines_over_the_temperature() -> Result<()> {
        let cos = Tensor::new(&[[0.5f32, -0.2, 0.1], [0.0, 0.3, 0.9]], &Device::Cpu)?;
        let labels = Tensor::new(&[0u32, 2], &Device::Cpu)?;
        let got = softmax_cosine_loss(&cos, &labels, 0.5)?.to_scalar::<f32>()?;
        let ce = |row: [f32; 3], y: usize| {
            let z: Vec<f32> = row.iter().map(|c| c / 0.5).collect();
            let lse = z.iter().map(|x| x.exp()).sum::<f32>().ln();
            lse - z[y]
        };
        let want = (ce([0.5, -0.2, 0.1], 0) + ce([0.0, 0.3, 0.9], 2)) / 2.0;
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        Ok(())
    }

    #[test]
    fn standardised_scores_ignore_a_per_channel_affine_change_of_the_features() -> Result<()> {
        let cfg = softmax_cfg();
        let (m, vm) = cfg.build_trainable(DIMS, &Device::Cpu, 7)?;
        let a = features(&[1.0; 5], &[0.0; 5]);
        cfg.fit_statistics(&vm, &a)?;
        let s_a = flat(&m.scores(&a, &texts())?);
        let b = features(&[3.0, 0.5, 10.0, 2.0, 0.1], &[5.0, -2.0, 40.0, 0.0, 1.0]);
        cfg.fit_statistics(&vm, &b)?;
        let s_b = flat(&m.scores(&b, &texts())?);
        for (x, y) in s_a.iter().zip(&s_b) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
        // The hinge scores raw features: the same change moves them.
        let hinge = MethodConfig::default_for(crate::zsl::MethodKind::Devise);
        let MethodConfig::Devise(mut h) = hinge else {
            unreachable!()
        };
        h.loss = DeviseLoss::Hinge;
        let hinge = MethodConfig::Devise(h);
        let (m, _) = hinge.build_trainable(DIMS, &Device::Cpu, 7)?;
        let (h_a, h_b) = (
            flat(&m.scores(&a, &texts())?),
            flat(&m.scores(&b, &texts())?),
        );
        assert!(h_a.iter().zip(&h_b).any(|(x, y)| (x - y).abs() > 1e-2));
        Ok(())
    }

    #[test]
    fn statistics_are_saved_with_the_weights_and_never_trained() -> Result<()> {
        let cfg = softmax_cfg();
        let (m, vm) = cfg.build_trainable(DIMS, &Device::Cpu, 3)?;
        let x = features(&[2.0; 5], &[1.0; 5]);
        cfg.fit_statistics(&vm, &x)?;
        let stats = |vm: &candle_nn::VarMap| -> Vec<f32> {
            let d = vm.data().lock().unwrap();
            [&d["standardize.mean"], &d["standardize.std"]]
                .iter()
                .flat_map(|v| flat(v.as_tensor()))
                .collect()
        };
        let before = stats(&vm);
        assert!(
            before[..5].iter().all(|m| (m - 1.0).abs() > 1e-3),
            "mean set"
        );
        let labels = Tensor::new(&[0u32, 1, 2, 3, 0, 1, 2, 3], &Device::Cpu)?;
        let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(0);
        let mut ctx = StepContext {
            epoch: 0,
            rng: &mut rng,
            all_classes: None,
        };
        let mut opt = candle_nn::AdamW::new_lr(vm.all_vars(), 1e-2)?;
        use candle_nn::Optimizer as _;
        opt.backward_step(&m.loss(&x, &labels, &texts(), &mut ctx)?)?;
        assert_eq!(stats(&vm), before, "the statistics are not trained");
        // Reloaded from the saved tensors (as inference does), the method scores the same.
        let saved: std::collections::HashMap<String, Tensor> = vm
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().copy().unwrap()))
            .collect();
        let vb = VarBuilder::from_tensors(saved, DType::F32, &Device::Cpu);
        let reloaded = cfg.build(DIMS, vb)?;
        assert_eq!(
            flat(&reloaded.scores(&x, &texts())?),
            flat(&m.scores(&x, &texts())?)
        );
        Ok(())
    }

    #[test]
    fn a_config_without_loss_reads_as_the_hinge_it_was_trained_with() {
        let old: DeviseConfig = toml::from_str("margin = 0.1").unwrap();
        assert_eq!(old.loss, DeviseLoss::Hinge);
        assert_eq!(DeviseConfig::default().loss, DeviseLoss::Softmax);
        assert_eq!(
            DeviseLoss::from_name(" Softmax "),
            Some(DeviseLoss::Softmax)
        );
        assert_eq!(DeviseLoss::from_name("triplet"), None);
    }
}
