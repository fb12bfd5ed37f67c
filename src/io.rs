//! Reading and writing vector files (`std` only): `.fvecs`, `.ivecs`, `.bvecs` (TEXMEX layout)
//! and `.npy` (little-endian `float32`, C order, 1-D or 2-D).
//!
//! Readers validate every header and length and return `std::io::ErrorKind::InvalidData`
//! for malformed files instead of panicking; they never allocate more than the file's length
//! (`.bvecs`: four `f32` bytes per stored `u8`).

use alloc::string::String;
use alloc::vec::Vec;
use std::io::{Error, ErrorKind, Read, Result};
use std::path::Path;

/// A row-major matrix of `f32`: `rows · dim` values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    /// Row length.
    pub dim: usize,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl Matrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    /// Row `i`, or `None` if out of range.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.dim)?;
        self.data.get(start..start.checked_add(self.dim)?)
    }
    /// The first `n` rows (all rows if fewer).
    pub fn truncate(&mut self, n: usize) {
        self.data.truncate(n.min(self.rows()) * self.dim);
    }
}

fn bad(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidData, String::from(msg))
}

fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// Parses `.fvecs`/`.ivecs` bytes into `(dim, 4-byte little-endian words)`.
fn parse_vecs(bytes: &[u8]) -> Result<(usize, Vec<[u8; 4]>)> {
    if bytes.is_empty() {
        return Ok((0, Vec::new()));
    }
    if bytes.len() < 4 {
        return Err(bad("vecs file shorter than one header"));
    }
    let d = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if d <= 0 || d > 1 << 24 {
        return Err(bad("vecs dimension must be in 1..=2^24"));
    }
    let d = d as usize;
    let rec = 4 * (d + 1);
    if !bytes.len().is_multiple_of(rec) {
        return Err(bad("vecs file length is not a whole number of records"));
    }
    let mut out = Vec::with_capacity(bytes.len() / rec * d);
    for r in bytes.chunks_exact(rec) {
        if r[..4] != bytes[..4] {
            return Err(bad("vecs records have different dimensions"));
        }
        out.extend(r[4..].chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]));
    }
    Ok((d, out))
}

/// Reads a `.fvecs` file.
///
/// # Errors
/// I/O errors, or `InvalidData` for malformed files.
pub fn read_fvecs(path: impl AsRef<Path>) -> Result<Matrix> {
    let (dim, words) = parse_vecs(&read_all(path.as_ref())?)?;
    Ok(Matrix { dim, data: words.into_iter().map(f32::from_le_bytes).collect() })
}

/// Reads a `.ivecs` file as `(dim, values)`.
///
/// # Errors
/// I/O errors, or `InvalidData` for malformed files.
pub fn read_ivecs(path: impl AsRef<Path>) -> Result<(usize, Vec<i32>)> {
    let (dim, words) = parse_vecs(&read_all(path.as_ref())?)?;
    Ok((dim, words.into_iter().map(i32::from_le_bytes).collect()))
}

/// Parses `.bvecs` bytes (TEXMEX layout: each record is a little-endian `i32` dimension followed
/// by that many `u8`) into `(dim, values)`.
fn parse_bvecs(bytes: &[u8]) -> Result<(usize, Vec<u8>)> {
    if bytes.is_empty() {
        return Ok((0, Vec::new()));
    }
    if bytes.len() < 4 {
        return Err(bad("bvecs file shorter than one header"));
    }
    let d = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if d <= 0 || d > 1 << 24 {
        return Err(bad("bvecs dimension must be in 1..=2^24"));
    }
    let d = d as usize;
    let rec = d + 4;
    if !bytes.len().is_multiple_of(rec) {
        return Err(bad("bvecs file length is not a whole number of records"));
    }
    let mut out = Vec::with_capacity(bytes.len() / rec * d);
    for r in bytes.chunks_exact(rec) {
        if r[..4] != bytes[..4] {
            return Err(bad("bvecs records have different dimensions"));
        }
        out.extend_from_slice(&r[4..]);
    }
    Ok((d, out))
}

/// Reads a `.bvecs` file (`u8` vectors, TEXMEX layout: each record is a little-endian `i32`
/// dimension followed by that many bytes, as in SIFT1B) as `f32` values `0.0..=255.0`.
///
/// # Errors
/// I/O errors, or `InvalidData` for malformed files (dimension outside `1..=2^24`, records of
/// different dimensions, a truncated record).
pub fn read_bvecs(path: impl AsRef<Path>) -> Result<Matrix> {
    let (dim, bytes) = parse_bvecs(&read_all(path.as_ref())?)?;
    Ok(Matrix { dim, data: bytes.into_iter().map(f32::from).collect() })
}

/// Reads a `.bvecs` file as `(dim, bytes)` without converting to `f32`.
///
/// # Errors
/// As [`read_bvecs`].
pub fn read_bvecs_u8(path: impl AsRef<Path>) -> Result<(usize, Vec<u8>)> {
    parse_bvecs(&read_all(path.as_ref())?)
}

/// Writes rows of `dim` bytes as `.bvecs`.
///
/// # Errors
/// I/O errors, or `InvalidInput` if `data.len()` is not a multiple of `dim`.
pub fn write_bvecs(path: impl AsRef<Path>, dim: usize, data: &[u8]) -> Result<()> {
    if dim == 0 || !data.len().is_multiple_of(dim) || dim > 1 << 24 {
        return Err(Error::new(ErrorKind::InvalidInput, "length is not a multiple of dim"));
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / dim * 4);
    for row in data.chunks_exact(dim) {
        out.extend_from_slice(&(dim as i32).to_le_bytes());
        out.extend_from_slice(row);
    }
    std::fs::write(path, out)
}

/// Writes rows of `dim` values as `.fvecs`.
///
/// # Errors
/// I/O errors, or `InvalidInput` if `data.len()` is not a multiple of `dim`.
pub fn write_fvecs(path: impl AsRef<Path>, dim: usize, data: &[f32]) -> Result<()> {
    write_vecs(path.as_ref(), dim, data.iter().map(|v| v.to_le_bytes()), data.len())
}

/// Writes rows of `dim` values as `.ivecs`.
///
/// # Errors
/// I/O errors, or `InvalidInput` if `data.len()` is not a multiple of `dim`.
pub fn write_ivecs(path: impl AsRef<Path>, dim: usize, data: &[i32]) -> Result<()> {
    write_vecs(path.as_ref(), dim, data.iter().map(|v| v.to_le_bytes()), data.len())
}

fn write_vecs(path: &Path, dim: usize, words: impl Iterator<Item = [u8; 4]>, len: usize) -> Result<()> {
    if dim == 0 || !len.is_multiple_of(dim) || dim > i32::MAX as usize {
        return Err(Error::new(ErrorKind::InvalidInput, "length is not a multiple of dim"));
    }
    let mut out = Vec::with_capacity(len * 4 + len / dim * 4);
    let header = (dim as i32).to_le_bytes();
    for (i, w) in words.enumerate() {
        if i % dim == 0 {
            out.extend_from_slice(&header);
        }
        out.extend_from_slice(&w);
    }
    std::fs::write(path, out)
}

/// Reads a `.npy` file of little-endian `float32` (`<f4`), C order, shape `(n, d)` or `(d,)`.
///
/// # Errors
/// I/O errors, or `InvalidData` for other dtypes, Fortran order or malformed headers.
pub fn read_npy_f32(path: impl AsRef<Path>) -> Result<Matrix> {
    parse_npy_f32(&read_all(path.as_ref())?)
}

fn parse_npy_f32(b: &[u8]) -> Result<Matrix> {
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let (hlen, start) = match b[6] {
        1 => (usize::from(u16::from_le_bytes([b[8], b[9]])), 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        _ => return Err(bad("unsupported .npy version")),
    };
    let header = b.get(start..start + hlen).ok_or_else(|| bad("truncated .npy header"))?;
    let header = core::str::from_utf8(header).map_err(|_| bad("non-UTF-8 .npy header"))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f4'") {
        return Err(bad(".npy dtype must be little-endian float32 ('<f4')"));
    }
    if compact.contains("'fortran_order':True") {
        return Err(bad("Fortran-ordered .npy is not supported"));
    }
    let shape =
        compact.split("'shape':(").nth(1).and_then(|s| s.split(')').next()).ok_or_else(|| bad("missing .npy shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("bad .npy shape")))
        .collect::<Result<_>>()?;
    let (n, d) = match dims.as_slice() {
        [d] => (1, *d),
        [n, d] => (*n, *d),
        _ => return Err(bad(".npy must be 1-D or 2-D")),
    };
    let body = &b[start + hlen..];
    let count = n.checked_mul(d).ok_or_else(|| bad(".npy shape overflows"))?;
    if body.len() != count.checked_mul(4).ok_or_else(|| bad(".npy shape overflows"))? {
        return Err(bad(".npy data length does not match its shape"));
    }
    Ok(Matrix { dim: d, data: body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fvecs_round_trip_and_garbage() {
        let dir = std::env::temp_dir().join(std::format!("vc-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.fvecs");
        write_fvecs(&p, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let m = read_fvecs(&p).unwrap();
        assert_eq!((m.dim, m.rows()), (3, 2));
        assert_eq!(m.row(1).unwrap(), &[4.0, 5.0, 6.0]);
        assert!(parse_vecs(&[1, 0, 0]).is_err());
        assert!(parse_vecs(&[0xFF, 0xFF, 0xFF, 0x7F]).is_err());
        assert!(parse_vecs(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bvecs_round_trip_and_garbage() {
        let dir = std::env::temp_dir().join(std::format!("vc-io-b-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.bvecs");
        write_bvecs(&p, 3, &[0, 1, 255, 7, 8, 9]).unwrap();
        let m = read_bvecs(&p).unwrap();
        assert_eq!((m.dim, m.rows()), (3, 2));
        assert_eq!(m.row(0).unwrap(), &[0.0, 1.0, 255.0]);
        assert_eq!(read_bvecs_u8(&p).unwrap(), (3, std::vec![0, 1, 255, 7, 8, 9]));
        assert_eq!(std::fs::read(&p).unwrap(), [3, 0, 0, 0, 0, 1, 255, 3, 0, 0, 0, 7, 8, 9]);
        assert!(write_bvecs(&p, 2, &[1, 2, 3]).is_err());
        std::fs::remove_dir_all(&dir).ok();

        assert_eq!(parse_bvecs(&[]).unwrap(), (0, Vec::new()));
        // Short header, zero / negative / huge dimension (no allocation from the header).
        assert!(parse_bvecs(&[1, 0, 0]).is_err());
        assert!(parse_bvecs(&[0, 0, 0, 0]).is_err());
        assert!(parse_bvecs(&[0xFF, 0xFF, 0xFF, 0xFF, 1]).is_err());
        assert!(parse_bvecs(&[0xFF, 0xFF, 0xFF, 0x7F]).is_err());
        // Truncated record; records of different dimensions.
        assert!(parse_bvecs(&[2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 3]).is_err());
        assert!(parse_bvecs(&[1, 0, 0, 0, 5, 2, 0, 0, 0, 6]).is_err());
        assert!(parse_bvecs(&[1, 0, 0, 0, 5, 1, 0, 0, 0]).is_err());
        // Every prefix and every single-byte corruption of a valid file: Ok or Err, never a panic.
        let good = [2u8, 0, 0, 0, 10, 20, 2, 0, 0, 0, 30, 40];
        for n in 0..good.len() {
            let _ = parse_bvecs(&good[..n]);
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x7F, 0x80, 0xFF] {
                let mut b = good;
                b[i] = v;
                if let Ok((d, vals)) = parse_bvecs(&b) {
                    assert_eq!(vals.len() % d, 0);
                }
            }
        }
    }

    #[test]
    fn npy_parsing() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        let mut b = Vec::from(&b"\x93NUMPY\x01\x00"[..]);
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let m = parse_npy_f32(&b).unwrap();
        assert_eq!((m.dim, m.rows()), (2, 2));
        assert!(parse_npy_f32(&b[..b.len() - 1]).is_err());
        assert!(parse_npy_f32(&b[..12]).is_err());
    }
}
