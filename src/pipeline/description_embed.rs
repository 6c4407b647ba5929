//! Class embeddings of an edited description set, embedding only what changed: every text slot (a class's name,
//! sentence, one body part, one phrase) keeps the row of a set already embedded when its text is the same there, and
//! only the texts found nowhere go through the sentence encoder (in one call). Fields the loaded method's scores do
//! not read are left as they were, so editing them costs nothing.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::class_texts::TextEmbedder;
use super::{PipelineError, Result};
use crate::dataset::description_set::DescriptionSet;
use crate::zsl::{ClassEmbeddings, MethodKind};

/// Which class texts a method's scores read (training may read more: STAR learns from the part descriptions but
/// scores with the class names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextUse {
    pub names: bool,
    pub sentences: bool,
    pub parts: bool,
    pub phrases: bool,
}

impl TextUse {
    pub const ALL: TextUse = TextUse {
        names: true,
        sentences: true,
        parts: true,
        phrases: true,
    };

    /// What `kind`'s scores read: DeViSE, RelationNet and SMIE the sentence; STAR the class name (its part
    /// descriptions shape training only); InfoCPL the phrase codebook and the motion description (the sentence).
    pub fn scored_by(kind: MethodKind) -> Self {
        let none = TextUse {
            names: false,
            sentences: false,
            parts: false,
            phrases: false,
        };
        match kind {
            MethodKind::Devise | MethodKind::RelationNet | MethodKind::Smie => TextUse {
                sentences: true,
                ..none
            },
            MethodKind::Star => TextUse {
                names: true,
                ..none
            },
            MethodKind::InfoCpl => TextUse {
                sentences: true,
                phrases: true,
                ..none
            },
        }
    }
}

/// A description set with the class embeddings made from it.
#[derive(Clone, Debug)]
pub struct EmbeddedSet {
    pub texts: DescriptionSet,
    pub embeddings: ClassEmbeddings,
}

/// The result of [`embed_changes`].
#[derive(Clone, Debug)]
pub struct Embedded {
    /// The texts the new embeddings were made from (`next`'s for the fields read, the first known set's otherwise).
    pub set: EmbeddedSet,
    /// The texts that went through the encoder.
    pub encoded: Vec<String>,
}

/// Rows of one field of one known set, as flat data.
struct Rows {
    data: Vec<f32>,
    /// Rows per class (1 for names and sentences, P for parts, K for phrases).
    per_class: usize,
}

fn rows_of(t: &Tensor, c: usize) -> Result<Rows> {
    let data = t.flatten_all()?.to_vec1::<f32>()?;
    let d = t.dims().last().copied().unwrap_or(1);
    Ok(Rows {
        per_class: data.len().checked_div(c * d).unwrap_or(0),
        data,
    })
}

struct Known<'a> {
    texts: &'a DescriptionSet,
    names: Rows,
    sentences: Rows,
    parts: Option<Rows>,
    phrases: Option<Rows>,
}

/// Embeddings for `next`. Each slot's row comes from the first set of `known` whose text for that slot is the same
/// (a phrase may come from any position of its class's known list); the texts found nowhere are embedded with
/// `embedder`. Fields `used` does not include keep the rows (and texts) of `known[0]`. Phrase lists of uneven
/// length are filled up by repeating a class's phrases, as [`super::class_embeddings_from_texts`] does.
pub fn embed_changes(
    next: &DescriptionSet,
    known: &[&EmbeddedSet],
    used: TextUse,
    embedder: &mut dyn TextEmbedder,
) -> Result<Embedded> {
    let first = known.first().ok_or_else(|| {
        PipelineError::Invalid("no embedded description set to start from".into())
    })?;
    let c = next.len();
    let d = first.embeddings.dim();
    let known: Vec<Known> = known
        .iter()
        .filter(|k| {
            k.texts.len() == c && k.embeddings.num_classes() == c && k.embeddings.dim() == d
        })
        .map(|k| {
            Ok(Known {
                texts: &k.texts,
                names: rows_of(&k.embeddings.names, c)?,
                sentences: rows_of(&k.embeddings.sentences, c)?,
                parts: k
                    .embeddings
                    .parts
                    .as_ref()
                    .map(|t| rows_of(t, c))
                    .transpose()?,
                phrases: k
                    .embeddings
                    .phrases
                    .as_ref()
                    .map(|t| rows_of(t, c))
                    .transpose()?,
            })
        })
        .collect::<Result<_>>()?;
    if known.is_empty() {
        return Err(PipelineError::Invalid(format!(
            "the description set has {c} classes, the run's embeddings {}",
            first.embeddings.num_classes()
        )));
    }
    // The set the result describes: `next` where read, the first known set elsewhere.
    let mut out_set = next.clone();
    for (o, f) in out_set.classes.iter_mut().zip(&first.texts.classes) {
        if !used.names {
            o.name = f.name.clone();
        }
        if !used.sentences {
            o.sentence = f.sentence.clone();
        }
        if !used.parts {
            o.parts = f.parts.clone();
        }
        if !used.phrases {
            o.phrases = f.phrases.clone();
        }
    }
    let mut plan = Plan::default();
    let mut slot = |k: usize, what: SlotKind, text: &str| match find_row(&known, k, what, text, d) {
        Some(row) => Slot::Row(row),
        None => Slot::Text(plan.ask(text)),
    };
    let mut names = Vec::with_capacity(c);
    let mut sentences = Vec::with_capacity(c);
    let mut parts = Vec::new();
    let mut phrases: Vec<Vec<Slot>> = Vec::new();
    for (k, cls) in out_set.classes.iter().enumerate() {
        names.push(slot(k, SlotKind::Name, &cls.name));
        sentences.push(slot(k, SlotKind::Sentence, &cls.sentence));
        if let Some(p6) = &cls.parts {
            for (p, text) in p6.iter().enumerate() {
                parts.push(slot(k, SlotKind::Part(p), text));
            }
        }
        if let Some(list) = &cls.phrases {
            let fallback = [cls.name.clone()];
            let list = if list.is_empty() { &fallback[..] } else { list };
            phrases.push(
                list.iter()
                    .map(|text| slot(k, SlotKind::Phrase, text))
                    .collect(),
            );
        }
    }
    let encoded = plan.texts.clone();
    let vectors = plan.run(embedder, d)?;
    let fill = |s: &Slot| -> Vec<f32> {
        match s {
            Slot::Row(r) => r.clone(),
            Slot::Text(i) => vectors[*i].clone(),
        }
    };
    let dev = Device::Cpu;
    let flat = |slots: &[Slot]| slots.iter().flat_map(fill).collect::<Vec<f32>>();
    let names = Tensor::from_vec(flat(&names), (c, d), &dev)?;
    let sentences = Tensor::from_vec(flat(&sentences), (c, d), &dev)?;
    let parts = (parts.len() == c * 6 && c > 0)
        .then(|| Tensor::from_vec(flat(&parts), (c, 6, d), &dev))
        .transpose()?
        .or_else(|| first.embeddings.parts.clone());
    let phrases = if phrases.len() == c && c > 0 {
        let kmax = phrases.iter().map(Vec::len).max().unwrap_or(0);
        let data: Vec<f32> = phrases
            .iter()
            .flat_map(|list| list.iter().cycle().take(kmax).flat_map(fill))
            .collect();
        Some(Tensor::from_vec(data, (c, kmax, d), &dev)?)
    } else {
        first.embeddings.phrases.clone()
    };
    let embeddings = ClassEmbeddings {
        names,
        // The motion description is the sentence (see `class_embeddings_from_texts`).
        motion: first.embeddings.motion.as_ref().map(|_| sentences.clone()),
        sentences,
        parts,
        phrases,
    };
    embeddings.validate()?;
    Ok(Embedded {
        set: EmbeddedSet {
            texts: out_set,
            embeddings,
        },
        encoded,
    })
}

#[derive(Clone, Copy)]
enum SlotKind {
    Name,
    Sentence,
    Part(usize),
    Phrase,
}

/// The row of class `k`'s `what` from the first known set whose text for it is `text`.
fn find_row(known: &[Known], k: usize, what: SlotKind, text: &str, d: usize) -> Option<Vec<f32>> {
    known.iter().find_map(|kn| {
        let cls = kn.texts.classes.get(k)?;
        let (rows, j) = match what {
            SlotKind::Name => (&kn.names, (cls.name == text).then_some(0)?),
            SlotKind::Sentence => (&kn.sentences, (cls.sentence == text).then_some(0)?),
            SlotKind::Part(p) => (
                kn.parts.as_ref()?,
                (cls.parts.as_ref()?.get(p)? == text).then_some(p)?,
            ),
            SlotKind::Phrase => (
                kn.phrases.as_ref()?,
                cls.phrases.as_ref()?.iter().position(|t| t == text)?,
            ),
        };
        if j >= rows.per_class {
            return None;
        }
        let at = (k * rows.per_class + j) * d;
        rows.data.get(at..at + d).map(<[f32]>::to_vec)
    })
}

enum Slot {
    Row(Vec<f32>),
    /// Index into the texts to encode.
    Text(usize),
}

/// The texts to encode, each once.
#[derive(Default)]
struct Plan {
    texts: Vec<String>,
    index: HashMap<String, usize>,
}

impl Plan {
    fn ask(&mut self, text: &str) -> usize {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        self.texts.push(text.to_owned());
        self.index.insert(text.to_owned(), self.texts.len() - 1);
        self.texts.len() - 1
    }

    fn run(&self, embedder: &mut dyn TextEmbedder, d: usize) -> Result<Vec<Vec<f32>>> {
        if self.texts.is_empty() {
            return Ok(Vec::new());
        }
        let rows = embedder
            .embed(&self.texts)
            .map_err(|e| PipelineError::Text(format!("embedding the edited class texts: {e}")))?;
        if rows.len() != self.texts.len() || rows.iter().any(|r| r.len() != d) {
            return Err(PipelineError::Text(format!(
                "the sentence encoder gives {}-dimensional vectors, the run's class embeddings are {d}-dimensional",
                rows.first().map_or(0, Vec::len)
            )));
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::description_set::{Field, Value};
    use crate::pipeline::class_embeddings_from_texts;

    /// A deterministic embedder that counts what it was asked.
    struct Hash {
        asked: Vec<String>,
    }

    impl TextEmbedder for Hash {
        fn id(&self) -> String {
            "hash".into()
        }
        fn embed(&mut self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, String> {
            self.asked.extend(texts.iter().cloned());
            Ok(texts
                .iter()
                .map(|t| {
                    let h = t
                        .bytes()
                        .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
                    (0..4)
                        .map(|i| ((h >> (i * 8)) & 0xff) as f32 + 1.0)
                        .collect()
                })
                .collect())
        }
    }

    fn close(a: &Tensor, b: &Tensor) -> bool {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        a == b
    }

    #[test]
    fn only_changed_texts_are_encoded_and_rows_match_a_full_embedding() {
        let texts = crate::dataset::synthetic::synthetic_texts();
        let set = DescriptionSet::from_class_texts(&texts);
        let mut e = Hash { asked: Vec::new() };
        let base = EmbeddedSet {
            embeddings: class_embeddings_from_texts(&set.to_class_texts(), &mut e).unwrap(),
            texts: set.clone(),
        };
        let mut h = crate::dataset::description_set::EditHistory::new(set.clone());
        h.set(2, Field::Sentence, Value::Text("jumps high".into()));
        h.set(3, Field::Part(1), Value::Text("hands clap".into()));
        let mut phr = set.classes[4].phrases.clone().unwrap();
        phr.push("one more phrase".into());
        h.set(4, Field::Phrases, Value::List(phr));
        let mut e = Hash { asked: Vec::new() };
        let out = embed_changes(h.current(), &[&base], TextUse::ALL, &mut e).unwrap();
        assert_eq!(e.asked, ["jumps high", "hands clap", "one more phrase"]);
        // The same rows as embedding everything from scratch.
        let mut e2 = Hash { asked: Vec::new() };
        let full = class_embeddings_from_texts(&h.current().to_class_texts(), &mut e2).unwrap();
        let got = &out.set.embeddings;
        assert!(close(&got.sentences, &full.sentences));
        assert!(close(&got.names, &full.names));
        assert!(close(
            got.parts.as_ref().unwrap(),
            full.parts.as_ref().unwrap()
        ));
        assert!(close(
            got.phrases.as_ref().unwrap(),
            full.phrases.as_ref().unwrap()
        ));
        // A method that scores with sentences only: the part edit is not encoded and the texts keep the old part.
        let mut e = Hash { asked: Vec::new() };
        let out = embed_changes(
            h.current(),
            &[&base],
            TextUse::scored_by(MethodKind::Devise),
            &mut e,
        )
        .unwrap();
        assert_eq!(e.asked, ["jumps high"]);
        assert_eq!(out.set.texts.classes[3].parts, set.classes[3].parts);
        // Going back to the original text reuses the original rows (the second known set).
        let mut e = Hash { asked: Vec::new() };
        let back = embed_changes(&set, &[&out.set, &base], TextUse::ALL, &mut e).unwrap();
        assert!(e.asked.is_empty(), "{:?}", e.asked);
        assert!(close(
            &back.set.embeddings.sentences,
            &base.embeddings.sentences
        ));
    }
}
