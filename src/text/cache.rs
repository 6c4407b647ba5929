//! On-disk embedding cache keyed by (model id, exact text), so re-scoring after an edit only embeds what changed.
//! One small file per entry, written atomically; an entry that fails its checks (truncated, wrong size, bad
//! checksum) counts as a miss and is recomputed and rewritten.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Embeddings, TextEncoder, TextError};

const MAGIC: &[u8; 8] = b"SZEMB\x00\x00\x01";
const CHECK_BYTES: usize = 16;

/// How a cached embedding call went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: usize,
    pub computed: usize,
}

/// A folder of cached embeddings.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

impl EmbeddingCache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// `$SKELZERO_EMBED_CACHE`, else `<XDG cache>/skelzero/embeddings`.
    pub fn default_location() -> Option<Self> {
        if let Some(dir) = std::env::var_os("SKELZERO_EMBED_CACHE").filter(|d| !d.is_empty()) {
            return Some(Self::new(PathBuf::from(dir)));
        }
        dirs::cache_dir().map(|d| Self::new(d.join("skelzero").join("embeddings")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of one (model, text) entry.
    pub fn entry_path(&self, model_id: &str, text: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(model_id.as_bytes());
        hasher.update([0u8]);
        hasher.update(text.as_bytes());
        let hex = hex(&hasher.finalize());
        self.dir.join(&hex[..2]).join(format!("{hex}.emb"))
    }

    /// The cached embedding, if present, intact and of size `dim`.
    pub fn get(&self, model_id: &str, text: &str, dim: usize) -> Option<Vec<f32>> {
        let path = self.entry_path(model_id, text);
        let bytes = std::fs::read(&path).ok()?;
        let decoded = decode(&bytes, dim);
        if decoded.is_none() {
            tracing::debug!(
                "corrupted embedding cache entry {}; recomputing",
                path.display()
            );
        }
        decoded
    }

    /// Stores an embedding atomically.
    pub fn put(&self, model_id: &str, text: &str, embedding: &[f32]) -> std::io::Result<()> {
        crate::util::write_bytes_atomic(&self.entry_path(model_id, text), &encode(embedding))
    }

    /// Embeds `texts` with `encoder`, reading what the cache has and computing (and storing) the rest in one batch.
    /// A failed cache write is logged, not returned: the embeddings are still right.
    pub fn embed(
        &self,
        encoder: &TextEncoder,
        texts: &[&str],
    ) -> Result<(Embeddings, CacheStats), TextError> {
        let dim = encoder.dim();
        let mut data = vec![0f32; texts.len() * dim];
        let mut missing = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            match self.get(encoder.id(), text, dim) {
                Some(v) => data[i * dim..(i + 1) * dim].copy_from_slice(&v),
                None => missing.push(i),
            }
        }
        let stats = CacheStats {
            hits: texts.len() - missing.len(),
            computed: missing.len(),
        };
        if !missing.is_empty() {
            let todo: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let fresh = encoder.embed(&todo)?;
            for (k, &i) in missing.iter().enumerate() {
                let row = fresh.row(k);
                data[i * dim..(i + 1) * dim].copy_from_slice(row);
                if let Err(e) = self.put(encoder.id(), texts[i], row) {
                    tracing::warn!(
                        "cannot write the embedding cache in {}: {e}",
                        self.dir.display()
                    );
                }
            }
        }
        Ok((Embeddings { dim, data }, stats))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn checksum(payload: &[u8]) -> [u8; CHECK_BYTES] {
    let digest = Sha256::digest(payload);
    let mut out = [0u8; CHECK_BYTES];
    out.copy_from_slice(&digest[..CHECK_BYTES]);
    out
}

/// magic, dim (u32 LE), values (f32 LE), truncated sha256 of dim + values.
fn encode(embedding: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + embedding.len() * 4 + CHECK_BYTES);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(embedding.len() as u32).to_le_bytes());
    for v in embedding {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let check = checksum(&bytes[MAGIC.len()..]);
    bytes.extend_from_slice(&check);
    bytes
}

fn decode(bytes: &[u8], dim: usize) -> Option<Vec<f32>> {
    let body_end = MAGIC.len() + 4 + dim * 4;
    if bytes.len() != body_end + CHECK_BYTES || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let stored_dim = u32::from_le_bytes(bytes[8..12].try_into().ok()?) as usize;
    if stored_dim != dim || checksum(&bytes[MAGIC.len()..body_end]) != bytes[body_end..] {
        return None;
    }
    let values: Vec<f32> = bytes[12..body_end]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    values.iter().all(|v| v.is_finite()).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_reject_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::new(dir.path().to_path_buf());
        cache.put("m@1", "drink water", &[0.6, 0.8]).unwrap();
        assert_eq!(cache.get("m@1", "drink water", 2), Some(vec![0.6, 0.8]));
        assert_eq!(cache.get("m@2", "drink water", 2), None);
        assert_eq!(cache.get("m@1", "drink water ", 2), None);
        assert_eq!(cache.get("m@1", "drink water", 3), None);

        let path = cache.entry_path("m@1", "drink water");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[13] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.get("m@1", "drink water", 2), None);
        std::fs::write(&path, &bytes[..10]).unwrap();
        assert_eq!(cache.get("m@1", "drink water", 2), None);
    }
}
