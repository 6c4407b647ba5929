//! NumPy `.npy` arrays: reading (versions 1.0-3.0, C or Fortran order, any byte order, float and integer dtypes)
//! and atomic writing of float32 and int64 arrays.
//!
//! Object arrays are refused: they are pickles, and skelzero never unpickles anything. The header's shape is checked
//! against the file size before anything is allocated, so a lying header cannot make us allocate gigabytes.

use std::io::{Read, Write};
use std::path::Path;

use super::ReadError;
use super::numbers::read_bytes;

/// An n-dimensional array in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T> NpyArray<T> {
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

#[derive(Clone, Copy, Debug)]
struct Dtype {
    kind: Kind,
    size: usize,
    big_endian: bool,
}

struct Header {
    dtype: Dtype,
    fortran: bool,
    shape: Vec<usize>,
    /// Offset of the first data byte.
    data_start: usize,
}

/// Reads an array of any float or integer dtype as f32. A float32 file is read straight into the result, so a
/// large array needs its own size in memory, not twice that.
pub fn read_f32(path: &Path) -> Result<NpyArray<f32>, ReadError> {
    let io = |e| ReadError::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_len = usize::try_from(file.metadata().map_err(io)?.len()).unwrap_or(usize::MAX);
    let prefix = read_header_bytes(&mut file, file_len, path)?;
    let header = parse_header(&prefix, file_len, path)?;
    let d = header.dtype;
    if d.kind == Kind::Float && d.size == 4 {
        // The size was checked against the file length, so this allocation is what the file holds.
        let n = header.shape.iter().product();
        let mut data = vec![0f32; n];
        file.read_exact(bytemuck::cast_slice_mut(&mut data))
            .map_err(io)?;
        if d.big_endian != cfg!(target_endian = "big") {
            for v in &mut data {
                *v = f32::from_bits(v.to_bits().swap_bytes());
            }
        }
        let data = if header.fortran && header.shape.len() > 1 {
            fortran_to_c(data, &header.shape)
        } else {
            data
        };
        return Ok(NpyArray {
            shape: header.shape,
            data,
        });
    }
    let mut raw = Vec::with_capacity(file_len - header.data_start);
    file.read_to_end(&mut raw).map_err(io)?;
    Ok(NpyArray {
        data: f32_from_raw(&raw, &header),
        shape: header.shape,
    })
}

/// Reads the magic, version, length and header text of an `.npy` file (or the first bytes, when it is not one).
fn read_header_bytes(
    file: &mut std::fs::File,
    file_len: usize,
    path: &Path,
) -> Result<Vec<u8>, ReadError> {
    let io = |e| ReadError::io(path, e);
    let mut prefix = vec![0u8; file_len.min(12)];
    file.read_exact(&mut prefix).map_err(io)?;
    if !prefix.starts_with(MAGIC) || prefix.len() < 12 {
        return Ok(prefix);
    }
    let (header_len, start): (usize, usize) = match prefix[6] {
        1 => (usize::from(u16::from_le_bytes([prefix[8], prefix[9]])), 10),
        _ => (
            u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize,
            12,
        ),
    };
    // A header longer than the file is reported by parse_header; read only what exists.
    let end = start.saturating_add(header_len).min(file_len);
    if end > prefix.len() {
        let have = prefix.len();
        prefix.resize(end, 0);
        file.read_exact(&mut prefix[have..]).map_err(io)?;
    } else {
        prefix.truncate(end);
    }
    // Put the cursor at the first data byte, whatever was read.
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(end as u64))
        .map_err(io)?;
    Ok(prefix)
}

fn f32_from_raw(raw: &[u8], header: &Header) -> Vec<f32> {
    let d = header.dtype;
    convert(raw, header, |b| match d.kind {
        Kind::Float => match d.size {
            4 => f32::from_bits(u32_from(b, d.big_endian)),
            _ => f64::from_bits(u64_from(b, d.big_endian)) as f32,
        },
        Kind::Int => int_from(b, d.big_endian) as f32,
        Kind::Uint => uint_from(b, d.big_endian) as f32,
        Kind::Bool => f32::from(b[0] != 0),
    })
}

/// Reads an array of an integer (or bool, or integral float) dtype as i64.
pub fn read_i64(path: &Path) -> Result<NpyArray<i64>, ReadError> {
    read_i64_from_bytes(&read_bytes(path)?, path)
}

/// [`read_f32`] on bytes already in memory (a member of a `.npz` zip); `name` is used in error messages.
pub fn read_f32_from_bytes(bytes: &[u8], name: &Path) -> Result<NpyArray<f32>, ReadError> {
    let header = parse_header(bytes, bytes.len(), name)?;
    let data = f32_from_raw(&bytes[header.data_start..], &header);
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// [`read_i64`] on bytes already in memory; `name` is used in error messages.
pub fn read_i64_from_bytes(bytes: &[u8], name: &Path) -> Result<NpyArray<i64>, ReadError> {
    let header = parse_header(bytes, bytes.len(), name)?;
    let d = header.dtype;
    let bytes = &bytes[header.data_start..];
    // Values that do not fit (huge u64, fractional floats) become None and fail below with their index.
    let data = convert(bytes, &header, |b| match d.kind {
        Kind::Float => {
            let v = match d.size {
                4 => f64::from(f32::from_bits(u32_from(b, d.big_endian))),
                _ => f64::from_bits(u64_from(b, d.big_endian)),
            };
            (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
        }
        Kind::Int => Some(int_from(b, d.big_endian)),
        Kind::Uint => i64::try_from(uint_from(b, d.big_endian)).ok(),
        Kind::Bool => Some(i64::from(b[0] != 0)),
    });
    let mut out = Vec::with_capacity(data.len());
    for (i, v) in data.into_iter().enumerate() {
        match v {
            Some(v) => out.push(v),
            None => {
                return Err(ReadError::field(
                    name,
                    "data",
                    format!("element {i} is not an integer that fits in i64"),
                ));
            }
        }
    }
    Ok(NpyArray {
        shape: header.shape,
        data: out,
    })
}

/// Writes a float32 array (little-endian, C order, format 1.0) atomically.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    write_array(path, shape, "<f4", data.len(), |w| {
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Writes an int64 array (little-endian, C order, format 1.0) atomically.
pub fn write_i64(path: &Path, shape: &[usize], data: &[i64]) -> std::io::Result<()> {
    write_array(path, shape, "<i8", data.len(), |w| {
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

fn write_array(
    path: &Path,
    shape: &[usize],
    descr: &str,
    len: usize,
    write_data: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let expected = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if expected != Some(len) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("shape {shape:?} does not hold {len} values"),
        ));
    }
    let dims = match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64, as numpy does.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "npy header too long")
    })?;
    crate::util::write_atomic(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&[1, 0])?;
        w.write_all(&header_len.to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        write_data(w)
    })
}

fn u32_from(b: &[u8], big: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if big {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn u64_from(b: &[u8], big: bool) -> u64 {
    let a = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
    if big {
        u64::from_be_bytes(a)
    } else {
        u64::from_le_bytes(a)
    }
}

/// Sign-extends a 1, 2, 4 or 8 byte integer.
fn int_from(b: &[u8], big: bool) -> i64 {
    let n = b.len();
    let u = uint_from(b, big);
    let shift = 64 - 8 * n as u32;
    ((u << shift) as i64) >> shift
}

fn uint_from(b: &[u8], big: bool) -> u64 {
    let mut v = 0u64;
    if big {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    v
}

/// Converts every element of the data bytes `raw` with `f`, returning them in C order.
fn convert<T>(raw: &[u8], header: &Header, f: impl Fn(&[u8]) -> T) -> Vec<T> {
    let size = header.dtype.size;
    let values: Vec<T> = raw.chunks_exact(size).map(f).collect();
    if header.fortran && header.shape.len() > 1 {
        fortran_to_c(values, &header.shape)
    } else {
        values
    }
}

/// Reorders column-major values into row-major order.
fn fortran_to_c<T>(values: Vec<T>, shape: &[usize]) -> Vec<T> {
    let n = values.len();
    // Fortran strides: the first axis is contiguous.
    let mut strides = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        strides[k] = strides[k - 1] * shape[k - 1];
    }
    let mut order = Vec::with_capacity(n);
    let mut index = vec![0usize; shape.len()];
    for _ in 0..n {
        order.push(
            index
                .iter()
                .zip(&strides)
                .map(|(i, s)| i * s)
                .sum::<usize>(),
        );
        // Advance the C-order multi-index: the last axis fastest.
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    let mut slots: Vec<Option<T>> = values.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|src| slots.get_mut(src).and_then(Option::take))
        .collect()
}

/// Whether `head` (a file's first bytes) starts like a safetensors file: an 8-byte little-endian header length,
/// then the JSON header's `{`. Its first byte can be anything (0x80 for a 128-byte header), so this is checked before
/// any pickle guess.
pub fn looks_like_safetensors(head: &[u8]) -> bool {
    let Some(len) = head.get(..8) else {
        return false;
    };
    let mut b = [0u8; 8];
    b.copy_from_slice(len);
    let n = u64::from_le_bytes(b);
    (2..100_000_000).contains(&n) && head.get(8) == Some(&b'{')
}

/// What a safetensors file found where skeleton data or an array was expected is told.
pub const SAFETENSORS_MESSAGE: &str = "this is a safetensors file (a feature file, class embeddings or model weights), \
     not skeleton data or an .npy array";

const PICKLE_MESSAGE: &str = "this is a Python pickle, not a plain array; skelzero never unpickles files \
     (re-save the data with numpy.save(..., allow_pickle=False) as a numeric array)";

/// Parses the header at the start of `bytes` (the whole file, or at least its header) of a file of `file_len` bytes.
fn parse_header(bytes: &[u8], file_len: usize, name: &Path) -> Result<Header, ReadError> {
    if !bytes.starts_with(MAGIC) {
        let message = match bytes.first() {
            None => "empty file, expected an .npy array".to_string(),
            _ if looks_like_safetensors(bytes) => SAFETENSORS_MESSAGE.to_string(),
            // Pickle protocol 2+ starts with the PROTO opcode 0x80; older protocols with '(' or ']' or '}'.
            Some(0x80) => PICKLE_MESSAGE.to_string(),
            _ if bytes.starts_with(b"PK\x03\x04") => {
                "this is a zip archive (.npz), not an .npy array".to_string()
            }
            _ => "not an .npy file (missing the \\x93NUMPY magic)".to_string(),
        };
        return Err(ReadError::file(name, message));
    }
    let truncated = || ReadError::file(name, "truncated .npy header");
    let (major, minor) = (
        *bytes.get(6).ok_or_else(truncated)?,
        *bytes.get(7).ok_or_else(truncated)?,
    );
    let (header_len, start): (usize, usize) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or_else(truncated)?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 10)
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(truncated)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => {
            return Err(ReadError::field(
                name,
                "version",
                format!("unsupported .npy format version {major}.{minor}"),
            ));
        }
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(truncated)?;
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| ReadError::file(name, "the .npy header is not text"))?;

    let descr = dict_value(text, "descr")
        .ok_or_else(|| ReadError::field(name, "descr", "missing from the header"))?;
    let dtype = parse_descr(descr).map_err(|m| ReadError::field(name, "descr", m))?;
    let fortran = match dict_value(text, "fortran_order").map(str::trim) {
        Some("False") => false,
        Some("True") => true,
        other => {
            return Err(ReadError::field(
                name,
                "fortran_order",
                format!("expected True or False, got {other:?}"),
            ));
        }
    };
    let shape_text = dict_value(text, "shape")
        .ok_or_else(|| ReadError::field(name, "shape", "missing from the header"))?;
    let shape = parse_shape(shape_text).map_err(|m| ReadError::field(name, "shape", m))?;

    let available = file_len.saturating_sub(end);
    let needed = shape
        .iter()
        .try_fold(dtype.size, |a, &d| a.checked_mul(d))
        .ok_or_else(|| ReadError::field(name, "shape", format!("{shape:?} overflows")))?;
    if needed != available {
        return Err(ReadError::field(
            name,
            "shape",
            format!(
                "shape {shape:?} of {}-byte items needs {needed} data bytes, but the file holds {available}",
                dtype.size
            ),
        ));
    }
    Ok(Header {
        dtype,
        fortran,
        shape,
        data_start: end,
    })
}

/// The raw text of the value of `'key'` in a Python dict literal (up to the matching top-level comma or brace).
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat_single = format!("'{key}'");
    let pat_double = format!("\"{key}\"");
    let at = text
        .find(&pat_single)
        .map(|i| i + pat_single.len())
        .or_else(|| text.find(&pat_double).map(|i| i + pat_double.len()))?;
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']') => depth -= 1,
            (None, ',' | '}') if depth == 0 => return Some(rest[..i].trim()),
            (None, '}') => depth -= 1,
            _ => {}
        }
    }
    None
}

fn parse_descr(descr: &str) -> Result<Dtype, String> {
    let s = descr
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| descr.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .ok_or_else(|| {
            format!("structured dtype {descr} is not supported; expected a plain numeric array")
        })?;
    let (order, code) = match s.as_bytes().first() {
        Some(b'<' | b'>' | b'|' | b'=') => (s.as_bytes()[0], &s[1..]),
        _ => (b'=', s),
    };
    if code.starts_with('O') {
        return Err(format!(
            "dtype '{s}' holds Python objects: {PICKLE_MESSAGE}"
        ));
    }
    let (kind, size) = match code {
        "f4" => (Kind::Float, 4),
        "f8" => (Kind::Float, 8),
        "i1" | "b" => (Kind::Int, 1),
        "i2" => (Kind::Int, 2),
        "i4" => (Kind::Int, 4),
        "i8" => (Kind::Int, 8),
        "u1" | "B" => (Kind::Uint, 1),
        "u2" => (Kind::Uint, 2),
        "u4" => (Kind::Uint, 4),
        "u8" => (Kind::Uint, 8),
        "b1" | "?" => (Kind::Bool, 1),
        _ => {
            return Err(format!(
                "unsupported dtype '{s}' (expected float32/64 or integers)"
            ));
        }
    };
    Ok(Dtype {
        kind,
        size,
        big_endian: order == b'>' || (order == b'=' && cfg!(target_endian = "big")),
    })
}

fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let inner = text
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected a tuple, got `{text}`"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("bad dimension `{s}`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8], version: u8) -> Vec<u8> {
        let order = if fortran { "True" } else { "False" };
        let header =
            format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n");
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn round_trip_f32_and_i64() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        write_f32(&p, &[2, 3, 4], &data).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!((bytes.len() - 96) % 4, 0, "header padded to 64 bytes");
        let a = read_f32(&p).unwrap();
        assert_eq!(a.shape, [2, 3, 4]);
        assert_eq!(a.data, data);

        let q = dir.path().join("l.npy");
        write_i64(&q, &[3], &[5, -1, 7]).unwrap();
        let l = read_i64(&q).unwrap();
        assert_eq!((l.shape, l.data), (vec![3], vec![5, -1, 7]));
        assert!(write_f32(&p, &[5], &data).is_err());
    }

    #[test]
    fn dtypes_versions_and_order() {
        let be: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let a =
            read_f32_from_bytes(&npy_bytes(">f4", false, "(2,)", &be, 2), Path::new("x")).unwrap();
        assert_eq!(a.data, [1.5, -2.0]);
        let f8: Vec<u8> = [0.25f64, 8.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a =
            read_f32_from_bytes(&npy_bytes("<f8", false, "(2,)", &f8, 3), Path::new("x")).unwrap();
        assert_eq!(a.data, [0.25, 8.0]);
        let i2: Vec<u8> = [-3i16, 300].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a =
            read_i64_from_bytes(&npy_bytes("<i2", false, "(2,)", &i2, 1), Path::new("x")).unwrap();
        assert_eq!(a.data, [-3, 300]);
        // Fortran order [[1,2,3],[4,5,6]] is stored column by column.
        let f: Vec<u8> = [1i32, 4, 2, 5, 3, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a =
            read_f32_from_bytes(&npy_bytes("<i4", true, "(2, 3)", &f, 1), Path::new("x")).unwrap();
        assert_eq!(a.shape, [2, 3]);
        assert_eq!(a.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn file_reads_match_byte_reads() {
        let dir = tempfile::tempdir().unwrap();
        // Big-endian float32 in Fortran order, version 2.0, and a short header claiming a huge length.
        let f: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let bytes = npy_bytes(">f4", true, "(2, 3)", &f, 2);
        let p = dir.path().join("be.npy");
        std::fs::write(&p, &bytes).unwrap();
        let a = read_f32(&p).unwrap();
        assert_eq!(a, read_f32_from_bytes(&bytes, &p).unwrap());
        assert_eq!(a.data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut lying = bytes.clone();
        lying[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&p, &lying).unwrap();
        assert!(
            read_f32(&p)
                .unwrap_err()
                .to_string()
                .ends_with("truncated .npy header")
        );
        std::fs::write(&p, &bytes[..5]).unwrap();
        assert!(
            read_f32(&p)
                .unwrap_err()
                .to_string()
                .contains("missing the \\x93NUMPY magic")
        );
    }

    #[test]
    fn refuses_pickles_and_lying_headers() {
        let err = read_f32_from_bytes(
            &npy_bytes("|O", false, "(2,)", &[0; 16], 1),
            Path::new("o.npy"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("pickle") && err.contains("never unpickles"),
            "{err}"
        );
        let err = read_f32_from_bytes(b"\x80\x04\x95abc", Path::new("p.npy"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.npy: this is a Python pickle"), "{err}");
        let huge = npy_bytes("<f4", false, "(100000000000, 25, 3)", &[0; 8], 1);
        let err = read_f32_from_bytes(&huge, Path::new("h.npy"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field `shape`") && err.contains("the file holds 8"),
            "{err}"
        );
        let err = read_f32_from_bytes(&npy_bytes("<c8", false, "(1,)", &[0; 8], 1), Path::new("c"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported dtype"), "{err}");
        let frac: Vec<u8> = [1.5f32].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(
            read_i64_from_bytes(&npy_bytes("<f4", false, "(1,)", &frac, 1), Path::new("f"))
                .is_err()
        );
    }
}
