//! Fuzz body: PVQ counts and enumeration on arbitrary `(N, K, index)`: `v_count`/`u_count` in
//! every width never panic (exact or `Err(Overflow)`), `cwrsi` either decodes a point of
//! `P(N, K)` that `icwrs` maps back to the same index, or returns `Err` (index ≥ V); the pulse
//! table agrees with the closed form.
use vector_codecs::pvq::count::{PulseTable, cwrsi, icwrs, log2_v, u_count, v_count};

pub fn run(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let n = u32::from(data[0] % 48) + 1;
    let k = u32::from(data[1] % 80);
    let mut raw = [0u8; 16];
    let tail = &data[2..];
    raw[..tail.len().min(16)].copy_from_slice(&tail[..tail.len().min(16)]);
    let i = u128::from_le_bytes(raw);
    // Wide-range counts: exact or overflow, never a hang (big values overflow within ~128 steps).
    if data.len() >= 10 {
        let big_n = u32::from_le_bytes([data[2], data[3], data[4], data[5]]);
        let big_k = u32::from_le_bytes([data[6], data[7], data[8], data[9]]);
        let _ = v_count::<u32>(big_n, big_k);
        let _ = v_count::<u64>(big_n, big_k);
        let _ = v_count::<u128>(big_n, big_k);
        let _ = u_count::<u128>(big_n, big_k);
        let _ = log2_v(big_n, big_k);
    }
    let mut y = vec![0i32; n as usize];
    match cwrsi::<u128>(k, i, &mut y) {
        Ok(yy) => {
            assert_eq!(y.iter().map(|v| v.unsigned_abs()).sum::<u32>(), k);
            assert_eq!(yy, y.iter().map(|&v| (v as i64 * v as i64) as u64).sum::<u64>());
            assert_eq!(icwrs::<u128>(&y).unwrap(), i);
            if let Ok(t) = PulseTable::<u128>::new(n, k) {
                let mut z = vec![0i32; n as usize];
                t.decode(k, i, &mut z).unwrap();
                assert_eq!(z, y);
                assert_eq!(t.index(&y).unwrap(), i);
            }
            if let Ok(i64v) = u64::try_from(i) {
                let mut z = vec![0i32; n as usize];
                if cwrsi::<u64>(k, i64v, &mut z).is_ok() {
                    assert_eq!(z, y);
                }
            }
        }
        Err(_) => {
            // Past V (or V past 2^128): the table must refuse it too.
            if let Ok(t) = PulseTable::<u128>::new(n, k) {
                assert!(t.decode(k, i, &mut y).is_err());
            }
        }
    }
}
