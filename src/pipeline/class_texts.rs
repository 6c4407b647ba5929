//! Class texts (names, sentences, part descriptions, phrase codebooks) to the class embeddings the zero-shot methods
//! read, through any sentence encoder.

use candle_core::{Device, Tensor};

use super::{PipelineError, Result};
use crate::dataset::texts::{ClassTexts, PartTextForm};
use crate::zsl::ClassEmbeddings;

/// A sentence encoder: one L2-normalised vector of the same size per text.
pub trait TextEmbedder {
    /// Model id, part of cache keys and run records.
    fn id(&self) -> String;
    fn embed(&mut self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String>;
}

fn matrix(
    embedder: &mut dyn TextEmbedder,
    texts: &[String],
    what: &str,
) -> Result<(Vec<f32>, usize)> {
    let rows = embedder
        .embed(texts)
        .map_err(|e| PipelineError::Text(format!("embedding the class {what}: {e}")))?;
    let d = rows.first().map_or(0, Vec::len);
    if rows.len() != texts.len() || d == 0 || rows.iter().any(|r| r.len() != d) {
        return Err(PipelineError::Text(format!(
            "the encoder returned {} vectors of uneven or zero size for {} {what}",
            rows.len(),
            texts.len()
        )));
    }
    Ok((rows.concat(), d))
}

/// Embeds every text of `texts` (the sentences also serve as InfoCPL's motion descriptions). Phrase codebooks of uneven length are filled up by repeating a class's phrases in
/// order, so every class has as many as the longest (InfoCPL's top-k attention then sees duplicates, not padding).
pub fn class_embeddings_from_texts(
    texts: &ClassTexts,
    embedder: &mut dyn TextEmbedder,
) -> Result<ClassEmbeddings> {
    class_embeddings_from_texts_with(texts, embedder, PartTextForm::Plain)
}

/// [`class_embeddings_from_texts`] with the body-part texts built as `form` says (the STAR paper preset encodes
/// `<class name>, <Part>: <description>`, as the official code does).
pub fn class_embeddings_from_texts_with(
    texts: &ClassTexts,
    embedder: &mut dyn TextEmbedder,
    form: PartTextForm,
) -> Result<ClassEmbeddings> {
    let dev = Device::Cpu;
    let c = texts.num_classes();
    if c == 0 {
        return Err(PipelineError::Invalid("no classes to embed".into()));
    }
    let (names, d) = matrix(embedder, &texts.names, "names")?;
    let sentences: Vec<String> = (0..c)
        .map(|k| texts.sentence_or_name(k).unwrap_or_default().to_owned())
        .collect();
    let (sent, _) = matrix(embedder, &sentences, "sentences")?;
    let parts = match &texts.parts {
        Some(p) if p.len() == c => {
            let flat: Vec<String> = p
                .iter()
                .zip(&texts.names)
                .flat_map(|(six, name)| {
                    six.iter()
                        .enumerate()
                        .map(move |(k, d)| form.text(name, k, d))
                })
                .collect();
            let (v, _) = matrix(embedder, &flat, "part descriptions")?;
            Some(Tensor::from_vec(v, (c, 6, d), &dev)?)
        }
        Some(p) => {
            return Err(PipelineError::Invalid(format!(
                "{} part-description sets for {c} classes",
                p.len()
            )));
        }
        None => None,
    };
    let phrases = match &texts.phrases {
        Some(p) if p.len() == c => {
            let k = p.iter().map(Vec::len).max().unwrap_or(0);
            if k == 0 {
                None
            } else {
                let mut flat = Vec::with_capacity(c * k);
                for (class, list) in p.iter().enumerate() {
                    let fallback = [texts.names[class].clone()];
                    let list = if list.is_empty() {
                        &fallback[..]
                    } else {
                        &list[..]
                    };
                    flat.extend(list.iter().cycle().take(k).cloned());
                }
                let (v, _) = matrix(embedder, &flat, "phrases")?;
                Some(Tensor::from_vec(v, (c, k, d), &dev)?)
            }
        }
        Some(p) => {
            return Err(PipelineError::Invalid(format!(
                "{} phrase lists for {c} classes",
                p.len()
            )));
        }
        None => None,
    };
    let sentences = Tensor::from_vec(sent, (c, d), &dev)?;
    let ce = ClassEmbeddings {
        names: Tensor::from_vec(names, (c, d), &dev)?,
        // InfoCPL's per-class motion description is the class's descriptive sentence here: the published text sets
        // carry one description per class, and InfoCPL's own motion texts are that kind of sentence.
        motion: Some(sentences.clone()),
        sentences,
        parts,
        phrases,
    };
    ce.validate()?;
    Ok(ce)
}

/// `ce` with the sentence embeddings of some classes replaced (class index, new embedding), e.g. after a class
/// description was edited; the motion descriptions follow, since they are the sentences here.
pub fn with_sentence_rows(
    ce: &ClassEmbeddings,
    rows: &[(usize, Vec<f32>)],
) -> Result<ClassEmbeddings> {
    let (c, d) = ce.sentences.dims2()?;
    let mut data = ce.sentences.flatten_all()?.to_vec1::<f32>()?;
    for (k, v) in rows {
        if *k >= c || v.len() != d {
            return Err(PipelineError::Invalid(format!(
                "replacement for class {k}: {} values, expected {d} for one of {c} classes",
                v.len()
            )));
        }
        data[k * d..(k + 1) * d].copy_from_slice(v);
    }
    let sentences = Tensor::from_vec(data, (c, d), ce.sentences.device())?;
    let out = ClassEmbeddings {
        motion: ce.motion.as_ref().map(|_| sentences.clone()),
        sentences,
        ..ce.clone()
    };
    out.validate()?;
    Ok(out)
}
