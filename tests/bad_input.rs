//! Bad input gives one clear error naming the file and the line or field: never a panic, never a huge allocation.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too; a failure is a test failure.

use std::path::Path;

use bad_files::{PICKLE, garbage, ntu_text, pickled_npy_bytes, write};
use skelzero::dataset::load_dataset;
use skelzero::formats::{msr_action3d, npy, ntu_skeleton, pku_mmd};

mod bad_files;

/// The message of loading `path` (a file or folder) as a dataset, which must fail.
fn load_err(path: &Path) -> String {
    match load_dataset(path, None) {
        Ok(ds) => panic!(
            "{} loaded ({} samples) but should fail",
            path.display(),
            ds.samples.len()
        ),
        Err(e) => e.to_string(),
    }
}

fn pku_line(v: f32) -> String {
    vec![format!("{v:.6}"); 150].join(" ")
}

#[test]
fn ntu_truncated_and_wrong_counts() {
    let dir = tempfile::tempdir().unwrap();
    let text = ntu_text();
    let lines: Vec<&str> = text.lines().collect();
    // Cut in the middle of frame 2's joints: line 1 count, frame 1 takes 28 lines.
    let cut = bad_files::truncated_ntu(dir.path());
    let err = load_err(&cut);
    assert!(
        err.contains("line 41: file ends early: expected a joint line"),
        "{err}"
    );

    let mut wrong = lines.clone();
    wrong[3] = "24"; // the joint count of frame 1's body
    let p = write(
        dir.path(),
        "S001C001P001R001A005.skeleton",
        wrong.join("\n"),
    );
    assert!(
        load_err(&p).contains("line 4: joint count is 24, expected 25"),
        "{}",
        load_err(&p)
    );

    let mut fields = lines.clone();
    let short = lines[5].split(' ').take(11).collect::<Vec<_>>().join(" ");
    fields[5] = &short;
    let p = write(dir.path(), "x.skeleton", fields.join("\n"));
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.ends_with("x.skeleton, line 6: joint line has 11 fields, expected 12"),
        "{err}"
    );

    let mut nan = lines.clone();
    let bad = lines[6].replacen(lines[6].split(' ').next().unwrap(), "nan", 1);
    nan[6] = &bad;
    let p = write(dir.path(), "x.skeleton", nan.join("\n"));
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("line 7: field 1 is not finite: `nan`"),
        "{err}"
    );

    let mut word = lines.clone();
    word[2] = "bodyA 0 1 1 1 1 0 0.1 0.1";
    let p = write(dir.path(), "x.skeleton", word.join("\n"));
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("line 3: body info line has 9 fields, expected 10"),
        "{err}"
    );
}

#[test]
fn ntu_absurd_header_counts_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let text = ntu_text();
    let frames = text.replacen("54\n", "4000000000\n", 1);
    let p = write(dir.path(), "x.skeleton", frames);
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("line 1: frame count 4000000000 is impossible for a file of"),
        "{err}"
    );

    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[1] = "900000000000".into();
    let p = write(dir.path(), "x.skeleton", lines.join("\n"));
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.contains(
            "line 2: body count 900000000000 of frame 1 does not fit in the rest of the file"
        ),
        "{err}"
    );

    let p = write(dir.path(), "x.skeleton", "18446744073709551616\n");
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("line 1: expected the frame count (one non-negative integer)"),
        "{err}"
    );

    let p = write(dir.path(), "x.skeleton", "3\n0\n0\n0\n0\n");
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("line 5: unexpected data after the 3 frames"),
        "{err}"
    );

    let p = write(dir.path(), "x.skeleton", "2\n0\n0\n");
    let err = ntu_skeleton::read(&p).unwrap_err().to_string();
    assert!(err.ends_with("no body is tracked in any frame"), "{err}");
}

#[test]
fn pku_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let good = pku_line(0.5);
    let check = |body: String, expected: &str| {
        let p = write(dir.path(), "0001-M.txt", body);
        let err = pku_mmd::read_skeleton(&p).unwrap_err().to_string();
        assert!(err.ends_with(expected), "{err}\nexpected: {expected}");
        assert!(err.contains("0001-M.txt"), "{err}");
    };
    check(
        format!("{good}\n{}\n", ["1.0"; 149].join(" ")),
        "line 2: expected 150 numbers, got 149",
    );
    check(
        format!("{good}\n{good}\n{}", ["1.0"; 70].join(" ")),
        "line 3: expected 150 numbers, got 70 (truncated file?)",
    );
    check(
        format!(
            "{good}\n{} abc {}\n",
            ["1"; 9].join(" "),
            ["1"; 140].join(" ")
        ),
        "line 2: field 10 is not a number: `abc`",
    );
    check(
        format!("{} inf\n", ["1"; 149].join(" ")),
        "line 1: field 150 is not finite: `inf`",
    );
    check(
        format!("{} -NaN\n", ["1"; 149].join(" ")),
        "line 1: field 150 is not finite: `-NaN`",
    );
    check(String::new(), "0001-M.txt: empty file");
    check("\n \n".into(), "0001-M.txt: empty file");

    // A label file with three fields, through the loader (root with skeleton/ and label/).
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("skeleton")).unwrap();
    std::fs::create_dir_all(root.path().join("label")).unwrap();
    write(
        &root.path().join("skeleton"),
        "0001-M.txt",
        format!("{good}\n{good}\n{good}\n"),
    );
    write(&root.path().join("label"), "0001-M.txt", "12,0,2\n");
    let err = load_err(root.path());
    assert!(
        err.contains("label/0001-M.txt, line 1: expected 4 comma-separated fields"),
        "{err}"
    );
    write(
        &root.path().join("label"),
        "0001-M.txt",
        "12,0,2,1\n\n99,1,3,1\n",
    );
    let err = load_err(root.path());
    assert!(
        err.contains("line 3: action id 99 is outside the 51 classes"),
        "{err}"
    );
    write(
        &root.path().join("label"),
        "0001-M.txt",
        "12,0,2,1\n13,1,30,1\n",
    );
    let err = load_err(root.path());
    assert!(
        err.contains("line 2: segment 1..30 ends after the recording's 3 frames"),
        "{err}"
    );
}

#[test]
fn msr_wrong_joint_count_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let frame: String = (0..20).map(|j| format!("0.{j} 0.5 2.0 1.0\n")).collect();
    let p = write(
        dir.path(),
        "a01_s01_e01_skeleton3D.txt",
        format!("{frame}{frame}0.1 0.2 0.3 1\n"),
    );
    let err = msr_action3d::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("41 joint lines is not a whole number of frames of 20 joints"),
        "{err}"
    );
    let p = write(
        dir.path(),
        "a01_s01_e01_skeleton3D.txt",
        format!("{frame}0.1 0.2 0.3\n"),
    );
    let err = msr_action3d::read(&p).unwrap_err().to_string();
    assert!(err.ends_with("line 21: expected 4 numbers, got 3"), "{err}");
    let p = write(
        dir.path(),
        "a01_s01_e01_skeleton3D.txt",
        frame.replace("0.3 0.5", "0.3 1e999"),
    );
    let err = load_err(&p);
    assert!(
        err.contains("line 4: field 2 is not finite: `1e999`"),
        "{err}"
    );
    let p = write(dir.path(), "a01_s01_e01_skeleton3D.txt", "");
    assert!(load_err(&p).ends_with("a01_s01_e01_skeleton3D.txt: empty file"));
    // The fourth column is a confidence, kept for the player: out of 0..1 is refused with its row.
    let p = write(
        dir.path(),
        "a01_s01_e01_skeleton3D.txt",
        frame.replace("0.3 0.5 2.0 1.0", "0.3 0.5 2.0 -2"),
    );
    let err = msr_action3d::read(&p).unwrap_err().to_string();
    assert!(
        err.contains("a01_s01_e01_skeleton3D.txt")
            && err.contains("joint row 4: field 4 (confidence) is -2, expected a value in 0..1"),
        "{err}"
    );
}

/// A float32 `.npy` whose header declares `shape`, followed by `data`.
fn npy_with_header(shape: &str, data: &[u8]) -> Vec<u8> {
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn npy_pickles_lies_and_wrong_shapes() {
    let dir = tempfile::tempdir().unwrap();
    // What numpy.save writes for an object array: '|O' descr, then a pickle.
    let p = write(dir.path(), "obj.npy", pickled_npy_bytes());
    let err = npy::read_f32(&p).unwrap_err().to_string();
    assert!(
        err.contains("obj.npy, field `descr`")
            && err.contains("pickle")
            && err.contains("never unpickles"),
        "{err}"
    );

    let p = write(dir.path(), "raw.npy", PICKLE);
    let err = load_err(&p);
    assert!(
        err.contains("raw.npy: this is a Python pickle") && err.contains("never unpickles"),
        "{err}"
    );

    // A header claiming (10^9, 25, 3) float32 over 12 bytes of data must fail before allocating 300 GB.
    let p = write(
        dir.path(),
        "lie.npy",
        npy_with_header("(1000000000, 25, 3)", &[0u8; 12]),
    );
    let err = npy::read_f32(&p).unwrap_err().to_string();
    assert!(
        err.contains("lie.npy, field `shape`: shape [1000000000, 25, 3] of 4-byte items needs 300000000000 data bytes, but the file holds 12"),
        "{err}"
    );
    let p = write(
        dir.path(),
        "over.npy",
        npy_with_header("(99999999999, 99999999999, 3)", &[0u8; 12]),
    );
    let err = npy::read_f32(&p).unwrap_err().to_string();
    assert!(
        err.contains("over.npy, field `shape`: [99999999999, 99999999999, 3] overflows"),
        "{err}"
    );
    let p = write(
        dir.path(),
        "neg.npy",
        npy_with_header("(-1, 3)", &[0u8; 12]),
    );
    let err = npy::read_f32(&p).unwrap_err().to_string();
    assert!(
        err.contains("neg.npy, field `shape`: bad dimension `-1`"),
        "{err}"
    );

    // Truncated data.
    let ok = dir.path().join("S001C001P001R001A001_x.npy");
    npy::write_f32(&ok, &[2, 25, 3], &[0.5; 150]).unwrap();
    let bytes = std::fs::read(&ok).unwrap();
    std::fs::write(&ok, &bytes[..bytes.len() - 7]).unwrap();
    let err = load_err(&ok);
    assert!(err.contains("but the file holds 593"), "{err}");
    // Wrong joint count.
    npy::write_f32(&ok, &[2, 24, 3], &[0.5; 144]).unwrap();
    let err = load_err(&ok);
    assert!(
        err.contains("field `shape`: 24 joints per body; expected 25"),
        "{err}"
    );
    // NaN inside an array.
    let mut v = vec![0.5f32; 150];
    v[80] = f32::NAN;
    npy::write_f32(&ok, &[2, 25, 3], &v).unwrap();
    let err = load_err(&ok);
    assert!(
        err.contains("non-finite coordinate at frame 1, body 0, joint 1"),
        "{err}"
    );
    // Not an npy at all.
    let p = write(dir.path(), "text.npy", "hello");
    assert!(load_err(&p).contains("not an .npy file"));
}

/// Found by fuzz/dataset_folder: a label of 2e11 in the label file of a `.npy` batch made the loader allocate a
/// class name for every value up to it (19 GB).
#[test]
fn npy_batch_labels_far_beyond_any_class_count() {
    let dir = tempfile::tempdir().unwrap();
    let batch: Vec<f32> = (0..2 * 3 * 4 * 25).map(|i| (i % 13) as f32 * 0.1).collect();
    npy::write_f32(&dir.path().join("x_data.npy"), &[2, 3, 4, 25, 1], &batch).unwrap();
    let labels = dir.path().join("x_label.npy");
    npy::write_i64(&labels, &[2], &[0, 201_863_462_912]).unwrap();
    let err = load_err(dir.path());
    assert!(
        err.contains(
            "x_label.npy: label 1 is 201863462912; a label file may name at most 65536 classes"
        ),
        "{err}"
    );
    std::fs::remove_file(&labels).unwrap();
    write(dir.path(), "x_label.txt", "3\n65536\n");
    let err = load_err(dir.path());
    assert!(err.contains("x_label.txt: label 1 is 65536"), "{err}");
    // The largest allowed label loads.
    write(dir.path(), "x_label.txt", "3\n65535\n");
    let ds = load_dataset(dir.path(), None).unwrap();
    assert_eq!(ds.classes.len(), 65_536);
}

#[test]
fn empty_binary_and_unknown_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = garbage(4096);
    let p = write(dir.path(), "S001C001P001R001A001.skeleton", &garbage);
    let err = load_err(&p);
    assert!(
        err.ends_with("binary data, not an NTU .skeleton text file"),
        "{err}"
    );
    let p = write(dir.path(), "0002-L.txt", &garbage);
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(&p, root.path().join("0002-L.txt")).unwrap();
    write(root.path(), "0002-L.label", "");
    // Label file missing beside a lone PKU recording.
    let err = load_err(&root.path().join("0002-L.txt"));
    assert!(
        err.contains("no label file for this PKU-MMD recording"),
        "{err}"
    );

    let p = write(dir.path(), "S001C001P001R001A002.skeleton", "");
    assert!(load_err(&p).ends_with("S001C001P001R001A002.skeleton: empty file"));

    let p = write(dir.path(), "notes.csv", "a,b\n1,2\n");
    let err = load_err(&p);
    assert!(
        err.contains("notes.csv: unknown format: the file name does not match any known dataset"),
        "{err}"
    );
    let p = write(dir.path(), "blob.bin", &garbage);
    assert!(load_err(&p).contains("unknown format: it holds binary data"));
    let empty = write(dir.path(), "empty.dat", "");
    assert!(load_err(&empty).contains("unknown format: the file is empty"));

    let folder = tempfile::tempdir().unwrap();
    write(folder.path(), "readme.md", "hi");
    let err = load_err(folder.path());
    assert!(
        err.contains("unknown format: no skeleton files recognised"),
        "{err}"
    );
    let err = load_err(&folder.path().join("missing"));
    assert!(
        err.starts_with("cannot read ") && err.contains("missing"),
        "{err}"
    );
}

/// The binary fails with exit status 1, one `error:` line naming the file, and no panic or backtrace.
fn binary_fails(path: &Path, expected: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skelzero"))
        .arg("inspect")
        .arg(path)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(expected),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn binary_reports_errors_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "labels.npy", PICKLE);
    binary_fails(&p, "labels.npy: this is a Python pickle");
    let text = ntu_text();
    let p = write(
        dir.path(),
        "S001C001P001R001A005.skeleton",
        &text[..text.len() / 2],
    );
    binary_fails(&p, "S001C001P001R001A005.skeleton, line");
    let p = write(
        dir.path(),
        "S001C001P001R001A006.skeleton",
        "99999999999\n1\n",
    );
    binary_fails(&p, "frame count 99999999999 is impossible");
}
