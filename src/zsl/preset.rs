//! Presets: skelzero's own defaults, or the official code's choices (`--preset paper`).
//!
//! The `paper` preset reproduces what the official repositories do where the data allows (the README's fidelity
//! table lists every difference that remains and why): YujieOuO/SMIE (model.py, procedure.py, config.py),
//! damNull/InfoCPL (model_multi_desc.py, config_multi_desc.py, scripts/), cseeyangchen/STAR
//! (model/shiftgcn_match_ntu.py, config/*.yaml). DeViSE and RelationNet have no official zero-shot-skeleton code;
//! their paper preset is the published loss (DeViSE's hinge) with PyTorch's `nn.Linear` initialisation.

use serde::{Deserialize, Serialize};

use super::trainer::{LrSchedule, OptimizerKind, TrainConfig};
use super::{LinearInit, MethodConfig, MethodKind};

/// Which set of choices a run is built with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// skelzero's own choices, each chosen on seen-class validation.
    #[default]
    Default,
    /// The official code's choices.
    Paper,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Paper => "paper",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Default, Self::Paper]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }

    pub fn is_default(&self) -> bool {
        *self == Self::Default
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The dataset a split belongs to, for the official per-dataset settings (SMIE's margin, InfoCPL's `max_k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaperDataset {
    Ntu60,
    Ntu120,
    PkuMmd,
    /// A dataset the papers did not use (MSR Action3D, synthetic): the official code's defaults.
    Other,
}

impl PaperDataset {
    /// Guesses the dataset from a split or dataset name (`ntu60-...`, `ntu120`, `pku-mmd`, ...).
    pub fn from_name(name: &str) -> Self {
        let n: String = name
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        if n.contains("ntu120") {
            Self::Ntu120
        } else if n.contains("ntu") {
            Self::Ntu60
        } else if n.contains("pku") {
            Self::PkuMmd
        } else {
            Self::Other
        }
    }

    /// SMIE's temporal margin (paper Table 1; config.py's default 0.1 elsewhere).
    pub fn smie_margin(self) -> f64 {
        match self {
            Self::Ntu60 | Self::Other => 0.1,
            Self::Ntu120 => 0.5,
            Self::PkuMmd => 0.01,
        }
    }

    /// InfoCPL's `max_k` (scripts/test_*.sh; config_multi_desc.py's 50 elsewhere).
    pub fn infocpl_max_k(self) -> usize {
        match self {
            Self::Ntu60 => 60,
            Self::Ntu120 => 25,
            Self::PkuMmd => 15,
            Self::Other => 50,
        }
    }
}

/// InfoCPL's branch series `[1] + range(5, max_k, 5)` (config_multi_desc.py `mg_series`), keeping only the `k`
/// a codebook of `codebook` phrases can hold (a larger `k` would attend to the whole codebook, as `k = codebook`
/// does, and only repeat that branch).
pub fn infocpl_series(max_k: usize, codebook: Option<usize>) -> Vec<usize> {
    let mut ks = vec![1];
    ks.extend((5..max_k).step_by(5));
    if let Some(kk) = codebook {
        ks.retain(|&k| k <= kk.max(1));
    }
    ks
}

/// The sizes of the class texts a run trains with that the paper preset adapts to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextShape {
    /// Phrases per class (InfoCPL's series is capped by it).
    pub codebook: Option<usize>,
    /// Body-part texts per class (STAR's part count: the official code has 6 for NTU, 2 or 4 for PKU-MMD
    /// variants, each matching its part descriptions).
    pub parts: Option<usize>,
    /// Classes of the run, seen and unseen (STAR's per-(class, part) prompts, one row each).
    pub classes: Option<usize>,
}

impl TextShape {
    pub fn of(classes: &super::ClassEmbeddings) -> Self {
        let second =
            |t: &Option<candle_core::Tensor>| t.as_ref().and_then(|t| t.dims().get(1).copied());
        Self {
            codebook: second(&classes.phrases),
            parts: second(&classes.parts),
            classes: Some(classes.num_classes()),
        }
    }
}

/// The method configuration of `preset` (the default preset is each method's `Default`) for texts of `shape`.
pub fn method_config(
    kind: MethodKind,
    preset: Preset,
    dataset: PaperDataset,
    shape: TextShape,
) -> MethodConfig {
    use super::{devise, infocpl, smie, star};
    match (preset, kind) {
        (Preset::Default, _) | (Preset::Paper, MethodKind::RelationNet) => {
            MethodConfig::default_for(kind)
        }
        (Preset::Paper, MethodKind::Devise) => MethodConfig::Devise(devise::DeviseConfig {
            loss: devise::DeviseLoss::Hinge,
            ..Default::default()
        }),
        (Preset::Paper, MethodKind::Smie) => MethodConfig::Smie(smie::SmieConfig {
            hidden: [1024, 512],
            lambda: 0.5,
            margin: dataset.smie_margin(),
            mask_frames: 15,
            ln_at_inference: false,
            text: smie::SmieText::Names,
        }),
        (Preset::Paper, MethodKind::InfoCpl) => MethodConfig::InfoCpl(infocpl::InfoCplConfig {
            topk: infocpl_series(dataset.infocpl_max_k(), shape.codebook),
            warmup_epochs: 15,
            negatives: 8,
            hidden: [1024, 512],
            shared_negatives: true,
        }),
        // model/shiftgcn_match_ntu.py ModelMatch: MultiheadAttention(embed_dim 768, kdim = vdim = 256, 4 heads) over
        // 100 prompts `N(0, 1)`, `w` `N(0, 1)`, text projectors D-256-100, `pd_prompt` one per (class, part)
        // `N(0, 1)` for every class; main_ntu_match.py: loss = part_ce + 0.1 global_ce + 0.1 pd_label. The
        // attention width is the official 768 whatever the text encoder's size (it is CLIP's width there, but
        // the text side enters only through the projectors, which take any D).
        (Preset::Paper, MethodKind::Star) => MethodConfig::Star(star::StarConfig {
            parts: shape.parts.unwrap_or(6),
            prompts: 100,
            dim: 768,
            heads: 4,
            hidden: 256,
            alpha: 0.1,
            beta: 0.1,
            logit_scale: 1.0,
            w_unit_init: true,
            transductive_text: false,
            class_prompts: shape.classes.unwrap_or(0),
            // Set by the caller that has the encoder and the data (`bench --preset paper` from raw data).
            online_augment: false,
        }),
    }
}

/// The training schedule of `preset` for `kind`; `default` is skelzero's own (the CLI's per-method default).
pub fn train_config(kind: MethodKind, preset: Preset, default: TrainConfig) -> TrainConfig {
    if preset == Preset::Default {
        return default;
    }
    let base = TrainConfig {
        init: LinearInit::Torch,
        preset: Preset::Paper,
        ..default
    };
    match kind {
        // procedure.py / procedure_multi_desc.py: Adam lr 1e-5, weight decay 0, batch 128, 100 epochs,
        // adjust_learning_rate(max_epoch=100, warmup_epoch=15).
        MethodKind::Smie | MethodKind::InfoCpl => TrainConfig {
            epochs: 100,
            batch_size: 128,
            lr: 1e-5,
            weight_decay: 0.0,
            lr_warmup_epochs: 15,
            optimizer: OptimizerKind::AdamW,
            schedule: LrSchedule::OfficialWarmupCosine { total: 100 },
            ..base
        },
        // config/*/joint_shiftgcn_ViTL14@336px_match.yaml: SGD Nesterov 0.9, base_lr 0.01, weight decay 5e-4,
        // step [10, 20] x 0.1, 40 epochs, batch 64, no warm-up.
        MethodKind::Star => TrainConfig {
            epochs: 40,
            batch_size: 64,
            lr: 0.01,
            weight_decay: 5e-4,
            lr_warmup_epochs: 0,
            optimizer: OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: true,
            },
            schedule: LrSchedule::Step {
                milestones: vec![10, 20],
                gamma: 0.1,
            },
            ..base
        },
        MethodKind::Devise | MethodKind::RelationNet => base,
    }
}

/// Said by a STAR paper-preset run that had no encoder and data to augment with (a feature file alone).
pub const NO_AUGMENTATION: &str = "trained without STAR's online augmentation (random 50-100% crop resized to the \
     encoder's window, random rotation, frozen backbone re-run each step): a feature file alone holds one fixed \
     feature per sample; `bench --preset paper --data` augments";

/// What a run of `preset` does not reproduce, for the CLI's output (the README's fidelity table has them all).
pub fn limitations(kind: MethodKind, preset: Preset) -> Vec<String> {
    if preset != Preset::Paper {
        return Vec::new();
    }
    match kind {
        MethodKind::Star => vec![
            "the unseen classes' semantic-part prompts train only with --transductive-text (SCE over every \
             class; the official code always trains them so, through loss_pd_label)"
                .to_owned(),
        ],
        MethodKind::InfoCpl => vec![
            "phrase codebooks and motion descriptions are the texts file's (the official code uses 100 \
             generated descriptions per class)"
                .to_owned(),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infocpl_series_follows_the_official_range_and_the_codebook_cap() {
        assert_eq!(infocpl_series(15, None), [1, 5, 10]);
        assert_eq!(infocpl_series(25, None), [1, 5, 10, 15, 20]);
        assert_eq!(infocpl_series(60, None).len(), 12);
        assert_eq!(infocpl_series(60, Some(12)), [1, 5, 10]);
        assert_eq!(infocpl_series(60, Some(3)), [1]);
    }

    #[test]
    fn datasets_from_split_names() {
        assert_eq!(
            PaperDataset::from_name("ntu60-xsub-55-5"),
            PaperDataset::Ntu60
        );
        assert_eq!(
            PaperDataset::from_name("NTU-120 split 4"),
            PaperDataset::Ntu120
        );
        assert_eq!(PaperDataset::from_name("pku-mmd-v1"), PaperDataset::PkuMmd);
        assert_eq!(PaperDataset::from_name("msr1"), PaperDataset::Other);
        assert_eq!(PaperDataset::from_name("ntu120").smie_margin(), 0.5);
        assert_eq!(PaperDataset::from_name("pku").smie_margin(), 0.01);
    }

    #[test]
    fn the_official_schedules() {
        let smie = train_config(MethodKind::Smie, Preset::Paper, TrainConfig::default());
        assert_eq!(smie.lr_at(0), 0.0);
        assert!((smie.lr_at(5) - 1e-5 / 3.0).abs() < 1e-15);
        assert_eq!(smie.lr_at(15), 1e-5);
        assert!(smie.lr_at(99) < 1e-8);
        assert_eq!(smie.init, LinearInit::Torch);
        let star = train_config(MethodKind::Star, Preset::Paper, TrainConfig::default());
        assert_eq!(star.lr_at(9), 0.01);
        assert!((star.lr_at(10) - 1e-3).abs() < 1e-15);
        assert!((star.lr_at(39) - 1e-4).abs() < 1e-15);
        let d = train_config(MethodKind::Star, Preset::Default, TrainConfig::default());
        assert_eq!(d, TrainConfig::default());
    }
}
