//! Writes the seed corpus of every fuzz target into `OUT/<target>/`, from the real files in `DATA` (`../shared/data`)
//! and small files written by skelzero's own writers. Run by run.sh; nothing it writes is committed.
//!
//! `seeds DATA OUT`

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Errors as strings: this tool only reports and stops.
type Result<T> = std::result::Result<T, String>;

/// Inputs of the text readers are cut to this many bytes (run.sh passes the same `-max_len`).
const MAX_LEN: usize = 16384;

struct Seeds {
    out: PathBuf,
    count: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.out.join(target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
        self.count += 1;
        Ok(())
    }

    /// The first `MAX_LEN` bytes of `bytes`, cut at a line end.
    fn put_text(&mut self, target: &str, name: &str, prefix: &[u8], bytes: &[u8]) -> Result<()> {
        let mut cut = bytes.len().min(MAX_LEN - prefix.len());
        if cut < bytes.len()
            && let Some(nl) = bytes[..cut].iter().rposition(|&b| b == b'\n')
        {
            cut = nl + 1;
        }
        let mut v = prefix.to_vec();
        v.extend_from_slice(&bytes[..cut]);
        self.put(target, name, &v)
    }
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn files(dir: &Path, ext: &str, max: usize) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v.truncate(max);
    Ok(v)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An NTU file cut to its first `keep` frames, with the frame count in line 1 changed to match.
fn ntu_head(text: &str, keep: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![keep.to_string()];
    let mut i = 1;
    for _ in 0..keep {
        let Some(bodies) = lines.get(i).and_then(|l| l.trim().parse::<usize>().ok()) else {
            break;
        };
        let end = (i + 1 + bodies * 27).min(lines.len());
        out.extend(lines[i..end].iter().map(|s| s.to_string()));
        i = end;
    }
    out.join("\r\n") + "\r\n"
}

fn skeleton_seeds(s: &mut Seeds, data: &Path) -> Result<()> {
    for p in files(&data.join("ntu-rgbd-samples"), ".skeleton", 5)? {
        let text = String::from_utf8_lossy(&read(&p)?).into_owned();
        for keep in [1, 3] {
            s.put(
                "ntu_skeleton",
                &format!("{}-{keep}", name_of(&p)),
                ntu_head(&text, keep).as_bytes(),
            )?;
        }
    }
    for p in files(&data.join("pku-mmd-v1/skeleton"), ".txt", 4)? {
        // Three frames of 150 numbers each.
        let bytes = read(&p)?;
        let end = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(2)
            .map_or(bytes.len(), |(i, _)| i + 1);
        s.put("pku_skeleton", &name_of(&p), &bytes[..end])?;
    }
    for p in files(&data.join("pku-mmd-v1/label"), ".txt", 6)? {
        let bytes = read(&p)?;
        s.put_text(
            "pku_labels",
            &format!("none-{}", name_of(&p)),
            b"\x01",
            &bytes,
        )?;
        s.put_text(
            "pku_labels",
            &format!("frames-{}", name_of(&p)),
            b"\x40",
            &bytes,
        )?;
    }
    for p in files(&data.join("msr-action3d/skeleton"), ".txt", 8)? {
        // Three frames of 20 joint lines.
        let bytes = read(&p)?;
        let end = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(59)
            .map_or(bytes.len(), |(i, _)| i + 1);
        s.put("msr_action3d", &name_of(&p), &bytes[..end])?;
    }
    // No UTKinect files in the shared data: frames from MSR's coordinates, in UTKinect's layout (frame id, then 20
    // joints' x y z on one line).
    if let Some(p) = files(&data.join("msr-action3d/skeleton"), ".txt", 1)?.first() {
        let text = String::from_utf8_lossy(&read(p)?).into_owned();
        let joints: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().take(3).collect())
            .collect();
        let mut utk = String::new();
        for (f, frame) in joints.chunks(20).take(4).enumerate() {
            utk.push_str(&format!("{}", 252 + f * 3));
            for j in frame {
                utk.push(' ');
                utk.push_str(&j.join(" "));
            }
            utk.push('\n');
        }
        s.put("utkinect_joints", "joints_s01_e01.txt", utk.as_bytes())?;
    }
    s.put(
        "utkinect_labels",
        "actionLabel.txt",
        b"s01_e01\nwalk: 252 390\nsitDown: 572 686\nstandUp: 700 802\npickUp: 873 962\ncarry: 1011 1176\n\
          throw: 1300 1357\npush: 1423 1508\npull: 1574 1637\nwaveHands: 1711 1834\nclapHands: 1890 2006\n\
          s01_e02\nwalk: NaN NaN\nsitDown: 12 30\n",
    )?;
    Ok(())
}

fn npy_seeds(s: &mut Seeds, data: &Path) -> Result<()> {
    for p in files(&data.join("ntu-rgbd-samples"), ".npy", 2)? {
        s.put("npy", &name_of(&p), &read(&p)?)?;
    }
    for p in files(&data.join("golden-embeddings"), "_probe.npy", 2)? {
        s.put("npy", &name_of(&p), &read(&p)?)?;
    }
    let tmp = s.out.join("tmp.npy");
    let io = |e: std::io::Error| e.to_string();
    // A two-sample NTU batch (N, 3, T, 25, M) and an int64 label array, written by skelzero's own writer.
    let batch: Vec<f32> = (0..2 * 3 * 4 * 25 * 2)
        .map(|i| (i % 17) as f32 * 0.1)
        .collect();
    skelzero::formats::npy::write_f32(&tmp, &[2, 3, 4, 25, 2], &batch).map_err(io)?;
    s.put("npy", "batch.npy", &read(&tmp)?)?;
    skelzero::formats::npy::write_i64(&tmp, &[4], &[0, 3, 59, 7]).map_err(io)?;
    s.put("npy", "labels.npy", &read(&tmp)?)?;
    std::fs::remove_file(&tmp).map_err(io)?;
    Ok(())
}

/// A real Neuron archive with its storage cut to `classes` classes (the reader's smallest valid input).
fn neuron_seeds(s: &mut Seeds, data: &Path) -> Result<()> {
    let row = 10 * 768 * 4;
    let dir = data.join("text/neuron/pku/spatial");
    for (k, p) in files(&dir, ".tar", 2)?.iter().enumerate() {
        let file = std::fs::File::open(p).map_err(|e| e.to_string())?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
            let name = entry.name().map_err(|e| e.to_string())?.to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
            if name.ends_with("/data/0") {
                bytes.truncate(row * (k + 1));
            }
            out.start_file(name, stored).map_err(|e| e.to_string())?;
            out.write_all(&bytes).map_err(|e| e.to_string())?;
        }
        let bytes = out.finish().map_err(|e| e.to_string())?.into_inner();
        s.put("neuron_zip", &name_of(p), &bytes)?;
    }
    Ok(())
}

fn text_seeds(s: &mut Seeds, data: &Path) -> Result<()> {
    let t = data.join("text");
    let pick = [
        (0u8, t.join("smie/pku_des.txt")),
        (0, t.join("star/ntu120_label.txt")),
        (1, t.join("star/pkuv1_part_descriptions.txt")),
        (2, t.join("neuron/pku/spatial/spatial_cg.json")),
        (3, t.join("sadvae/pku51.csv")),
        (4, data.join("splits/ntu120_classes.tsv")),
        (4, data.join("pku-mmd-v1/classes.tsv")),
    ];
    for (which, p) in pick {
        s.put_text("class_texts", &name_of(&p), &[which], &read(&p)?)?;
    }
    // The MSR text folder as one input: the four files joined by form feeds.
    let dir = data.join("msr-action3d/text");
    let mut joined = Vec::new();
    for (i, f) in ["classes.tsv", "sentence.tsv", "parts.tsv", "phrases.tsv"]
        .iter()
        .enumerate()
    {
        if i > 0 {
            joined.push(0x0c);
        }
        let bytes = read(&dir.join(f))?;
        joined.extend_from_slice(&bytes[..bytes.len().min(MAX_LEN / 4)]);
    }
    let mut v = vec![5u8];
    v.extend_from_slice(&joined);
    s.put("class_texts", "msr-text-dir", &v)?;
    s.put(
        "class_texts",
        "split.json",
        b"\x06{\"name\": \"mine\", \"unseen\": [3, 7, 9], \"train_subjects\": [1, 3, 5]}",
    )?;
    Ok(())
}

fn config_seeds(s: &mut Seeds) -> Result<()> {
    use skelzero::nn::encoder::{EncoderConfig, EncoderKind};
    let dir = s.out.join("tmp-run");
    for (k, kind) in [EncoderKind::Stgcn, EncoderKind::Shiftgcn]
        .into_iter()
        .enumerate()
    {
        // The crate's constructor and `Default` fill every field not set here (a new field cannot break this).
        let data = skelzero::pretrain::run::DataInfo {
            dataset: "msr".into(),
            split: "msr1".into(),
            frames: 64,
            ..Default::default()
        };
        let cfg = skelzero::pretrain::run::RunConfig::new(
            data,
            vec![0, 1, 2, 5, 7],
            EncoderConfig::default_for(kind),
        );
        let run = skelzero::pretrain::run::RunDir::new(&dir);
        run.save_config(&cfg).map_err(|e| e.to_string())?;
        s.put(
            "configs",
            &format!("pretrain-{k}.toml"),
            &[[0u8].as_slice(), &read(&run.config_path())?].concat(),
        )?;
    }
    for kind in skelzero::zsl::MethodKind::ALL {
        let method = skelzero::zsl::MethodConfig::default_for(kind);
        let dims = skelzero::zsl::Dims {
            visual: 256,
            text: 384,
        };
        let split = skelzero::experiment::run::SplitInfo {
            name: "split1".into(),
            class_names: vec!["a".into(), "b".into(), "c".into()],
            seen: vec![0, 1],
            unseen: vec![2],
        };
        let cfg = skelzero::experiment::run::RunConfig {
            gamma: 0.1,
            epoch: 3,
            features: Some("features/split1.safetensors".into()),
            ..skelzero::experiment::run::RunConfig::new(method.clone(), dims, split)
        };
        let text = toml::to_string_pretty(&cfg).map_err(|e| e.to_string())?;
        let text = skelzero::util::format_version::toml_with_format(&text, 1);
        s.put(
            "configs",
            &format!("run-{kind}.toml"),
            &[&[1u8], text.as_bytes()].concat(),
        )?;
        let text = toml::to_string_pretty(&method).map_err(|e| e.to_string())?;
        s.put(
            "configs",
            &format!("method-{kind}.toml"),
            &[&[3u8], text.as_bytes()].concat(),
        )?;
    }
    s.put(
        "configs",
        "split.toml",
        b"\x02name = \"my-split\"\nunseen = [3, 7, 9]\nseen = [1, 2, 4, 5, 6, 8]\ntrain_subjects = [1, 3, 5]\n",
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn safetensors_seeds(s: &mut Seeds) -> Result<()> {
    use candle_core::{Device, Tensor};
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let p = s.out.join("tmp.safetensors");
    skelzero::nn::checkpoint::save_varmap(&seed_varmap(), &p).map_err(|e| err(&e))?;
    s.put("checkpoint", "seed.safetensors", &read(&p)?)?;

    let dev = Device::Cpu;
    let t = |n: usize, d: usize| {
        let v: Vec<f32> = (0..n * d).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect();
        Tensor::from_vec(v, (n, d), &dev).map_err(|e| err(&e))
    };
    let batch = |n| -> Result<skelzero::zsl::FeatureBatch> {
        Ok(skelzero::zsl::FeatureBatch::from_pooled(t(n, 4)?))
    };
    let f = skelzero::zsl::features::SplitFeatures {
        train: batch(4)?,
        train_labels: vec![0, 1, 0, 1],
        test: batch(3)?,
        test_labels: vec![2, 0, 2],
        seen: vec![0, 1],
        unseen: vec![2],
        train_ids: Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
        test_ids: None,
    };
    f.save(&p).map_err(|e| err(&e))?;
    s.put(
        "zsl_safetensors",
        "features",
        &[&[0u8], read(&p)?.as_slice()].concat(),
    )?;
    let ce = skelzero::zsl::ClassEmbeddings::new(t(3, 5)?, t(3, 5)?);
    skelzero::zsl::features::save_class_embeddings(&p, &ce).map_err(|e| err(&e))?;
    s.put(
        "zsl_safetensors",
        "classes",
        &[&[1u8], read(&p)?.as_slice()].concat(),
    )?;
    std::fs::remove_file(&p).map_err(|e| e.to_string())?;
    Ok(())
}

/// The checkpoint target's network (fuzz/src/lib.rs `seed_varmap`; keep the two in step).
fn seed_varmap() -> candle_nn::VarMap {
    let vm = candle_nn::VarMap::new();
    let dev = candle_core::Device::Cpu;
    let init = candle_nn::Init::Const(0.5);
    for (name, shape) in [
        ("block.0.weight", vec![4, 3]),
        ("block.0.bias", vec![4]),
        ("head.weight", vec![2, 4]),
    ] {
        if let Err(e) = vm.get(shape, name, init, candle_core::DType::F32, &dev) {
            panic!("building the seed network: {e}");
        }
    }
    vm
}

/// The first `n` lines of `bytes`.
fn head_lines(bytes: &[u8], n: usize) -> &[u8] {
    let end = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(n.saturating_sub(1))
        .map_or(bytes.len(), |(i, _)| i + 1);
    &bytes[..end]
}

/// The files of one dataset folder as one input of the `dataset_folder` target (its layout byte first).
fn folder_input(layout: u8, files: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![layout];
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            v.extend_from_slice(skelzero_fuzz_separator());
        }
        v.extend_from_slice(f);
    }
    v
}

/// fuzz/src/lib.rs `FILE_SEPARATOR` (keep the two in step).
fn skelzero_fuzz_separator() -> &'static [u8] {
    b"\xff\xfeFILE\xff\xfe"
}

/// UTKinect frames (frame id, then 20 joints' x y z on one line) from MSR's coordinates.
fn utk_from_msr(msr: &str, first_frame: usize) -> String {
    let joints: Vec<Vec<&str>> = msr
        .lines()
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    let mut utk = String::new();
    for (f, frame) in joints.chunks(20).take(4).enumerate() {
        utk.push_str(&format!("{}", first_frame + f * 3));
        for j in frame {
            utk.push(' ');
            utk.push_str(&j.join(" "));
        }
        utk.push('\n');
    }
    utk
}

fn folder_seeds(s: &mut Seeds, data: &Path) -> Result<()> {
    let t = "dataset_folder";
    // PKU-MMD: two recordings cut to 10 frames, labels of their first actions within them, the class table.
    let pku = data.join("pku-mmd-v1");
    let mut parts = Vec::new();
    for p in files(&pku.join("label"), ".txt", 2)? {
        let label = String::from_utf8_lossy(&read(&p)?).into_owned();
        let actions: Vec<&str> = label
            .lines()
            .filter_map(|l| l.split(',').next())
            .take(2)
            .collect();
        let skeleton = read(&pku.join("skeleton").join(name_of(&p)))?;
        parts.push(head_lines(&skeleton, 10).to_vec());
        let a = actions.first().copied().unwrap_or("1");
        let b = actions.get(1).copied().unwrap_or(a);
        parts.push(format!("{a},1,4,1\n{b},5,10,1\n").into_bytes());
    }
    parts.push(read(&pku.join("classes.tsv"))?);
    s.put(t, "pku", &folder_input(0, &parts))?;
    // MSR Action3D: two recordings of three frames and the class table.
    let msr = data.join("msr-action3d");
    let mut parts = Vec::new();
    for p in ["a01_s01_e01_skeleton3D.txt", "a02_s01_e01_skeleton3D.txt"] {
        parts.push(head_lines(&read(&msr.join("skeleton").join(p))?, 60).to_vec());
    }
    parts.push(read(&msr.join("text/classes.tsv"))?);
    s.put(t, "msr", &folder_input(1, &parts))?;
    // UTKinect: two sequences made from MSR's coordinates and their label file.
    let text = String::from_utf8_lossy(&read(&msr.join("skeleton/a01_s01_e01_skeleton3D.txt"))?)
        .into_owned();
    let parts = vec![
        utk_from_msr(&text, 252).into_bytes(),
        utk_from_msr(&text, 10).into_bytes(),
        b"s01_e01\nwalk: 252 258\nsitDown: 255 261\ns01_e02\nwalk: 10 16\nsitDown: NaN NaN\n"
            .to_vec(),
    ];
    s.put(t, "utk", &folder_input(2, &parts))?;
    // NTU: two raw files of two frames and a joint array cut to four frames.
    let ntu = data.join("ntu-rgbd-samples");
    let mut parts = Vec::new();
    for p in files(&ntu, ".skeleton", 2)? {
        parts.push(ntu_head(&String::from_utf8_lossy(&read(&p)?), 2).into_bytes());
    }
    if let Some(p) = files(&ntu, ".npy", 2)?.last() {
        let joints = skelzero::formats::npy::read_f32(p).map_err(|e| e.to_string())?;
        let tmp = s.out.join("tmp.npy");
        let frame = 25 * 3;
        let keep = joints.data.len().min(4 * frame);
        skelzero::formats::npy::write_f32(&tmp, &[keep / frame, 25, 3], &joints.data[..keep])
            .map_err(|e| e.to_string())?;
        parts.push(read(&tmp)?);
        std::fs::remove_file(&tmp).map_err(|e| e.to_string())?;
    }
    s.put(t, "ntu", &folder_input(3, &parts))?;
    // `.npy` batches with an `.npy` and a text label file, written by skelzero's writers.
    let tmp = s.out.join("tmp.npy");
    let io = |e: std::io::Error| e.to_string();
    let batch: Vec<f32> = (0..2 * 3 * 4 * 25 * 2)
        .map(|i| (i % 13) as f32 * 0.1)
        .collect();
    skelzero::formats::npy::write_f32(&tmp, &[2, 3, 4, 25, 2], &batch).map_err(io)?;
    let x = read(&tmp)?;
    skelzero::formats::npy::write_i64(&tmp, &[2], &[0, 3]).map_err(io)?;
    let xl = read(&tmp)?;
    std::fs::remove_file(&tmp).map_err(io)?;
    let parts = vec![x.clone(), xl, x, b"1\n2\n".to_vec()];
    s.put(t, "npy", &folder_input(4, &parts))?;
    Ok(())
}

fn split_list_seeds(s: &mut Seeds, data: &Path) -> Result<()> {
    // The real lists are two very long lines: keep the first ids of each.
    for f in ["cross-subject.txt", "cross-view.txt"] {
        let text = String::from_utf8_lossy(&read(&data.join("pku-mmd-v1").join(f))?).into_owned();
        let mut out = String::new();
        for line in text.lines() {
            let keep: Vec<&str> = line.split(',').take(40).collect();
            out.push_str(&keep.join(","));
            out.push('\n');
        }
        s.put("pku_splits", f, out.as_bytes())?;
    }
    Ok(())
}

fn label_seeds(s: &mut Seeds) -> Result<()> {
    // The first byte: even for text, odd for `.npy`; half of it is the sample count.
    s.put("ntu_labels", "text", b"\x08 0\n3\n\n59\n7\n")?;
    let tmp = s.out.join("tmp.npy");
    let io = |e: std::io::Error| e.to_string();
    skelzero::formats::npy::write_i64(&tmp, &[4], &[0, 3, 59, 7]).map_err(io)?;
    s.put(
        "ntu_labels",
        "npy",
        &[&[9u8], read(&tmp)?.as_slice()].concat(),
    )?;
    // One-hot (N, C), as some NTU pipelines save labels.
    let onehot: Vec<i64> = (0..3 * 5).map(|i| i64::from(i % 6 == 0)).collect();
    skelzero::formats::npy::write_i64(&tmp, &[3, 5], &onehot).map_err(io)?;
    s.put(
        "ntu_labels",
        "onehot",
        &[&[7u8], read(&tmp)?.as_slice()].concat(),
    )?;
    std::fs::remove_file(&tmp).map_err(io)?;
    Ok(())
}

/// The installed sentence encoders' configs (when installed), and MiniLM's as written here.
fn text_config_seeds(s: &mut Seeds) -> Result<()> {
    const MINILM: &str = r#"{"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02,
"intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
"num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute",
"type_vocab_size": 2, "vocab_size": 30522}"#;
    s.put(
        "text_config",
        "minilm",
        format!("{MINILM}\x0c{{\"max_seq_length\": 256}}").as_bytes(),
    )?;
    if let Ok(store) = skelzero::text::ModelStore::default_location() {
        for model in skelzero::text::KnownModel::ALL {
            let dir = store.install_dir(model);
            let (Ok(config), Ok(sbert)) = (
                std::fs::read(dir.join("config.json")),
                std::fs::read(dir.join("sentence_bert_config.json")),
            ) else {
                continue;
            };
            s.put(
                "text_config",
                model.name(),
                &[config.as_slice(), b"\x0c", &sbert].concat(),
            )?;
        }
    }
    Ok(())
}

fn predictions_seeds(s: &mut Seeds) -> Result<()> {
    let p = skelzero::pipeline::predictions::Predictions {
        method: "devise".into(),
        sample_ids: vec!["a#0".into(), "a#1".into(), "b#0".into()],
        labels: vec![0, 2, 3],
        classes: vec![0, 2, 3],
        unseen: vec![false, true, true],
        scores: vec![0.9, 0.1, 0.0, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4],
        class_names: vec!["bow".into(), "clap".into(), "drink".into(), "drop".into()],
        gamma: 0.1,
        ..Default::default()
    };
    let file = s.out.join("predictions.json");
    p.save(&file).map_err(|e| e.to_string())?;
    s.put("predictions", "run", &read(&file)?)?;
    std::fs::remove_file(&file).map_err(|e| e.to_string())?;
    Ok(())
}

fn description_set_seeds(s: &mut Seeds) -> Result<()> {
    let set = skelzero::dataset::description_set::DescriptionSet::from_class_texts(
        &skelzero::dataset::synthetic::synthetic_texts(),
    );
    s.put(
        "description_set",
        "demo",
        set.to_toml(Some("demo")).as_bytes(),
    )?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [data, out] = args.as_slice() else {
        eprintln!("usage: seeds DATA OUT");
        return std::process::ExitCode::FAILURE;
    };
    let mut s = Seeds {
        out: out.clone(),
        count: 0,
    };
    let steps: [(&str, &dyn Fn(&mut Seeds) -> Result<()>); 12] = [
        ("skeletons", &|s| skeleton_seeds(s, data)),
        ("npy", &|s| npy_seeds(s, data)),
        ("neuron", &|s| neuron_seeds(s, data)),
        ("texts", &|s| text_seeds(s, data)),
        ("configs", &config_seeds),
        ("safetensors", &safetensors_seeds),
        ("dataset folders", &|s| folder_seeds(s, data)),
        ("split lists", &|s| split_list_seeds(s, data)),
        ("label files", &label_seeds),
        ("text configs", &text_config_seeds),
        ("predictions", &predictions_seeds),
        ("description sets", &description_set_seeds),
    ];
    for (what, step) in steps {
        if let Err(e) = step(&mut s) {
            eprintln!("seeds ({what}): {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    println!("{} seed files in {}", s.count, out.display());
    std::process::ExitCode::SUCCESS
}
