//! Fast scanning of whitespace-separated numbers in text files: line cursors and a float parser that works on bytes.
//!
//! The skeleton text formats are hundreds of MB of short decimals such as `-0.371736`; going through `&str` and
//! `str::parse` per token is most of the read time, so decimals with few digits take an exact fast path and
//! everything else (exponents, long mantissas, `nan`) falls back to the standard library.

/// Why one field of a line could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// The token is not a number; holds the 1-based field and the token (shortened).
    NotANumber { field: usize, token: String },
    /// The token parsed to NaN or infinity.
    NotFinite { field: usize, token: String },
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotANumber { field, token } => {
                write!(f, "field {field} is not a number: `{token}`")
            }
            Self::NotFinite { field, token } => {
                write!(f, "field {field} is not finite: `{token}`")
            }
        }
    }
}

/// Exact powers of ten in f32 (5^10 < 2^24, so up to 1e10 every one is representable).
const POW10_F32: [f32; 11] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

/// Parses one token as f32, exactly as `str::parse::<f32>` would (NaN and infinities included).
pub fn parse_f32(tok: &[u8]) -> Option<f32> {
    let (neg, digits) = match tok.first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    let mut mantissa: u64 = 0;
    let mut n_digits = 0usize;
    let mut n_frac = 0usize;
    let mut seen_dot = false;
    let mut simple = !digits.is_empty();
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                n_digits += 1;
                if seen_dot {
                    n_frac += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => {
                simple = false;
                break;
            }
        }
    }
    // Clinger's fast path: both operands are exact in f32, so one correctly rounded division gives the
    // correctly rounded result.
    if simple && n_digits > 0 && n_digits <= 19 && mantissa <= (1 << 24) && n_frac <= 10 {
        let v = mantissa as f32 / POW10_F32[n_frac];
        return Some(if neg { -v } else { v });
    }
    std::str::from_utf8(tok).ok()?.parse::<f32>().ok()
}

/// Parses a whole token as an integer.
pub fn parse_int<T: std::str::FromStr>(tok: &[u8]) -> Option<T> {
    std::str::from_utf8(tok).ok()?.trim().parse().ok()
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// The whitespace-separated tokens of one line.
pub fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| is_space(b)).filter(|t| !t.is_empty())
}

/// Appends the numbers of one line to `out`; returns how many there were. Stops at the first bad token.
pub fn push_floats(line: &[u8], out: &mut Vec<f32>) -> Result<usize, FieldError> {
    let mut i = 0;
    let mut count = 0;
    let n = line.len();
    while i < n {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        while i < n && !is_space(line[i]) {
            i += 1;
        }
        let tok = &line[start..i];
        count += 1;
        match parse_f32(tok) {
            Some(v) if v.is_finite() => out.push(v),
            Some(_) => {
                return Err(FieldError::NotFinite {
                    field: count,
                    token: shorten(tok),
                });
            }
            None => {
                return Err(FieldError::NotANumber {
                    field: count,
                    token: shorten(tok),
                });
            }
        }
    }
    Ok(count)
}

/// A token for an error message: at most 24 characters, lossy UTF-8.
pub fn shorten(tok: &[u8]) -> String {
    let s = String::from_utf8_lossy(&tok[..tok.len().min(24)]).into_owned();
    if tok.len() > 24 { format!("{s}...") } else { s }
}

/// Walks the lines of a text file, counting them (1-based) for error messages. `\r\n` endings are accepted.
pub struct Lines<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Lines<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            line: 0,
        }
    }

    /// The 1-based number of the line last returned (0 before the first).
    pub fn line_no(&self) -> usize {
        self.line
    }

    /// True when only whitespace is left.
    pub fn at_end(&self) -> bool {
        self.rest.iter().all(|&b| is_space(b) || b == b'\n')
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        self.line += 1;
        let (line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, &self.rest[self.rest.len()..]),
        };
        self.rest = rest;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// Parses a text table of `width` numbers per line into one row-major vector, in one pass over the bytes.
/// Blank lines are allowed only at the end. Errors name the 1-based line and field.
pub fn parse_table(
    bytes: &[u8],
    width: usize,
    path: &std::path::Path,
) -> Result<Vec<f32>, super::ReadError> {
    use super::ReadError;
    // Every number takes at least two bytes (digit and separator), so this bounds the size by the file, not by
    // anything the file claims.
    let mut out = Vec::with_capacity(bytes.len() / 8 + width);
    let n = bytes.len();
    let mut i = 0;
    let mut line = 1;
    let mut in_line = 0usize;
    let mut blank_line: Option<usize> = None;
    while i < n {
        let b = bytes[i];
        if b == b'\n' {
            if in_line == 0 {
                blank_line.get_or_insert(line);
            } else if in_line != width {
                return Err(ReadError::line(
                    path,
                    line,
                    format!("expected {width} numbers, got {in_line}"),
                ));
            }
            in_line = 0;
            line += 1;
            i += 1;
            continue;
        }
        if is_space(b) {
            i += 1;
            continue;
        }
        if let Some(blank) = blank_line {
            return Err(ReadError::line(
                path,
                blank,
                "empty line inside the data (only trailing empty lines are allowed)",
            ));
        }
        // One token: try the fused fast path (sign, digits, dot, digits), else hand the token to parse_f32.
        let start = i;
        let neg = b == b'-';
        if neg || b == b'+' {
            i += 1;
        }
        let mut mantissa: u64 = 0;
        let mut n_digits = 0usize;
        while i < n && bytes[i].is_ascii_digit() {
            mantissa = mantissa
                .wrapping_mul(10)
                .wrapping_add(u64::from(bytes[i] - b'0'));
            n_digits += 1;
            i += 1;
        }
        let mut n_frac = 0usize;
        if i < n && bytes[i] == b'.' {
            i += 1;
            while i < n && bytes[i].is_ascii_digit() {
                mantissa = mantissa
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(bytes[i] - b'0'));
                n_digits += 1;
                n_frac += 1;
                i += 1;
            }
        }
        let at_end = i == n || is_space(bytes[i]) || bytes[i] == b'\n';
        in_line += 1;
        let value =
            if at_end && n_digits > 0 && n_digits <= 19 && mantissa <= (1 << 24) && n_frac <= 10 {
                let v = mantissa as f32 / POW10_F32[n_frac];
                if neg { -v } else { v }
            } else {
                while i < n && !is_space(bytes[i]) && bytes[i] != b'\n' {
                    i += 1;
                }
                let tok = &bytes[start..i];
                match parse_f32(tok) {
                    Some(v) if v.is_finite() => v,
                    Some(_) => {
                        return Err(ReadError::line(
                            path,
                            line,
                            FieldError::NotFinite {
                                field: in_line,
                                token: shorten(tok),
                            }
                            .to_string(),
                        ));
                    }
                    None => {
                        return Err(ReadError::line(
                            path,
                            line,
                            FieldError::NotANumber {
                                field: in_line,
                                token: shorten(tok),
                            }
                            .to_string(),
                        ));
                    }
                }
            };
        if in_line > width {
            return Err(ReadError::line(
                path,
                line,
                format!("expected {width} numbers, got more"),
            ));
        }
        out.push(value);
    }
    if in_line != 0 && in_line != width {
        return Err(ReadError::line(
            path,
            line,
            format!("expected {width} numbers, got {in_line} (truncated file?)"),
        ));
    }
    Ok(out)
}

/// True when a line holds only whitespace.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| is_space(b) || b == b'\n')
}

/// Reads a whole file, mapping the error to [`super::ReadError`].
pub fn read_bytes(path: &std::path::Path) -> Result<Vec<u8>, super::ReadError> {
    std::fs::read(path).map_err(|e| super::ReadError::io(path, e))
}

/// Rejects an empty (or whitespace-only) file and binary data before a text reader starts; `what` names the
/// expected format in the message ("an NTU .skeleton text file").
pub fn check_text(
    bytes: &[u8],
    path: &std::path::Path,
    what: &str,
) -> Result<(), super::ReadError> {
    if is_blank(bytes) {
        return Err(super::ReadError::file(path, "empty file"));
    }
    if looks_binary(bytes) {
        return Err(super::ReadError::file(
            path,
            format!("binary data, not {what}"),
        ));
    }
    Ok(())
}

/// True when the bytes look like text (no NUL and mostly printable), to tell binary garbage from a bad text file.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    head.contains(&0)
        || head
            .iter()
            .filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b) || b == 0x7f)
            .count()
            * 20
            > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_matches_std() {
        for s in [
            "0.541166",
            "-0.271794",
            "2.617523",
            "-0.000000",
            "0",
            "12",
            "0.02764709",
            "-0.2059419",
            "1036.233",
            "16777216",
            "16777217",
            "0.16777217",
            "1e-3",
            "-2.5E+4",
            "123456789012345678901234",
            "0.1234567890123",
            "+3.25",
            ".5",
            "5.",
            "nan",
            "inf",
            "-infinity",
        ] {
            let ours = parse_f32(s.as_bytes());
            let std = s.parse::<f32>().ok();
            assert_eq!(
                ours.map(f32::to_bits),
                std.map(f32::to_bits),
                "{s}: {ours:?} vs {std:?}"
            );
        }
        for bad in ["", "-", ".", "1.2.3", "abc", "1,5", "0x10"] {
            assert_eq!(parse_f32(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn random_decimals_match_std() {
        // A small LCG: decimals of every length and position of the dot, some with exponents.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        for _ in 0..200_000 {
            let len = 1 + next(12) as usize;
            let mut s = String::new();
            if next(2) == 0 {
                s.push('-');
            }
            let dot = next(len as u64 + 1) as usize;
            for i in 0..len {
                if i == dot {
                    s.push('.');
                }
                s.push(char::from(b'0' + next(10) as u8));
            }
            if next(8) == 0 {
                s += &format!("e{}", next(20) as i32 - 10);
            }
            let ours = parse_f32(s.as_bytes()).map(f32::to_bits);
            let std = s.parse::<f32>().ok().map(f32::to_bits);
            assert_eq!(ours, std, "{s}");
            let mut table = parse_table(s.as_bytes(), 1, std::path::Path::new("x")).ok();
            assert_eq!(
                table.as_mut().and_then(|t| t.pop()).map(f32::to_bits),
                std,
                "{s}"
            );
        }
    }

    #[test]
    fn push_floats_reports_the_field() {
        let mut out = Vec::new();
        assert_eq!(push_floats(b" 1 2\t3\r", &mut out), Ok(3));
        assert_eq!(out, [1.0, 2.0, 3.0]);
        assert_eq!(
            push_floats(b"1 x2 3", &mut out),
            Err(FieldError::NotANumber {
                field: 2,
                token: "x2".into()
            })
        );
        assert!(matches!(
            push_floats(b"1 2 NaN", &mut out),
            Err(FieldError::NotFinite { field: 3, .. })
        ));
    }

    #[test]
    fn table_checks_widths() {
        let p = std::path::Path::new("t.txt");
        assert_eq!(
            parse_table(b"1 2\r\n3 -4.5\n\n", 2, p).unwrap(),
            [1.0, 2.0, 3.0, -4.5]
        );
        assert_eq!(
            parse_table(b"1 2\n3 1e2", 2, p).unwrap(),
            [1.0, 2.0, 3.0, 100.0]
        );
        let e = |b: &[u8]| parse_table(b, 2, p).unwrap_err().to_string();
        assert_eq!(e(b"1 2\n3\n"), "t.txt, line 2: expected 2 numbers, got 1");
        assert_eq!(e(b"1 2 3\n"), "t.txt, line 1: expected 2 numbers, got more");
        assert_eq!(
            e(b"1 2\n3 x\n"),
            "t.txt, line 2: field 2 is not a number: `x`"
        );
        assert_eq!(e(b"1 inf\n"), "t.txt, line 1: field 2 is not finite: `inf`");
        assert_eq!(
            e(b"1 2\n\n3 4\n"),
            "t.txt, line 2: empty line inside the data (only trailing empty lines are allowed)"
        );
        assert_eq!(
            e(b"1 2\n3"),
            "t.txt, line 2: expected 2 numbers, got 1 (truncated file?)"
        );
    }

    #[test]
    fn lines_count_and_strip_cr() {
        let mut l = Lines::new(b"a\r\nb\n\nc");
        assert_eq!(l.next(), Some(&b"a"[..]));
        assert_eq!(l.next(), Some(&b"b"[..]));
        assert_eq!(l.next(), Some(&b""[..]));
        assert_eq!(l.line_no(), 3);
        assert_eq!(l.next(), Some(&b"c"[..]));
        assert_eq!(l.next(), None);
    }
}
