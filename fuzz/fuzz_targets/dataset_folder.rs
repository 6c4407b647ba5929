//! Whole dataset folders: the input is split into the files of a PKU-MMD, MSR Action3D, UTKinect, NTU (raw and
//! joint arrays) or `.npy` batch folder (the first byte picks the layout), written to a scratch folder and read
//! with the dataset loader, then summarised as `skelzero inspect` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skelzero_fuzz::{
    CappedAlloc, check_sequence, put_or_remove, scratch_dir, split_files, with_alloc_limit,
};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// The file names of each layout, in the order the input's parts fill them.
const LAYOUTS: [&[&str]; 5] = [
    &[
        "skeleton/0002-L.txt",
        "label/0002-L.txt",
        "skeleton/0003-M.txt",
        "label/0003-M.txt",
        "classes.tsv",
    ],
    &[
        "skeleton/a01_s01_e01_skeleton3D.txt",
        "skeleton/a02_s01_e01_skeleton3D.txt",
        "text/classes.tsv",
    ],
    &[
        "joints_s01_e01.txt",
        "joints_s01_e02.txt",
        "actionLabel.txt",
    ],
    &[
        "S001C001P001R001A001.skeleton",
        "S001C001P001R001A002.skeleton",
        "S001C001P001R001A012_joints_T25x3_f32.npy",
    ],
    &["x_data.npy", "x_label.npy", "y_data.npy", "y_label.txt"],
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(which) % LAYOUTS.len();
    // One folder per layout; the files an input does not fill are removed.
    let dir = scratch_dir("dataset_folder").join(k.to_string());
    let parts = split_files(rest);
    for (i, name) in LAYOUTS[k].iter().enumerate() {
        put_or_remove(&dir, name, parts.get(i).copied());
    }
    let root = dir.to_string_lossy().into_owned();
    with_alloc_limit(rest.len(), 64, || {
        match skelzero::dataset::load_dataset(&dir, None) {
            Ok(ds) => {
                for s in &ds.samples {
                    assert!(
                        s.meta.label < ds.classes.len(),
                        "label {} of {} classes",
                        s.meta.label,
                        ds.classes.len()
                    );
                    check_sequence(&s.seq);
                }
                let summary = skelzero::dataset::inspect::summary_from_dataset(&ds);
                let _ = skelzero::dataset::inspect::text_from_summary(&summary);
            }
            // Every error names a file or folder of the dataset.
            Err(e) => {
                let m = e.to_string();
                assert!(m.contains(&root), "error names no file of the dataset: {m}");
            }
        }
    });
});
