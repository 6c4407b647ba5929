//! Bad UTKinect folders, class-text files, Neuron archives and class-embedding arrays, made at test time from the real
//! files in ../shared/data: each gives one clear error naming the file and the line or field.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::io::{Read, Write};
use std::path::Path;

use bad_files::{data, write};
use skelzero::dataset::texts::{self, ClassTexts};
use skelzero::text::precomputed;

mod bad_files;
mod cli;
use cli::{skelzero, succeeded};

/// `skelzero inspect path` fails with exit status 1 and one `error:` message holding `expected`, without a panic.
fn inspect_fails(path: &Path, expected: &str) {
    let out = skelzero()
        .arg("inspect")
        .arg(path)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(expected),
        "expected `{expected}` in:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

/// UTKinect joint lines (frame id, then 20 joints' x y z) from the coordinates of a real MSR Action3D file.
fn utk_lines(frames: usize) -> Vec<String> {
    let text =
        std::fs::read_to_string(data("msr-action3d/skeleton/a01_s01_e01_skeleton3D.txt")).unwrap();
    let joints: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect();
    joints
        .chunks(20)
        .take(frames)
        .enumerate()
        .map(|(f, j)| format!("{} {}", 100 + f * 2, j.join(" ")))
        .collect()
}

#[test]
fn utkinect_bad_joints_and_labels_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lines = utk_lines(6);
    let labels = "s01_e01\nwalk: 100 104\nsitDown: 106 110\n";
    write(d, "actionLabel.txt", labels);
    let joints = write(d, "joints_s01_e01.txt", lines.join("\n") + "\n");
    // The good folder loads.
    succeeded(skelzero().arg("inspect").arg(d));

    // A joint missing from line 3 (a wrong joint count).
    let mut short = lines.clone();
    let cut: Vec<&str> = short[2].split(' ').collect();
    short[2] = cut[..cut.len() - 3].join(" ");
    std::fs::write(&joints, short.join("\n") + "\n").unwrap();
    inspect_fails(d, "joints_s01_e01.txt, line 3: expected 61 numbers, got 58");
    // Text in a number field, then NaN and infinity.
    for (bad, expected) in [
        ("abc", "line 2: field 5 is not a number: `abc`"),
        ("nan", "line 2: field 5 is not finite: `nan`"),
        ("-inf", "line 2: field 5 is not finite: `-inf`"),
    ] {
        let mut v = lines.clone();
        let mut f: Vec<&str> = v[1].split(' ').collect();
        f[4] = bad;
        v[1] = f.join(" ");
        std::fs::write(&joints, v.join("\n") + "\n").unwrap();
        inspect_fails(d, &format!("joints_s01_e01.txt, {expected}"));
    }
    // A frame id that is not an integer.
    let mut v = lines.clone();
    v[3] = v[3].replacen("106", "106.5", 1);
    std::fs::write(&joints, v.join("\n") + "\n").unwrap();
    inspect_fails(d, "joints_s01_e01.txt, line 4: field 1 (frame id)");
    // Truncated in the middle of a line.
    let full = lines.join("\n");
    std::fs::write(&joints, &full[..full.len() - 40]).unwrap();
    inspect_fails(d, "(truncated file?)");
    // Binary garbage and an empty file.
    let garbage: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    std::fs::write(&joints, &garbage).unwrap();
    inspect_fails(d, "joints_s01_e01.txt: binary data");
    std::fs::write(&joints, "").unwrap();
    inspect_fails(d, "joints_s01_e01.txt: empty file");
    std::fs::write(&joints, lines.join("\n") + "\n").unwrap();

    // Label file: an unknown action, a reversed segment, a segment before any heading.
    for (bad, expected) in [
        (
            "s01_e01\nwalk: 100 104\nfly: 1 2\n",
            "actionLabel.txt, line 3: unknown action `fly`",
        ),
        (
            "s01_e01\nwalk: 104 100\n",
            "actionLabel.txt, line 2: segment start 104 is after its end 100",
        ),
        (
            "walk: 100 104\n",
            "actionLabel.txt, line 1: a segment before any `sXX_eXX` heading",
        ),
        (
            "s01_e01\nwalk: 100 x\n",
            "actionLabel.txt, line 2: start and end must be frame ids",
        ),
    ] {
        write(d, "actionLabel.txt", bad);
        inspect_fails(d, expected);
    }
}

#[test]
fn class_text_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // SMIE one-per-line descriptions: empty, a blank line inside, invalid UTF-8 on line 3.
    let des = std::fs::read_to_string(data("text/smie/pku_des.txt")).unwrap();
    let lines: Vec<&str> = des.lines().collect();
    let p = write(d, "pku_des.txt", "");
    let err = texts::read_lines(&p).unwrap_err().to_string();
    assert!(err.ends_with("pku_des.txt: empty file"), "{err}");
    let p = write(d, "pku_des.txt", format!("{}\n\n{}\n", lines[0], lines[1]));
    let err = texts::read_lines(&p).unwrap_err().to_string();
    assert!(err.ends_with("pku_des.txt, line 2: empty line"), "{err}");
    let mut bytes = format!("{}\n{}\n", lines[0], lines[1]).into_bytes();
    bytes.extend_from_slice(b"caf\xe9\n");
    let p = write(d, "pku_des.txt", bytes);
    let err = texts::read_lines(&p).unwrap_err().to_string();
    assert!(
        err.ends_with("pku_des.txt, line 3: not valid UTF-8"),
        "{err}"
    );

    // STAR part descriptions with `Hand:` removed from line 2.
    let star = std::fs::read_to_string(data("text/star/pkuv1_part_descriptions.txt")).unwrap();
    let mut v: Vec<String> = star.lines().take(4).map(String::from).collect();
    v[1] = v[1].replacen("; Hand:", "; Hnd:", 1);
    let p = write(d, "parts.txt", v.join("\n"));
    let err = texts::read_star_parts(&p).unwrap_err().to_string();
    assert!(err.ends_with("parts.txt, line 2: missing `Hand:`"), "{err}");

    // Neuron JSON cut in the middle: the line of the end of input is named.
    let json = std::fs::read_to_string(data("text/neuron/pku/spatial/spatial_cg.json")).unwrap();
    let cut = &json[..json.len() / 2];
    let p = write(d, "spatial_cg.json", cut);
    let err = texts::read_neuron_json(&p).unwrap_err().to_string();
    let line = cut.matches('\n').count() + 1;
    assert!(
        err.contains(&format!("spatial_cg.json, line {line}: EOF")),
        "{err}"
    );
    let p = write(d, "spatial_cg.json", "{\"bow\": []}");
    let err = texts::read_neuron_json(&p).unwrap_err().to_string();
    assert!(
        err.ends_with("spatial_cg.json, field `bow`: empty list of descriptions"),
        "{err}"
    );

    // SA-DVAE CSV with an id skipped.
    let csv = std::fs::read_to_string(data("text/sadvae/pku51.csv")).unwrap();
    let v: Vec<&str> = csv.lines().take(6).collect();
    let p = write(d, "pku51.csv", [&v[..3], &v[4..]].concat().join("\n"));
    let err = texts::read_sadvae_csv(&p).unwrap_err().to_string();
    assert!(
        err.ends_with("pku51.csv, line 4: class id 3 out of sequence (expected 2)"),
        "{err}"
    );

    // A TSV text folder (the MSR one) with a row missing its name column.
    let src = data("msr-action3d/text");
    let t = d.join("text");
    std::fs::create_dir(&t).unwrap();
    for f in ["classes.tsv", "sentence.tsv"] {
        std::fs::copy(src.join(f), t.join(f)).unwrap();
    }
    assert_eq!(ClassTexts::from_tsv_dir(&t).unwrap().num_classes(), 20);
    let classes = std::fs::read_to_string(src.join("classes.tsv")).unwrap();
    let mut v: Vec<String> = classes.lines().map(String::from).collect();
    v[5] = v[5].split('\t').next().unwrap().to_string();
    write(&t, "classes.tsv", v.join("\n") + "\n");
    let err = ClassTexts::from_tsv_dir(&t).unwrap_err().to_string();
    assert!(err.contains("classes.tsv, line 6"), "{err}");
}

/// The real Neuron archive, rewritten with its storage entry replaced by `storage`.
fn neuron_with_storage(storage: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    let path = data("text/neuron/pku/spatial/pkuv1_gpt4omini_incontext_spatial_cg.tar");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name.ends_with("/data/0") {
            bytes = storage(bytes);
        }
        out.start_file(name, stored).unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn neuron_archives_and_class_embedding_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let row = 10 * 768 * 4;
    // Two whole classes load.
    let p = write(d, "two.tar", neuron_with_storage(|b| b[..2 * row].to_vec()));
    let f = precomputed::read_neuron_archive(&p).unwrap();
    assert_eq!((f.classes, f.per_class, f.dim), (2, 10, 768));
    // Storage cut inside a class.
    let p = write(
        d,
        "cut.tar",
        neuron_with_storage(|b| b[..row + 100].to_vec()),
    );
    let err = precomputed::read_neuron_archive(&p)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cut.tar, field `")
            && err.contains("is not a whole number of [10, 768] float32 classes"),
        "{err}"
    );
    // A NaN inside.
    let p = write(
        d,
        "nan.tar",
        neuron_with_storage(|b| {
            let mut b = b[..row].to_vec();
            b[400..404].copy_from_slice(&f32::NAN.to_le_bytes());
            b
        }),
    );
    let err = precomputed::read_neuron_archive(&p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nan.tar") && err.contains("finite"), "{err}");
    // A half-downloaded archive (the central directory is at the end, so it is gone).
    let whole = std::fs::read(data(
        "text/neuron/pku/spatial/pkuv1_gpt4omini_incontext_spatial_cg.tar",
    ))
    .unwrap();
    let p = write(d, "half.tar", &whole[..whole.len() / 2]);
    let err = precomputed::read_neuron_archive(&p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("half.tar: not a torch zip archive"), "{err}");

    // Class embeddings: a 1-d array, and a NaN.
    let p = d.join("emb.npy");
    skelzero::formats::npy::write_f32(&p, &[6], &[0.5; 6]).unwrap();
    let err = precomputed::read_class_features(&p)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("emb.npy, field `shape`: expected (classes, dim)"),
        "{err}"
    );
    let golden =
        skelzero::formats::npy::read_f32(&data("golden-embeddings/all-MiniLM-L6-v2_probe.npy"))
            .unwrap();
    let mut v = golden.data.clone();
    v[7] = f32::INFINITY;
    skelzero::formats::npy::write_f32(&p, &golden.shape, &v).unwrap();
    let err = precomputed::read_class_features(&p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("emb.npy") && err.contains("finite"), "{err}");
}
