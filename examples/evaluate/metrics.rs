//! Exact ground truth, the per-codec measurements, and timing.

use std::time::Instant;
use vector_codecs::dynamic::{DynCodec, MANY_QUERIES};
use vector_codecs::metric::Metric;
use vector_codecs::topk::TopK;

/// Depth of the returned candidate list for recall 10@100.
pub const DEPTH: usize = 100;

/// The exact score of `x` for `q` in `metric`, accumulated in `f64` (larger = more similar:
/// `⟨q, x⟩`, `−‖q − x‖²`, or the cosine, 0 when a norm is 0).
pub fn exact64(metric: Metric, q: &[f32], x: &[f32]) -> f64 {
    match metric {
        Metric::InnerProduct => dot64(q, x),
        Metric::L2 => -q
            .iter()
            .zip(x)
            .map(|(&a, &b)| {
                let e = f64::from(a) - f64::from(b);
                e * e
            })
            .sum::<f64>(),
        Metric::Cosine => {
            let den = (dot64(q, q) * dot64(x, x)).sqrt();
            if den > 0.0 { dot64(q, x) / den } else { 0.0 }
        }
    }
}

/// Exact top-`k` in `metric` for every query, best first, ties towards the lower id.
///
/// Candidates are selected with `f32` SIMD arithmetic (top-`k + 64`: `⟨q, x⟩`, `2⟨q, x⟩ − ‖x‖²`
/// or `⟨q, x⟩/‖x‖`, each ordering the base like the metric), then re-scored with [`exact64`]
/// and sorted, so the result is the exact `f64` ranking unless `f32` rounding moves a true
/// top-`k` vector below 64 others (it does not happen on embedding or integer data, whose score
/// gaps are far above `d · 2⁻²⁴` of the scores). Runs on all available cores.
pub fn exact_topk(metric: Metric, base: &[f32], queries: &[f32], dim: usize, k: usize) -> Vec<u32> {
    const CAND: usize = 256;
    let k = k.min(CAND - 64).min(base.len() / dim);
    let nq = queries.len() / dim;
    let mut out = vec![0u32; nq * k];
    if k == 0 {
        return out;
    }
    let norms: Vec<f32> = base.chunks_exact(dim).map(vector_codecs::simd::norm_sq).collect();
    let norms = &norms;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(nq.max(1));
    let per = nq.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for (qs, os) in queries.chunks(per * dim).zip(out.chunks_mut(per * k)) {
            s.spawn(move || {
                let mut scores = vec![0f32; base.len() / dim];
                for (q, o) in qs.chunks_exact(dim).zip(os.chunks_exact_mut(k)) {
                    for ((s, x), &xx) in scores.iter_mut().zip(base.chunks_exact(dim)).zip(norms) {
                        let qx = vector_codecs::simd::dot(q, x);
                        *s = match metric {
                            Metric::InnerProduct => qx,
                            Metric::L2 => 2.0 * qx - xx,
                            Metric::Cosine if xx > 0.0 => qx / xx.sqrt(),
                            Metric::Cosine => 0.0,
                        };
                    }
                    let mut top = TopK::<CAND>::new(k + 64);
                    top.push_batch(&scores, 0);
                    let mut cand = [(0f32, 0u32); CAND];
                    let m = top.drain_sorted(&mut cand);
                    let mut exact: Vec<(f64, u32)> = cand[..m]
                        .iter()
                        .map(|&(_, id)| (exact64(metric, q, &base[id as usize * dim..][..dim]), id))
                        .collect();
                    exact.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                    for (slot, &(_, id)) in o.iter_mut().zip(&exact) {
                        *slot = id;
                    }
                }
            });
        }
    });
    out
}

/// `⟨a, b⟩` accumulated in `f64`.
pub fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// Runs `f` until at least `min_secs` have passed (at least twice, so that first-touch page
/// faults of fresh buffers are not what is timed; at most `max_reps` times) and returns the
/// fastest run in seconds.
pub fn best_time(min_secs: f64, max_reps: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut best = f64::INFINITY;
    for rep in 0..max_reps.max(2) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
        if rep >= 1 && start.elapsed().as_secs_f64() >= min_secs {
            break;
        }
    }
    best
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// Short name.
    pub name: String,
    /// Family (for the plot's colours).
    pub family: String,
    /// Bits per dimension actually stored.
    pub bits_per_dim: f64,
    /// `Σ‖x − x̂‖² / Σ‖x‖²`; NaN when the codec cannot decode.
    pub rel_mse: f64,
    /// RMS(score − exact) / RMS(exact) over the sampled pairs, in the run's metric (for `ip`:
    /// the inner-product error; the CSV column keeps the name `ip_rel_rmse`).
    pub ip_rel_rmse: f64,
    /// Mean over queries of |true top-10 ∩ returned top-10| / 10 (ties at the 10th score count).
    pub recall_at_10: f64,
    /// Mean over queries of |true top-10 ∩ returned top-100| / 10 (ties count, at most 10).
    pub recall_10_at_100: f64,
    /// Vectors encoded per second (single thread, including the stored-size measurement).
    pub encode_vps: f64,
    /// Vectors decoded per second (NaN without a decoder).
    pub decode_vps: f64,
    /// Codes scored per second (prepare + `score_batch` over all base codes, per query).
    pub scan_cps: f64,
    /// Whether the table marks the row: a codec quantizing around the origin on uncentred data.
    pub uncentred: bool,
    /// Seconds spent building (training) the codec; NaN when not measured.
    pub train_s: f64,
}

/// The evaluation set, prepared once and shared by every codec.
pub struct Bench<'a> {
    /// Dimension.
    pub dim: usize,
    /// The metric of the scores, the ground truth and the recall.
    pub metric: Metric,
    /// Base vectors, row-major.
    pub base: &'a [f32],
    /// Queries, row-major.
    pub queries: &'a [f32],
    /// Per query: the exact score of the 10th true neighbour. A returned vector scoring at least
    /// this (exactly, in `f64`) is one of the true top 10, so ties at the 10th place (common on
    /// integer data) count as hits whichever of the tied ids a codec returns.
    pub threshold: Vec<f64>,
    /// `Σ‖x‖²` over the base (f64).
    pub base_energy: f64,
    /// Sampled pairs for the score error: `(query index, base ids)`.
    pub ip_queries: usize,
    /// Base ids sampled for the score error (the same for every sampled query).
    pub ip_ids: Vec<u32>,
    /// Exact scores (in the metric) of the sampled pairs, `ip_queries × ip_ids.len()`.
    pub ip_truth: Vec<f64>,
    /// Minimum seconds per timed measurement.
    pub min_secs: f64,
}

impl<'a> Bench<'a> {
    /// Prepares the shared state: the recall thresholds from the ground truth (`gt_k ≥ 10` ids
    /// per query, best first), the base energy and the sampled exact scores.
    pub fn new(
        dim: usize,
        metric: Metric,
        base: &'a [f32],
        queries: &'a [f32],
        gt: &[u32],
        gt_k: usize,
        min_secs: f64,
    ) -> Self {
        let n = base.len() / dim;
        let nq = queries.len() / dim;
        let row = |i: u32| &base[i as usize * dim..][..dim];
        let threshold = queries
            .chunks_exact(dim)
            .enumerate()
            .map(|(qi, q)| {
                gt[qi * gt_k..][..10].iter().map(|&i| exact64(metric, q, row(i))).fold(f64::INFINITY, f64::min)
            })
            .collect();
        let base_energy = base.chunks_exact(dim).map(|x| dot64(x, x)).sum();
        // Up to 100 queries × up to 2,000 evenly strided base rows.
        let ip_queries = nq.min(100);
        let stride = n.div_ceil(2_000).max(1);
        let ip_ids: Vec<u32> = (0..n).step_by(stride).map(|i| i as u32).collect();
        let mut ip_truth = Vec::with_capacity(ip_queries * ip_ids.len());
        for q in queries.chunks_exact(dim).take(ip_queries) {
            ip_truth.extend(ip_ids.iter().map(|&i| exact64(metric, q, row(i))));
        }
        Bench { dim, metric, base, queries, threshold, base_energy, ip_queries, ip_ids, ip_truth, min_secs }
    }

    /// Number of base vectors.
    pub fn n(&self) -> usize {
        self.base.len() / self.dim
    }

    /// Number of queries.
    pub fn nq(&self) -> usize {
        self.queries.len() / self.dim
    }

    /// The true top-10 found in the first 10 and in all of `got` (best first), for query `qi`:
    /// a returned id is a hit when its exact score reaches the 10th true score; at most 10.
    fn hits(&self, qi: usize, q: &[f32], got: &[(f32, u32)]) -> (usize, usize) {
        let t = self.threshold[qi];
        // Rounding slack of the f64 sums only (far below any real score gap).
        let t = t - 1e-12 * t.abs().max(1.0);
        let (mut h10, mut h100) = (0, 0);
        for (rank, &(_, id)) in got.iter().enumerate() {
            if exact64(self.metric, q, &self.base[id as usize * self.dim..][..self.dim]) >= t {
                h100 += 1;
                if rank < 10 {
                    h10 += 1;
                }
            }
        }
        (h10.min(10), h100.min(10))
    }

    /// Measures one codec. `progress` is called with a short stage description.
    pub fn run(
        &self,
        name: &str,
        family: &str,
        codec: &dyn DynCodec,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Row, String> {
        let (d, n, nq) = (self.dim, self.n(), self.nq());
        if codec.dim() != d {
            return Err(format!("codec dimension {} ≠ data dimension {d}", codec.dim()));
        }
        if codec.metric() != self.metric {
            return Err(format!("codec metric {} ≠ run metric {}", codec.metric().name(), self.metric.name()));
        }
        let err = |what: &str, e: vector_codecs::Error| format!("{what}: {e}");
        let c = codec.code_len();
        let mut codes = vec![0u8; n * c];

        progress("encode");
        let mut result = Ok(0);
        let t_enc = best_time(self.min_secs, 20, || {
            result = codec.encode_batch(self.base, &mut codes).and_then(|()| codec.stored_bytes(&codes));
        });
        let stored = result.map_err(|e| err("encode", e))?;
        let bits_per_dim = 8.0 * stored as f64 / (n * d) as f64;
        let encode_vps = n as f64 / t_enc;

        progress("decode");
        let mut out = vec![0f32; n * d];
        // A codec without a decoder (a pure scorer) answers with an error: no MSE, no rate.
        let (rel_mse, decode_vps) = if let Err(e) = codec.decode_batch(&codes[..c.min(codes.len())], &mut out[..d]) {
            progress(&format!("no decoder ({e}): relative MSE not reported"));
            (f64::NAN, f64::NAN)
        } else {
            let mut result = Ok(());
            let t_dec = best_time(self.min_secs, 20, || result = codec.decode_batch(&codes, &mut out));
            result.map_err(|e| err("decode", e))?;
            let sse: f64 = self
                .base
                .iter()
                .zip(&out)
                .map(|(&x, &y)| {
                    let e = f64::from(x) - f64::from(y);
                    e * e
                })
                .sum();
            (sse / self.base_energy, n as f64 / t_dec)
        };

        // Scan: recall 10@100 from the batch top-100 scan (all queries through
        // `scan_layout_topk_many_into`, several queries per pass over the codes where the codec
        // has such a kernel, like faiss's `search` on a query batch), the inner-product error
        // from per-query score scans, and the timing from top-10 passes of the batch scan. The codes are scanned in the
        // codec's search layout (built once, like an index's `add`; blocked for fast-scan PQ,
        // the codes themselves otherwise).
        let codes = codec.layout(&codes).map_err(|e| err("layout", e))?;
        let mut scratch = vec![0f32; MANY_QUERIES * codec.query_scratch_len()];
        let mut tops: Vec<TopK<DEPTH>> = (0..nq).map(|_| TopK::new(DEPTH)).collect();
        progress("scan");
        codec
            .scan_layout_topk_many_into(self.queries, &mut scratch, &codes, n, &mut tops)
            .map_err(|e| err("scan", e))?;
        let mut hit100 = 0usize;
        for (qi, (q, top)) in self.queries.chunks_exact(d).zip(tops.iter_mut()).enumerate() {
            let mut got = [(0f32, 0u32); DEPTH];
            let m = top.drain_sorted(&mut got);
            hit100 += self.hits(qi, q, &got[..m]).1;
        }
        let mut scores = vec![0f32; n];
        let (mut se, mut st) = (0f64, 0f64);
        for (qi, q) in self.queries.chunks_exact(d).enumerate().take(self.ip_queries) {
            codec.scan_layout_into(q, &mut scratch, &codes, &mut scores).map_err(|e| err("scan", e))?;
            let truth = &self.ip_truth[qi * self.ip_ids.len()..][..self.ip_ids.len()];
            for (&id, &t) in self.ip_ids.iter().zip(truth) {
                let e = f64::from(scores[id as usize]) - t;
                se += e * e;
                st += t * t;
            }
        }
        // Timing: the top-10 of every query (what faiss's `search(xq, 10)` returns; the recall
        // pass above keeps 100 for recall 10@100), best pass, passes until `min_secs`.
        let mut top10: Vec<TopK<10>> = (0..nq).map(|_| TopK::new(10)).collect();
        let mut best_pass = f64::INFINITY;
        let start = Instant::now();
        while best_pass.is_infinite() || start.elapsed().as_secs_f64() < self.min_secs {
            progress("scan (timing)");
            top10.iter_mut().for_each(|t| *t = TopK::new(10));
            let t = Instant::now();
            codec
                .scan_layout_topk_many_into(self.queries, &mut scratch, &codes, n, &mut top10)
                .map_err(|e| err("scan", e))?;
            best_pass = best_pass.min(t.elapsed().as_secs_f64());
        }
        // Recall@10 from the top-10 scan itself: the same as the top 10 of the depth-100 pass for
        // every codec, except re-ranked ones (`-rr{R}`), whose top-10 re-scores R·10 candidates,
        // not R·100.
        let mut hit10 = 0usize;
        for (qi, (q, top)) in self.queries.chunks_exact(d).zip(top10.iter_mut()).enumerate() {
            let mut got = [(0f32, 0u32); 10];
            let m = top.drain_sorted(&mut got);
            hit10 += self.hits(qi, q, &got[..m]).0;
        }
        let denom = (10 * nq.max(1)) as f64;
        Ok(Row {
            name: name.to_string(),
            family: family.to_string(),
            bits_per_dim,
            rel_mse,
            ip_rel_rmse: if st > 0.0 { (se / st).sqrt() } else { f64::NAN },
            recall_at_10: hit10 as f64 / denom,
            recall_10_at_100: hit100 as f64 / denom,
            encode_vps,
            decode_vps,
            scan_cps: (n * nq) as f64 / best_pass,
            uncentred: false,
            train_s: f64::NAN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small integer data with many exact ties (like the shipped uint8 set).
    fn data(n: usize, d: usize, salt: usize) -> Vec<f32> {
        (0..n * d).map(|i| ((i * 7 + salt) * 2_654_435_761 % 97 % 5) as f32).collect()
    }

    #[test]
    fn exact_topk_is_the_f64_ranking_with_ties_to_the_lower_id() {
        let (n, d, nq, k) = (300, 8, 7, 20);
        let base = data(n, d, 1);
        let queries = data(nq, d, 5);
        for metric in [Metric::InnerProduct, Metric::L2, Metric::Cosine] {
            let got = exact_topk(metric, &base, &queries, d, k);
            for (qi, q) in queries.chunks_exact(d).enumerate() {
                let mut all: Vec<(f64, u32)> =
                    base.chunks_exact(d).enumerate().map(|(i, x)| (exact64(metric, q, x), i as u32)).collect();
                all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let want: Vec<u32> = all[..k].iter().map(|&(_, i)| i).collect();
                assert_eq!(&got[qi * k..][..k], &want[..], "{metric:?} query {qi}");
            }
        }
    }

    #[test]
    fn recall_counts_ties_at_the_tenth_place() {
        // Base: 0, 1, 1, …, 1 (19 copies of 1) and far rows; query 0. L2 top-10 = row 0 and nine
        // of the nineteen tied rows; any nine of them are a perfect answer.
        let d = 1;
        let mut base = vec![0f32];
        base.extend(std::iter::repeat_n(1f32, 19));
        base.extend((0..80).map(|i| 10.0 + i as f32));
        let q = [0f32];
        let gt = exact_topk(Metric::L2, &base, &q, d, 100);
        let bench = Bench::new(d, Metric::L2, &base, &q, &gt, 100, 0.0);
        let tied_last: Vec<(f32, u32)> = (0..10).map(|i| (0.0, if i == 0 { 0 } else { 10 + i })).collect();
        assert_eq!(bench.hits(0, &q, &tied_last), (10, 10));
        let one_far: Vec<(f32, u32)> = (0..10).map(|i| (0.0, if i == 9 { 50 } else { i })).collect();
        assert_eq!(bench.hits(0, &q, &one_far), (9, 9));
        let all: Vec<(f32, u32)> = (0..100).map(|i| (0.0, i)).collect();
        assert_eq!(bench.hits(0, &q, &all), (10, 10));
    }

    #[test]
    fn centring_marks() {
        for n in ["bin1", "tq4", "tqp3-orth", "qjl", "tq4-ip"] {
            assert!(crate::codecs::needs_centring(n), "{n}");
        }
        for n in ["bin1-centred", "ctq2-ip", "pca2-ip", "rabitq1", "SQ8", "f16", "f32"] {
            assert!(!crate::codecs::needs_centring(n), "{n}");
        }
    }
}
