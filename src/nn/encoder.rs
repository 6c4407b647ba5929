//! One type for "a skeleton encoder": ST-GCN or Shift-GCN, chosen at run time.

use candle_core::{Device, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use super::init::SeededVars;
use super::shiftgcn::{ShiftGcn, ShiftGcnConfig};
use super::stgcn::{EncoderOutput, StGcn, StGcnConfig};

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncoderKind {
    Stgcn,
    Shiftgcn,
}

impl std::fmt::Display for EncoderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stgcn => "stgcn",
            Self::Shiftgcn => "shiftgcn",
        })
    }
}

/// The network's hyper-parameters, as stored in a run's `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EncoderConfig {
    Stgcn(StGcnConfig),
    Shiftgcn(ShiftGcnConfig),
}

impl EncoderConfig {
    /// The reference configuration of `kind`.
    pub fn default_for(kind: EncoderKind) -> Self {
        match kind {
            EncoderKind::Stgcn => Self::Stgcn(StGcnConfig::default()),
            EncoderKind::Shiftgcn => Self::Shiftgcn(ShiftGcnConfig::default()),
        }
    }

    pub fn kind(&self) -> EncoderKind {
        match self {
            Self::Stgcn(_) => EncoderKind::Stgcn,
            Self::Shiftgcn(_) => EncoderKind::Shiftgcn,
        }
    }

    /// Size of the pooled feature.
    pub fn feature_dim(&self) -> usize {
        match self {
            Self::Stgcn(c) => c.hidden_dim,
            Self::Shiftgcn(c) => c.out_channels(),
        }
    }
}

/// A built encoder.
pub enum Encoder {
    Stgcn(StGcn),
    Shiftgcn(ShiftGcn),
}

impl Encoder {
    /// Builds `cfg` with a `num_classes`-way head (0: none) on fresh variables of `vm`.
    pub fn new(
        cfg: &EncoderConfig,
        num_classes: usize,
        vm: &VarMap,
        device: &Device,
    ) -> Result<Self> {
        let vb = VarBuilder::from_varmap(vm, candle_core::DType::F32, device);
        Ok(match cfg {
            EncoderConfig::Stgcn(c) => Self::Stgcn(StGcn::new(c, num_classes, vb)?),
            EncoderConfig::Shiftgcn(c) => Self::Shiftgcn(ShiftGcn::new(c, num_classes, vb)?),
        })
    }

    /// [`Self::new`] with every parameter drawn from a generator seeded by `seed` (see [`SeededVars`]): the same
    /// seed gives the same starting weights on every run.
    pub fn new_seeded(
        cfg: &EncoderConfig,
        num_classes: usize,
        vm: &VarMap,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        let vb = SeededVars::builder(vm, seed, device);
        Ok(match cfg {
            EncoderConfig::Stgcn(c) => Self::Stgcn(StGcn::new(c, num_classes, vb)?),
            EncoderConfig::Shiftgcn(c) => Self::Shiftgcn(ShiftGcn::new(c, num_classes, vb)?),
        })
    }

    /// Sets the key of the dropout masks of the following training passes (ST-GCN; Shift-GCN has no dropout).
    pub fn set_dropout_key(&self, key: u64) {
        if let Self::Stgcn(n) = self {
            n.set_dropout_key(key);
        }
    }

    /// # Shapes
    /// `x`: (N, 3, T, V, M) -> map (N, M, T', V, C), pooled (N, C)
    pub fn encode(&self, x: &Tensor, train: bool) -> Result<EncoderOutput> {
        match self {
            Self::Stgcn(n) => n.encode(x, train),
            Self::Shiftgcn(n) => n.encode(x, train),
        }
    }

    /// # Shapes
    /// `pooled`: (N, C) -> logits (N, classes)
    pub fn classify(&self, pooled: &Tensor) -> Result<Tensor> {
        match self {
            Self::Stgcn(n) => n.classify(pooled),
            Self::Shiftgcn(n) => n.classify(pooled),
        }
    }

    /// Where the parameters live: training and evaluation put their batches there.
    pub fn device(&self) -> &Device {
        match self {
            Self::Stgcn(n) => n.device(),
            Self::Shiftgcn(n) => n.device(),
        }
    }
}
