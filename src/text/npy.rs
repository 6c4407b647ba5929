//! A minimal `.npy` reader and writer for float arrays (class embeddings in, sentence embeddings out). Arrays of
//! Python objects are refused: loading them would mean unpickling.

use std::path::Path;

use crate::formats::ReadError;

const MAGIC: &[u8] = b"\x93NUMPY";
/// Real headers are a few hundred bytes; anything bigger is a lying file.
const MAX_HEADER: usize = 1 << 16;

/// A dense float array read from `.npy`, row-major (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Reads a float32 or float64 `.npy` file (float64 is narrowed to f32).
pub fn read_npy_f32(path: &Path) -> Result<NpyArray, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::io(path, e))?;
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(ReadError::file(path, "not an .npy file (bad magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => {
            return Err(ReadError::field(
                path,
                "version",
                format!("unsupported .npy version {v}"),
            ));
        }
    };
    if header_len > MAX_HEADER || start + header_len > bytes.len() {
        return Err(ReadError::field(
            path,
            "header",
            format!("header length {header_len} exceeds the file"),
        ));
    }
    let header = std::str::from_utf8(&bytes[start..start + header_len])
        .map_err(|_| ReadError::field(path, "header", "not text"))?;
    let descr =
        dict_value(header, "descr").ok_or_else(|| ReadError::field(path, "descr", "missing"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let (item, big_endian) = match descr {
        "<f4" | "=f4" => (4, false),
        ">f4" => (4, true),
        "<f8" | "=f8" => (8, false),
        ">f8" => (8, true),
        d if d.contains('O') => {
            return Err(ReadError::field(
                path,
                "descr",
                "the array holds Python objects (pickled data); refusing to unpickle",
            ));
        }
        d => {
            return Err(ReadError::field(
                path,
                "descr",
                format!("unsupported dtype `{d}`, expected float32 or float64"),
            ));
        }
    };
    let fortran = match dict_value(header, "fortran_order") {
        Some("False") => false,
        Some("True") => true,
        _ => {
            return Err(ReadError::field(
                path,
                "fortran_order",
                "missing or not True/False",
            ));
        }
    };
    let shape_text = header
        .split_once("'shape':")
        .map(|(_, rest)| rest)
        .and_then(|rest| {
            rest.split_once('(')?
                .1
                .split_once(')')
                .map(|(inside, _)| inside)
        })
        .ok_or_else(|| ReadError::field(path, "shape", "missing"))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            ReadError::field(
                path,
                "shape",
                format!("not a tuple of sizes: ({shape_text})"),
            )
        })?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| ReadError::field(path, "shape", "size overflows"))?;
    let payload = &bytes[start + header_len..];
    if Some(payload.len()) != count.checked_mul(item) {
        return Err(ReadError::field(
            path,
            "shape",
            format!(
                "{shape:?} needs {count} values of {item} bytes, the file holds {} bytes of data",
                payload.len()
            ),
        ));
    }
    let data: Vec<f32> = if item == 4 {
        payload
            .chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                if big_endian {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            })
            .collect()
    } else {
        payload
            .chunks_exact(8)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
                (if big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }) as f32
            })
            .collect()
    };
    let data = if fortran && shape.len() == 2 {
        let (rows, cols) = (shape[0], shape[1]);
        (0..rows * cols)
            .map(|i| data[(i % cols) * rows + i / cols])
            .collect()
    } else if fortran && shape.len() > 2 {
        return Err(ReadError::field(
            path,
            "fortran_order",
            "Fortran order is supported for 2-D arrays only",
        ));
    } else {
        data
    };
    Ok(NpyArray { shape, data })
}

/// The raw text of `'key': value` in an npy header dict (values here never contain commas except `shape`).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let rest = header.split_once(&format!("'{key}':"))?.1;
    Some(rest.split([',', '}']).next()?.trim())
}

/// Writes a row-major float32 array as `.npy` (version 1), atomically.
pub fn write_npy_f32(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so the data starts at a multiple of 64 bytes, as numpy does.
    while !(MAGIC.len() + 4 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(std::io::Error::other)?;
    crate::util::write_atomic(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&[1, 0])?;
        w.write_all(&header_len.to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        for v in data {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        write_npy_f32(&path, &[2, 3], &[1., 2., 3., 4., 5., 6.]).unwrap();
        let a = read_npy_f32(&path).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1., 2., 3., 4., 5., 6.]);

        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 4);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_npy_f32(&path).unwrap_err().to_string();
        assert!(err.contains("field `shape`"), "{err}");

        let header = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n";
        let mut pickled = b"\x93NUMPY\x01\x00".to_vec();
        pickled.extend_from_slice(&(header.len() as u16).to_le_bytes());
        pickled.extend_from_slice(header.as_bytes());
        pickled.extend_from_slice(b"\x80\x02]q\x00.");
        std::fs::write(&path, pickled).unwrap();
        let err = read_npy_f32(&path).unwrap_err().to_string();
        assert!(err.contains("unpickle"), "{err}");
    }
}
