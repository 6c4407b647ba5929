//! Shared by the fuzz targets: an allocator that aborts on any single allocation far beyond the input's size, so a
//! header that declares a huge count is a finding even where it would not exhaust memory (libFuzzer's own
//! `-malloc_limit_mb` needs a sanitizer runtime; run.sh builds without one).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Allocations up to this size are always allowed (buffers, tables, small fixed costs).
pub const FLOOR: usize = 1 << 20;

static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The global allocator of every fuzz target: the system allocator plus the size check.
pub struct CappedAlloc;

fn check(size: usize) {
    let limit = LIMIT.load(Ordering::Relaxed);
    if size > limit {
        // No allocation here: write the message with raw parts, then abort (libFuzzer saves the input).
        let mut buf = [0u8; 96];
        let msg = format_no_alloc(&mut buf, size, limit);
        // SAFETY: writing a valid buffer to stderr.
        unsafe {
            libc_write(2, msg.as_ptr(), msg.len());
        }
        std::process::abort();
    }
}

unsafe extern "C" {
    #[link_name = "write"]
    fn libc_write(fd: i32, buf: *const u8, n: usize) -> isize;
}

fn format_no_alloc(buf: &mut [u8; 96], size: usize, limit: usize) -> &[u8] {
    fn put(buf: &mut [u8], at: &mut usize, s: &[u8]) {
        for &b in s {
            if *at < buf.len() {
                buf[*at] = b;
                *at += 1;
            }
        }
    }
    fn num(buf: &mut [u8], at: &mut usize, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            put(buf, at, &[digits[i]]);
        }
    }
    let mut at = 0;
    put(buf, &mut at, b"\n==fuzz== allocation of ");
    num(buf, &mut at, size);
    put(buf, &mut at, b" bytes over the limit ");
    num(buf, &mut at, limit);
    put(buf, &mut at, b"\n");
    &buf[..at]
}

// SAFETY: forwards to the system allocator after a check that never allocates.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` with single allocations limited to [`FLOOR`] plus `factor` times the input's size.
pub fn with_alloc_limit<T>(input_len: usize, factor: usize, f: impl FnOnce() -> T) -> T {
    LIMIT.store(
        FLOOR.saturating_add(input_len.saturating_mul(factor)),
        Ordering::Relaxed,
    );
    let out = f();
    LIMIT.store(usize::MAX, Ordering::Relaxed);
    out
}

/// A reader's error must name the file it was given.
pub fn assert_names_file(message: &str, path: &Path) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(
        message.contains(name),
        "error does not name the file {name}: {message}"
    );
}

/// What every skeleton reader's result must satisfy: consistent sizes, finite coordinates, and a preprocessing pass
/// (NTU25 mapping, centring, resampling, rotation) that neither panics nor produces a non-finite value.
pub fn check_sequence(seq: &skelzero::skeleton::Sequence) {
    assert_eq!(
        seq.data().len(),
        seq.frames() * seq.bodies() * seq.joints() * 3
    );
    assert!(seq.data().iter().all(|v| v.is_finite()));
    let cfg = skelzero::skeleton::preprocess::PreprocessConfig {
        frames: 16,
        ..Default::default()
    };
    if let Ok(pre) = skelzero::skeleton::preprocess::preprocessed_from_sequence(seq, &cfg) {
        assert_eq!(pre.frames(), 16);
        assert!(
            pre.data().iter().all(|v| v.is_finite()),
            "preprocessing produced a non-finite value"
        );
    }
}

/// The small network whose variables the checkpoint target loads into (and whose checkpoint seeds it): two weights
/// and a bias, so a file must get names, shapes and dtypes right to load.
pub fn seed_varmap() -> candle_nn::VarMap {
    let vm = candle_nn::VarMap::new();
    let dev = candle_core::Device::Cpu;
    let init = candle_nn::Init::Const(0.5);
    for (name, shape) in [
        ("block.0.weight", vec![4, 3]),
        ("block.0.bias", vec![4]),
        ("head.weight", vec![2, 4]),
    ] {
        // The names and shapes are fixed and valid, so this cannot fail.
        if let Err(e) = vm.get(shape, name, init, candle_core::DType::F32, &dev) {
            panic!("building the seed network: {e}");
        }
    }
    vm
}

/// The scratch folder of the targets that read files from disk (dataset folders, label files, model folders):
/// `/dev/shm/skelzero-fuzz-NAME-PID` where there is a `/dev/shm` (no disk I/O per input), emptied when first used
/// by this process. Targets overwrite their files in it for each input rather than make a new folder (cheaper).
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("skelzero-fuzz-{name}-{}", std::process::id()));
        // A folder of an earlier process with the same id is removed; failures show up as the create error below.
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create the scratch folder {}: {e}", dir.display());
        }
        dir
    })
    .clone()
}

/// Writes `bytes` to `dir/rel`, or removes that file when `bytes` is `None`.
pub fn put_or_remove(dir: &Path, rel: &str, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => put_file(dir, rel, b),
        None => {
            // Absent already is fine.
            let _ = std::fs::remove_file(dir.join(rel));
        }
    }
}

/// Writes `bytes` to `dir/rel`, creating its folder.
pub fn put_file(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        panic!("{}: {e}", parent.display());
    }
    if let Err(e) = std::fs::write(&p, bytes) {
        panic!("{}: {e}", p.display());
    }
}

/// Splits a fuzz input into the files of a folder: parts are separated by [`FILE_SEPARATOR`].
pub fn split_files(data: &[u8]) -> Vec<&[u8]> {
    let sep = FILE_SEPARATOR;
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        parts.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest);
    parts
}

/// Separates the files of one input in the folder targets (not valid UTF-8, so never inside a text file's line).
pub const FILE_SEPARATOR: &[u8] = b"\xff\xfeFILE\xff\xfe";
