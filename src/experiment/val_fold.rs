//! One pseudo-unseen validation fold of the selection ([`super::select`]): its tensors, with labels local to its
//! class sets, and its model (trained during the selection, and again up to the chosen epoch when the run keeps
//! its fold models, [`super::fold_models`]).

use std::collections::HashMap;

use candle_core::Tensor;
use candle_nn::VarMap;

use super::select::{
    GZSL_VAL_ROWS_CAP, Protocol, SPREAD_ROWS, ValidationSplit, capped_rows, fold_batch_size,
    snapshot,
};
use crate::eval::GzslLayout;
use crate::eval::layout::local_labels;
use crate::zsl::trainer::{BatchSource, RowsOf, TrainConfig, TrainSet, train};
use crate::zsl::{ClassEmbeddings, Dims, FeatureBatch, MethodConfig, Result, ZslError};

/// One validation fold's tensors, with labels local to its class sets.
///
/// The training rows are not copied: batches are drawn from the split's features through the fold's row list (the
/// fold is its own [`BatchSource`]), since a copy of STAR's map for most of the training rows doubled the memory a
/// run needs. Only their pooled features are kept, for the methods' input statistics.
pub(super) struct ValFold<'a> {
    /// The features the fold's rows index (the split's, or the fold encoder's).
    features: &'a FeatureBatch,
    train_rows: Vec<usize>,
    /// `features` at `train_rows` without STAR's map.
    pub(super) train: FeatureBatch,
    pub(super) train_labels: Vec<usize>,
    pub(super) seen_classes: ClassEmbeddings,
    /// The pseudo-unseen rows, when they are not all among the GZSL rows (`unseen_in_gzsl` is `None`).
    pub(super) unseen: Option<FeatureBatch>,
    pub(super) unseen_labels: Vec<usize>,
    pub(super) unseen_classes: ClassEmbeddings,
    /// GZSL validation rows (held-out pseudo-seen plus pseudo-unseen), at most GZSL_VAL_ROWS_CAP.
    pub(super) gzsl: FeatureBatch,
    pub(super) gzsl_labels: Vec<usize>,
    /// Pseudo-seen classes first, then pseudo-unseen.
    pub(super) all_classes: ClassEmbeddings,
    pub(super) gzsl_seen: Vec<bool>,
    /// Training rows the model's score spread is measured on, at most SPREAD_ROWS.
    pub(super) spread: FeatureBatch,
    /// Where the ZSL block (pseudo-unseen rows, pseudo-unseen columns) lies in the GZSL score matrix, when every
    /// pseudo-unseen row is among the GZSL rows (not capped): its rows and columns, in ZSL order.
    pub(super) unseen_in_gzsl: Option<(Vec<usize>, Vec<usize>)>,
}

impl BatchSource for ValFold<'_> {
    fn batch(&self, rows: &[usize], rng: &mut rand::rngs::StdRng) -> Result<FeatureBatch> {
        let of_features = RowsOf {
            source: self.features,
            rows: &self.train_rows,
        };
        of_features.batch(rows, rng)
    }
}

impl<'a> ValFold<'a> {
    /// The fold's untrained model and its options at `lr`, with as many optimiser steps per epoch as the final model
    /// on `final_rows` samples gets, so that a chosen epoch means the same training in both (at one batch size a
    /// fold, on about half the rows, would take half the steps and its best epoch would land early).
    pub(super) fn model(
        &self,
        method_cfg: &MethodConfig,
        train_cfg: &TrainConfig,
        lr: f64,
        final_rows: usize,
        dims: Dims,
        device: &candle_core::Device,
    ) -> Result<(Box<dyn crate::zsl::ZslMethod>, VarMap, TrainConfig)> {
        let cfg = TrainConfig {
            lr,
            batch_size: fold_batch_size(self.train_labels.len(), final_rows, train_cfg.batch_size),
            ..train_cfg.clone()
        };
        let (method, varmap) = method_cfg.build_trainable_with(dims, device, cfg.seed, cfg.init)?;
        method_cfg.fit_statistics(&varmap, &self.train)?;
        Ok((method, varmap, cfg))
    }

    /// The fold's training set; a transductive run sees the fold's own pseudo-unseen texts, never the real unseen
    /// ones. Batches come from the fold's rows of its features (the same values a copy would give).
    pub(super) fn train_set(&self, method_cfg: &MethodConfig) -> TrainSet<'_> {
        TrainSet {
            features: &self.train,
            labels: &self.train_labels,
            classes: &self.seen_classes,
            all_classes: method_cfg.transductive_text().then_some(&self.all_classes),
            // The selection puts STAR's online augmentation here where it applies; kept fold models are InfoCPL's
            // only, which never augments, so `model_at` retrains them exactly without it.
            augment: Some(self),
        }
    }

    /// The fold model's weights after `epoch` (0-based), trained as the selection trained it (same seed, options
    /// and data, so the same weights), stopping there.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn model_at(
        &self,
        method_cfg: &MethodConfig,
        train_cfg: &TrainConfig,
        lr: f64,
        epoch: usize,
        final_rows: usize,
        dims: Dims,
        device: &candle_core::Device,
    ) -> Result<HashMap<String, Tensor>> {
        let (method, varmap, cfg) =
            self.model(method_cfg, train_cfg, lr, final_rows, dims, device)?;
        let mut snap = None;
        // Training has no early stop: the callback ends it with `Stopped` once the weights are taken.
        let ran = train(
            method.as_ref(),
            &varmap,
            &self.train_set(method_cfg),
            &cfg,
            |e, _| {
                if e == epoch {
                    snap = Some(snapshot(&varmap)?);
                    return Err(ZslError::Stopped { epochs_done: e + 1 });
                }
                Ok(())
            },
        );
        match (snap, ran) {
            (Some(weights), _) => Ok(weights),
            (None, Err(e)) => Err(e),
            (None, Ok(_)) => Err(ZslError::Invalid(format!(
                "a fold model ran {} epochs, the chosen epoch is {epoch}",
                cfg.epochs
            ))),
        }
    }

    /// `features`: the rows of `p.train` as this fold's encoder sees them.
    pub(super) fn new(
        p: &Protocol<'_>,
        features: &'a FeatureBatch,
        split: &ValidationSplit,
        seed: u64,
    ) -> Result<Self> {
        let layout = GzslLayout::new(&split.pseudo_seen, &split.pseudo_unseen);
        let mut g_rows = split.val_seen_rows.clone();
        g_rows.extend_from_slice(&split.val_unseen_rows);
        let unseen_in_gzsl = (g_rows.len() <= GZSL_VAL_ROWS_CAP).then(|| {
            let start = split.val_seen_rows.len();
            (
                (start..g_rows.len()).collect(),
                (layout.num_seen()..layout.len()).collect(),
            )
        });
        // A uniform subsample keeps the seen/unseen mix of the full validation set in expectation.
        let g_rows = capped_rows(g_rows, GZSL_VAL_ROWS_CAP, seed);
        let unseen = match unseen_in_gzsl {
            Some(_) => None,
            None => Some(features.select(&split.val_unseen_rows)?),
        };
        let pooled_only = FeatureBatch {
            map: None,
            ..features.clone()
        };
        Ok(Self {
            features,
            train_rows: split.train_rows.clone(),
            train: pooled_only.select(&split.train_rows)?,
            train_labels: local_labels(p.train_labels, &split.train_rows, &split.pseudo_seen),
            seen_classes: p.classes.select(&split.pseudo_seen)?,
            unseen,
            unseen_labels: local_labels(
                p.train_labels,
                &split.val_unseen_rows,
                &split.pseudo_unseen,
            ),
            unseen_classes: p.classes.select(&split.pseudo_unseen)?,
            gzsl: features.select(&g_rows)?,
            gzsl_labels: layout.local_labels(p.train_labels, &g_rows),
            all_classes: p.classes.select(layout.classes())?,
            gzsl_seen: layout.seen_mask(),
            spread: features.select(&capped_rows(split.train_rows.clone(), SPREAD_ROWS, seed))?,
            unseen_in_gzsl,
        })
    }
}
