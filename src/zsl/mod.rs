//! Zero-shot methods on frozen skeleton-encoder features.
//!
//! Every method implements [`ZslMethod`]: a loss on a batch of seen-class samples (visual features, labels that
//! index the batch's class set, and that class set's text embeddings), and a score matrix `N x C` for any class set.
//! Training, evaluation, the benchmark and the explorer treat all methods alike through this trait; [`trainer`]
//! holds the shared loop (the on-disk run folder is `crate::experiment::run`).
//!
//! The visual side is frozen: features are extracted once by the skeleton encoder and handed in as a
//! [`FeatureBatch`]. Methods that need more than the pooled feature (SMIE's temporally masked view, STAR's
//! pre-pooling feature map) read the optional fields and fail with [`ZslError::Missing`] when they are absent.

pub mod blocks;
pub mod branch_set;
pub mod devise;
pub mod features;
pub mod infocpl;
pub mod loss;
pub mod preset;
pub mod relation;
pub mod smie;
pub mod star;
pub mod tensor_file;
pub mod trainer;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// Errors of the zero-shot layer.
#[derive(Debug, thiserror::Error)]
pub enum ZslError {
    #[error(transparent)]
    Candle(candle_core::Error),
    #[error("{method} needs {what}, which was not provided")]
    Missing {
        method: &'static str,
        what: &'static str,
    },
    #[error("{what}: expected shape {expected}, got {got}")]
    Shape {
        what: String,
        expected: String,
        got: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File {
        path: std::path::PathBuf,
        message: String,
    },
    /// Ctrl-C: training stopped after a complete epoch, before anything was saved.
    #[error("stopped by Ctrl-C after epoch {epochs_done}; nothing was saved")]
    Stopped { epochs_done: usize },
}

impl From<candle_core::Error> for ZslError {
    fn from(e: candle_core::Error) -> Self {
        Self::Candle(crate::util::candle_error_without_backtrace(e))
    }
}

pub type Result<T, E = ZslError> = std::result::Result<T, E>;

/// The methods this crate implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    Devise,
    RelationNet,
    Smie,
    InfoCpl,
    Star,
}

impl MethodKind {
    pub const ALL: [Self; 5] = [
        Self::Devise,
        Self::RelationNet,
        Self::Smie,
        Self::InfoCpl,
        Self::Star,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Devise => "devise",
            Self::RelationNet => "relationnet",
            Self::Smie => "smie",
            Self::InfoCpl => "infocpl",
            Self::Star => "star",
        }
    }

    /// Paper-style display name.
    pub fn title(self) -> &'static str {
        match self {
            Self::Devise => "DeViSE",
            Self::RelationNet => "RelationNet",
            Self::Smie => "SMIE",
            Self::InfoCpl => "InfoCPL",
            Self::Star => "STAR",
        }
    }

    /// Why a method exports no class-text points (`None`: it exports them, see [`JointSpace`]).
    pub fn no_text_points(self) -> Option<&'static str> {
        match self {
            Self::RelationNet => Some(
                "RelationNet has no class-text points: its text network maps sentences to the visual size, but a \
                 relation MLP scores each (sample, class) pair, so positions in one space mean nothing",
            ),
            Self::Smie => Some(
                "SMIE has no class-text points: its estimator scores the concatenation [LN(v), t] and maps neither \
                 side into the other's space",
            ),
            Self::Devise | Self::InfoCpl | Self::Star => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for MethodKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Text embeddings of a set of classes (rows in class order). All embeddings are L2-normalised sentence vectors of
/// the same dimension `D`.
///
/// # Shapes
/// - `names`: `(C, D)` class-name embeddings (STAR's class-name side).
/// - `sentences`: `(C, D)` one description per class (DeViSE, RelationNet, SMIE).
/// - `parts`: `(C, P, D)` body-part descriptions (STAR), optional.
/// - `phrases`: `(C, K, D)` codebook of description phrases (InfoCPL), optional.
/// - `motion`: `(C, D)` one motion description per class (InfoCPL), optional.
#[derive(Clone, Debug)]
pub struct ClassEmbeddings {
    pub names: Tensor,
    pub sentences: Tensor,
    pub parts: Option<Tensor>,
    pub phrases: Option<Tensor>,
    pub motion: Option<Tensor>,
}

impl ClassEmbeddings {
    /// Names and sentences only (no parts, phrases or motion descriptions).
    pub fn new(names: Tensor, sentences: Tensor) -> Self {
        Self {
            names,
            sentences,
            parts: None,
            phrases: None,
            motion: None,
        }
    }

    pub fn num_classes(&self) -> usize {
        self.names.dims().first().copied().unwrap_or(0)
    }

    pub fn dim(&self) -> usize {
        self.names.dims().get(1).copied().unwrap_or(0)
    }

    /// Checks that every present tensor agrees on `C` and `D`.
    pub fn validate(&self) -> Result<()> {
        let &[c, d] = self.names.dims() else {
            return Err(shape_error("names", "(C, D)".into(), &self.names));
        };
        check_shape("sentences", &self.sentences, &[c, d])?;
        if let Some(p) = &self.parts {
            let &[pc, _, pd] = p.dims() else {
                return Err(shape_error("parts", format!("({c}, P, {d})"), p));
            };
            if pc != c || pd != d {
                return Err(shape_error("parts", format!("({c}, P, {d})"), p));
            }
        }
        if let Some(p) = &self.phrases {
            let &[pc, k, pd] = p.dims() else {
                return Err(shape_error("phrases", format!("({c}, K>0, {d})"), p));
            };
            if pc != c || pd != d || k == 0 {
                return Err(shape_error("phrases", format!("({c}, K>0, {d})"), p));
            }
        }
        if let Some(m) = &self.motion {
            check_shape("motion", m, &[c, d])?;
        }
        Ok(())
    }

    /// The rows of `classes`, in that order.
    pub fn select(&self, classes: &[usize]) -> Result<Self> {
        let idx = index_tensor(classes, self.names.device())?;
        let pick = |t: &Tensor| t.index_select(&idx, 0);
        Ok(Self {
            names: pick(&self.names)?,
            sentences: pick(&self.sentences)?,
            parts: self.parts.as_ref().map(pick).transpose()?,
            phrases: self.phrases.as_ref().map(pick).transpose()?,
            motion: self.motion.as_ref().map(pick).transpose()?,
        })
    }
}

/// Frozen visual features of `N` samples.
///
/// # Shapes
/// - `pooled`: `(N, Cv)` globally pooled encoder features.
/// - `masked`: `(N, Cv)` features of the same samples with their motion keyframes masked (SMIE), optional.
/// - `map`: `(N, T', V, Cv)` pre-pooling spatio-temporal feature map (STAR), optional.
#[derive(Clone, Debug)]
pub struct FeatureBatch {
    pub pooled: Tensor,
    pub masked: Option<Tensor>,
    pub map: Option<Tensor>,
}

impl FeatureBatch {
    pub fn from_pooled(pooled: Tensor) -> Self {
        Self {
            pooled,
            masked: None,
            map: None,
        }
    }

    pub fn len(&self) -> usize {
        self.pooled.dims().first().copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn visual_dim(&self) -> usize {
        self.pooled.dims().get(1).copied().unwrap_or(0)
    }

    pub fn validate(&self) -> Result<()> {
        let &[n, c] = self.pooled.dims() else {
            return Err(shape_error(
                "pooled features",
                "(N, C)".into(),
                &self.pooled,
            ));
        };
        if let Some(m) = &self.masked {
            check_shape("masked features", m, &[n, c])?;
        }
        if let Some(m) = &self.map {
            let dims = m.dims();
            if dims.len() != 4 || dims[0] != n || dims[3] != c {
                return Err(shape_error("feature map", format!("({n}, T', V, {c})"), m));
            }
        }
        Ok(())
    }

    /// The samples at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Result<Self> {
        let idx = index_tensor(rows, self.pooled.device())?;
        let pick = |t: &Tensor| t.index_select(&idx, 0);
        Ok(Self {
            pooled: pick(&self.pooled)?,
            masked: self.masked.as_ref().map(pick).transpose()?,
            map: self.map.as_ref().map(pick).transpose()?,
        })
    }
}

/// Per-step context handed to [`ZslMethod::loss`].
pub struct StepContext<'a> {
    /// 0-based epoch (InfoCPL inverts its attention during warm-up epochs).
    pub epoch: usize,
    /// Randomness for negative sampling.
    pub rng: &'a mut StdRng,
    /// The texts of every class of the run, seen and unseen, for a method that was explicitly asked to train on
    /// them (STAR's `--transductive-text`); `None` otherwise.
    pub all_classes: Option<&'a ClassEmbeddings>,
}

/// A zero-shot method: trainable on seen classes, scoring any class set.
///
/// The trait holds what every method is (its kind, its loss, its scores). What only some methods can do is a
/// capability trait reached through an accessor that is `None` by default ([`Self::as_rescoring`],
/// [`Self::as_component_scores`], [`Self::as_joint_space`]), and InfoCPL's branch choice is InfoCPL's own, reached
/// through [`Self::as_infocpl`].
pub trait ZslMethod: Send {
    fn kind(&self) -> MethodKind;

    /// The training loss on one batch. `labels` are `u32` of shape `(N,)` indexing the rows of `classes`.
    fn loss(
        &self,
        batch: &FeatureBatch,
        labels: &Tensor,
        classes: &ClassEmbeddings,
        ctx: &mut StepContext<'_>,
    ) -> Result<Tensor>;

    /// Compatibility scores `(N, C)` of each sample with each class of `classes`; higher is more compatible.
    fn scores(&self, batch: &FeatureBatch, classes: &ClassEmbeddings) -> Result<Tensor>;

    /// Scoring again from a cached sample side, for methods that have one.
    fn as_rescoring(&self) -> Option<&dyn Rescoring> {
        None
    }

    /// The score split into named components, for methods whose score is a sum or mean of parts.
    fn as_component_scores(&self) -> Option<&dyn ComponentScores> {
        None
    }

    /// Samples and class texts in one space, for methods that compare them by position in a shared space.
    fn as_joint_space(&self) -> Option<&dyn JointSpace> {
        None
    }

    /// InfoCPL, for its branch set; `None` for the other methods.
    fn as_infocpl(&self) -> Option<&infocpl::InfoCpl> {
        None
    }

    /// InfoCPL, to choose its branch set; `None` for the other methods.
    fn as_infocpl_mut(&mut self) -> Option<&mut infocpl::InfoCpl> {
        None
    }
}

/// A method whose scores are `f(v(batch), classes)` with a sample-side `v (N, M)` that costs most of the work
/// (STAR's part transformers, DeViSE's projection, the visual half of SMIE's and RelationNet's first pair layer,
/// InfoCPL's branch projections): `v` is computed once, so that scoring again after a class-text edit skips the
/// skeleton side.
pub trait Rescoring {
    /// The sample side `v (N, M)`.
    fn visual_part(&self, batch: &FeatureBatch) -> Result<Tensor>;

    /// The scores `(N, C)` from [`Self::visual_part`]'s `v`, equal to [`ZslMethod::scores`].
    fn scores_from_visual(&self, visual: &Tensor, classes: &ClassEmbeddings) -> Result<Tensor>;
}

/// A method whose score is a sum or mean of parts (STAR's body parts, InfoCPL's branches). The explorer shows them.
pub trait ComponentScores {
    /// The score split into named components `(N, C, K)`.
    fn score_components(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<ScoreComponents>;
}

/// A method that compares samples and class texts by position in one space (DeViSE, InfoCPL, STAR), for the t-SNE
/// view; methods that score a pair with a learned network have none.
pub trait JointSpace {
    /// Samples and class texts mapped into that space.
    fn joint_embedding(
        &self,
        batch: &FeatureBatch,
        classes: &ClassEmbeddings,
    ) -> Result<JointEmbedding>;
}

/// Samples and class texts in one space (see [`JointSpace`]).
#[derive(Clone, Debug)]
pub struct JointEmbedding {
    /// What the space is, for the UI (e.g. "text space (384-d): ...").
    pub space: String,
    /// `(N, E)`.
    pub samples: Tensor,
    /// `(C, E)`.
    pub classes: Tensor,
}

/// How a method's score is made of parts.
#[derive(Clone, Debug)]
pub enum ComponentKind {
    /// Summed body-part contributions; `joints` are each part's NTU25 joints.
    BodyParts { joints: Vec<Vec<usize>> },
    /// Branch scores, averaged into the score.
    Branches,
}

#[derive(Clone, Debug)]
pub struct ScoreComponents {
    pub kind: ComponentKind,
    pub names: Vec<String>,
    /// `(N, C, K)`.
    pub scores: Tensor,
}

/// Sizes a method is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Visual feature size `Cv` (256 for ST-GCN / Shift-GCN).
    pub visual: usize,
    /// Text embedding size `D`.
    pub text: usize,
}

/// Hyper-parameters of every method, serialised into a run's `config.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum MethodConfig {
    Devise(devise::DeviseConfig),
    #[serde(rename = "relationnet")]
    RelationNet(relation::RelationConfig),
    Smie(smie::SmieConfig),
    #[serde(rename = "infocpl")]
    InfoCpl(infocpl::InfoCplConfig),
    Star(star::StarConfig),
}

impl MethodConfig {
    pub fn default_for(kind: MethodKind) -> Self {
        match kind {
            MethodKind::Devise => Self::Devise(Default::default()),
            MethodKind::RelationNet => Self::RelationNet(Default::default()),
            MethodKind::Smie => Self::Smie(Default::default()),
            MethodKind::InfoCpl => Self::InfoCpl(Default::default()),
            MethodKind::Star => Self::Star(Default::default()),
        }
    }

    pub fn kind(&self) -> MethodKind {
        match self {
            Self::Devise(_) => MethodKind::Devise,
            Self::RelationNet(_) => MethodKind::RelationNet,
            Self::Smie(_) => MethodKind::Smie,
            Self::InfoCpl(_) => MethodKind::InfoCpl,
            Self::Star(_) => MethodKind::Star,
        }
    }

    /// The first epoch (0-based) model selection may pick. InfoCPL's warm-up epochs train with inverted (lowest-k)
    /// attention but are scored with top-k attention, so the reference never selects them (its best-epoch
    /// bookkeeping starts after `reverse_ep`); every other method may stop at any epoch.
    pub fn first_selectable_epoch(&self) -> usize {
        match self {
            Self::InfoCpl(c) => c.warmup_epochs,
            _ => 0,
        }
    }

    /// Builds the method; its parameters live in `vb` (a [`VarMap`] for training, a safetensors file for inference).
    pub fn build(&self, dims: Dims, vb: VarBuilder) -> Result<Box<dyn ZslMethod>> {
        Ok(match self {
            Self::Devise(c) => Box::new(devise::Devise::new(c, dims, vb)?),
            Self::RelationNet(c) => Box::new(relation::RelationNet::new(c, dims, vb)?),
            Self::Smie(c) => Box::new(smie::Smie::new(c, dims, vb)?),
            Self::InfoCpl(c) => Box::new(infocpl::InfoCpl::new(c, dims, vb)?),
            Self::Star(c) => Box::new(star::Star::new(c, dims, vb)?),
        })
    }

    /// Builds the method with fresh trainable parameters in a new [`VarMap`], initialised from `seed`.
    pub fn build_trainable(
        &self,
        dims: Dims,
        device: &Device,
        seed: u64,
    ) -> Result<(Box<dyn ZslMethod>, VarMap)> {
        self.build_trainable_with(dims, device, seed, LinearInit::default())
    }

    /// [`Self::build_trainable`] with the linear layers drawn as `init` says.
    pub fn build_trainable_with(
        &self,
        dims: Dims,
        device: &Device,
        seed: u64,
        init: LinearInit,
    ) -> Result<(Box<dyn ZslMethod>, VarMap)> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
        let method = self.build(dims, vb)?;
        seeded_init_with(&varmap, seed, self.own_params(), init)?;
        Ok((method, varmap))
    }

    /// How the method's parameters other than linear layers are drawn (see [`seeded_init`]).
    fn own_params(&self) -> Box<OwnParams> {
        match self {
            Self::Star(c) => Box::new(star::param_init_for(c)),
            Self::Devise(_) => Box::new(devise::param_init),
            Self::RelationNet(_) | Self::Smie(_) | Self::InfoCpl(_) => Box::new(|_, _| None),
        }
    }

    /// Whether the method was explicitly asked to train on the unseen classes' texts (STAR's
    /// `transductive_text`); such a run is labelled as transductive wherever it is reported.
    pub fn transductive_text(&self) -> bool {
        matches!(self, Self::Star(c) if c.transductive_text)
    }

    /// Whether the method trains on features re-drawn at every step ([`star::StarConfig::online_augment`]).
    pub fn online_augment(&self) -> bool {
        matches!(self, Self::Star(c) if c.online_augment)
    }

    /// Sets the parameters a method computes from its training features rather than learns (DeViSE's
    /// standardisation statistics); call it after [`Self::build_trainable`] with the features that run trains on.
    pub fn fit_statistics(&self, varmap: &VarMap, train: &FeatureBatch) -> Result<()> {
        match self {
            Self::Devise(_) => devise::set_feature_statistics(varmap, train),
            _ => Ok(()),
        }
    }
}

/// A method's statement of how its own (non-linear-layer) parameters are drawn, by leaf name and shape.
type OwnParams = dyn Fn(&str, &[usize]) -> Option<ParamInit>;

/// How [`seeded_init`] draws a parameter that is not a linear layer's `weight` or `bias`. A method with such
/// parameters states them once, in its file, by name and shape (STAR: [`star::param_init`]), and builds them with
/// [`Self::hint`] so that candle's unseeded draw has the same distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamInit {
    /// `N(0, std^2)`.
    Normal {
        std: f32,
    },
    Zeros,
    Ones,
}

impl ParamInit {
    /// The same distribution as a candle initialiser hint.
    pub fn hint(self) -> candle_nn::Init {
        match self {
            Self::Normal { std } => candle_nn::Init::Randn {
                mean: 0.0,
                stdev: f64::from(std),
            },
            Self::Zeros => candle_nn::Init::Const(0.0),
            Self::Ones => candle_nn::Init::Const(1.0),
        }
    }
}

/// Re-draws every parameter from a seeded generator with the distribution candle gave it, so that training is
/// reproducible (candle's CPU generator cannot be seeded): `*.weight (out, in)` Kaiming-normal
/// `N(0, 2 / in)` and `*.bias` `U(-1/sqrt(in), 1/sqrt(in))` as `candle_nn::linear`; any other parameter as
/// `own_params(leaf name, shape)` says (the method's own parameters, see [`ParamInit`]). Parameters are drawn in
/// the order of their sorted names, from one generator.
pub fn seeded_init(
    varmap: &VarMap,
    seed: u64,
    own_params: impl Fn(&str, &[usize]) -> Option<ParamInit>,
) -> Result<()> {
    seeded_init_with(varmap, seed, own_params, LinearInit::default())
}

/// How [`seeded_init_with`] draws a linear layer's `weight (out, in)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinearInit {
    /// candle's `linear`: Kaiming-normal `N(0, 2 / in)`.
    #[default]
    Kaiming,
    /// PyTorch's `nn.Linear` default: `U(-1/sqrt(in), 1/sqrt(in))` (kaiming-uniform with `a = sqrt(5)`), about
    /// 2.45x narrower; the official SMIE, InfoCPL and STAR heads keep it.
    Torch,
}

/// [`seeded_init`] with the linear weights drawn as `init` says (biases are `U(+-1/sqrt(in))` either way).
pub fn seeded_init_with(
    varmap: &VarMap,
    seed: u64,
    own_params: impl Fn(&str, &[usize]) -> Option<ParamInit>,
    init: LinearInit,
) -> Result<()> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal, Uniform};
    let data = varmap
        .data()
        .lock()
        .map_err(|_| ZslError::Invalid("poisoned var map".into()))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = StdRng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let n: usize = dims.iter().product();
        let leaf = name.rsplit('.').next().unwrap_or(name);
        let fan_in = |w: &str| -> usize {
            let wname = format!("{}.weight", name.trim_end_matches(w).trim_end_matches('.'));
            data.get(&wname)
                .and_then(|v| v.dims().get(1).copied())
                .unwrap_or(1)
        };
        let values: Vec<f32> = match (leaf, dims.len()) {
            ("weight", 2) => match init {
                LinearInit::Kaiming => {
                    let std = (2.0 / dims[1] as f32).sqrt();
                    let d = Normal::new(0.0, std).map_err(|e| ZslError::Invalid(e.to_string()))?;
                    (0..n).map(|_| d.sample(&mut rng)).collect()
                }
                LinearInit::Torch => {
                    let b = 1.0 / (dims[1] as f32).sqrt();
                    let d = Uniform::new_inclusive(-b, b)
                        .map_err(|e| ZslError::Invalid(e.to_string()))?;
                    (0..n).map(|_| d.sample(&mut rng)).collect()
                }
            },
            ("bias", _) => {
                let b = 1.0 / (fan_in("bias") as f32).sqrt();
                let d =
                    Uniform::new_inclusive(-b, b).map_err(|e| ZslError::Invalid(e.to_string()))?;
                (0..n).map(|_| d.sample(&mut rng)).collect()
            }
            _ => match own_params(leaf, &dims) {
                Some(ParamInit::Normal { std }) => {
                    let d =
                        Normal::new(0.0f32, std).map_err(|e| ZslError::Invalid(e.to_string()))?;
                    (0..n).map(|_| d.sample(&mut rng)).collect()
                }
                Some(ParamInit::Zeros) => vec![0.0; n],
                Some(ParamInit::Ones) => vec![1.0; n],
                None => {
                    return Err(ZslError::Invalid(format!(
                        "no seeded initialiser for parameter `{name}`"
                    )));
                }
            },
        };
        var.set(&Tensor::from_vec(values, dims, var.device())?)?;
    }
    Ok(())
}

/// A `u32` index tensor.
pub fn index_tensor(rows: &[usize], device: &Device) -> Result<Tensor> {
    let v: Vec<u32> = rows
        .iter()
        .map(|&r| u32::try_from(r).map_err(|_| ZslError::Invalid(format!("index {r} too large"))))
        .collect::<Result<_>>()?;
    Ok(Tensor::from_vec(v, rows.len(), device)?)
}

pub(crate) fn shape_error(what: &str, expected: String, got: &Tensor) -> ZslError {
    ZslError::Shape {
        what: what.to_owned(),
        expected,
        got: format!("{:?}", got.dims()),
    }
}

pub(crate) fn check_shape(what: &str, t: &Tensor, expected: &[usize]) -> Result<()> {
    if t.dims() != expected {
        return Err(shape_error(what, format!("{expected:?}"), t));
    }
    Ok(())
}
