//! A fixed-capacity top-k selector for scans, with no allocator.
//!
//! [`TopK<CAP>`] keeps the `k ≤ CAP` largest scores pushed into it (ties broken towards the
//! smaller id, so results are deterministic) in a binary min-heap stored inline. A push costs one
//! comparison when the score does not qualify, which is the common case in a long scan.

/// The `k` best `(score, id)` pairs seen so far; larger scores are better. NaN scores are never
/// kept.
#[derive(Clone, Debug)]
pub struct TopK<const CAP: usize> {
    k: usize,
    len: usize,
    heap: [(f32, u32); CAP],
}

#[inline]
fn worse(a: (f32, u32), b: (f32, u32)) -> bool {
    // `a` ranks below `b`: lower score, or equal score and larger id.
    a.0 < b.0 || (a.0 == b.0 && a.1 > b.1)
}

impl<const CAP: usize> TopK<CAP> {
    /// A selector for the best `min(k, CAP)` entries.
    pub fn new(k: usize) -> Self {
        TopK { k: k.min(CAP), len: 0, heap: [(0.0, 0); CAP] }
    }

    /// Empties the selector and sets it to keep the best `min(k, CAP)` entries: the same state
    /// as [`new`](Self::new)`(k)` without writing the `CAP` slots (a selector reused across
    /// queries).
    pub fn reset(&mut self, k: usize) {
        self.k = k.min(CAP);
        self.len = 0;
    }

    /// The number of entries this selector keeps.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Number of entries held (≤ k).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The held entries `(score, id)`, in no particular order.
    pub fn entries(&self) -> &[(f32, u32)] {
        &self.heap[..self.len]
    }

    /// The score an entry must beat to enter once the selector is full (−inf before).
    #[inline]
    pub fn threshold(&self) -> f32 {
        if self.len < self.k { f32::NEG_INFINITY } else { self.heap[0].0 }
    }

    /// Offers `(score, id)`.
    #[inline]
    pub fn push(&mut self, score: f32, id: u32) {
        if self.k == 0 || score.is_nan() {
            return;
        }
        let e = (score, id);
        if self.len < self.k {
            let mut i = self.len;
            self.heap[i] = e;
            self.len += 1;
            while i > 0 {
                let p = (i - 1) / 2;
                if worse(self.heap[i], self.heap[p]) {
                    self.heap.swap(i, p);
                    i = p;
                } else {
                    break;
                }
            }
        } else if worse(self.heap[0], e) {
            self.heap[0] = e;
            self.sift_down(0);
        }
    }

    /// Offers a batch of scores with ids `first_id, first_id + 1, …`.
    ///
    /// Scores are screened against the threshold with SIMD compares
    /// ([`crate::simd::first_at_least`]; NaN never passes), so a long scan costs about one vector
    /// compare per 16 scores; the kept entries are those of offering every score in order.
    pub fn push_batch(&mut self, scores: &[f32], first_id: u32) {
        let mut i = 0;
        while i < scores.len() {
            i = crate::simd::first_at_least(scores, i, self.threshold());
            if let Some(&s) = scores.get(i) {
                self.push(s, first_id.wrapping_add(i as u32));
                i += 1;
            }
        }
    }

    /// Offers every entry `other` holds (in no particular order). Because the selector keeps
    /// the `k` best under a total order (larger score, then smaller id), merging the selectors
    /// of disjoint id ranges gives exactly the entries of one selector fed every score.
    pub fn merge<const C2: usize>(&mut self, other: &TopK<C2>) {
        for &(s, i) in &other.heap[..other.len] {
            self.push(s, i);
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let l = 2 * i + 1;
            let r = l + 1;
            let mut m = i;
            if l < self.len && worse(self.heap[l], self.heap[m]) {
                m = l;
            }
            if r < self.len && worse(self.heap[r], self.heap[m]) {
                m = r;
            }
            if m == i {
                return;
            }
            self.heap.swap(i, m);
            i = m;
        }
    }

    /// Writes the held entries best-first into `out` and returns how many were written
    /// (`min(len, out.len())`). The selector is left empty.
    pub fn drain_sorted(&mut self, out: &mut [(f32, u32)]) -> usize {
        let n = self.len;
        // Heap-sort in place: repeatedly move the worst to the end.
        while self.len > 1 {
            self.len -= 1;
            self.heap.swap(0, self.len);
            self.sift_down(0);
        }
        self.len = 0;
        let m = n.min(out.len());
        out[..m].copy_from_slice(&self.heap[..m]);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use alloc::vec::Vec;

    #[test]
    fn matches_full_sort() {
        let mut r = Rng::new(5);
        for &(n, k) in &[(0usize, 10usize), (5, 10), (1000, 10), (1000, 100), (777, 1), (50, 0)] {
            let scores: Vec<f32> = (0..n).map(|_| (r.below(200) as f32) - 100.0).collect();
            let mut t = TopK::<128>::new(k);
            t.push_batch(&scores, 0);
            let mut out = [(0.0f32, 0u32); 128];
            let m = t.drain_sorted(&mut out);
            let mut all: Vec<(f32, u32)> = scores.iter().enumerate().map(|(i, &s)| (s, i as u32)).collect();
            all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            all.truncate(k.min(128));
            assert_eq!(&out[..m], &all[..], "n {n} k {k}");
        }
    }

    #[test]
    fn merge_of_ranges_equals_one_pass() {
        let mut r = Rng::new(9);
        // Few distinct scores: many ties, broken by id.
        let scores: Vec<f32> = (0..5000).map(|_| (r.below(50) as f32) - 25.0).collect();
        for k in [0usize, 1, 7, 64] {
            let mut one = TopK::<64>::new(k);
            one.push_batch(&scores, 0);
            let mut merged = TopK::<64>::new(k);
            for (j, part) in scores.chunks(333).enumerate().rev() {
                let mut t = TopK::<64>::new(k);
                t.push_batch(part, (j * 333) as u32);
                merged.merge(&t);
            }
            let (mut a, mut b) = ([(0.0f32, 0u32); 64], [(0.0f32, 0u32); 64]);
            let (ma, mb) = (one.drain_sorted(&mut a), merged.drain_sorted(&mut b));
            assert_eq!(a[..ma], b[..mb], "k {k}");
        }
    }

    #[test]
    fn nan_is_ignored() {
        let mut t = TopK::<4>::new(4);
        t.push(f32::NAN, 0);
        t.push(1.0, 1);
        let mut out = [(0.0, 0); 4];
        assert_eq!(t.drain_sorted(&mut out), 1);
        assert_eq!(out[0], (1.0, 1));
    }
}
