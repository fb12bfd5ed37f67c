//! Lloyd–Max codebooks: Gaussian tables, density solver and 1-D k-means (SPECS §2).
use vector_codecs::rng::Rng;
use vector_codecs::scalar::lloyd::{Codebook, GAUSSIAN_HALF_CENTROIDS, GAUSSIAN_MSE};

fn gaussian_samples(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.gaussian() as f32).collect()
}

#[test]
fn gaussian_tables_reproduce_mse() {
    let xs = gaussian_samples(1_000_000, 42);
    for b in 1..=4u32 {
        let cb = Codebook::gaussian(b).unwrap();
        assert_eq!(cb.len(), 1 << b);
        assert_eq!(cb.bits(), b);
        // Symmetric, both halves exact.
        let half = GAUSSIAN_HALF_CENTROIDS[b as usize - 1];
        for (i, &v) in half.iter().enumerate() {
            assert_eq!(cb.levels()[half.len() + i], v);
            assert_eq!(cb.levels()[half.len() - 1 - i], -v);
        }
        let mse = cb.mse(&xs);
        let want = GAUSSIAN_MSE[b as usize - 1];
        assert!((mse / want - 1.0).abs() < 0.01, "b={b}: mse {mse} vs {want}");
    }
    assert!(Codebook::gaussian(0).is_err());
    assert!(Codebook::gaussian(5).is_err());
}

#[test]
fn index_is_upper_bound() {
    let cb = Codebook::new(&[-1.0, 0.0, 2.0]).unwrap();
    assert_eq!(cb.thresholds(), &[-0.5, 1.0]);
    assert_eq!(cb.index(-0.5), 1); // on a threshold: upper cell
    assert_eq!(cb.index(-0.50001), 0);
    assert_eq!(cb.index(1.0), 2);
    assert_eq!(cb.index(0.99), 1);
    assert_eq!(cb.index(f32::NAN), 0);
    assert_eq!(cb.index(f32::INFINITY), 2);
    assert_eq!(cb.index(f32::NEG_INFINITY), 0);
    assert_eq!(cb.level(200), 2.0);
    // Against a linear scan on a 256-level book.
    let lv: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) * 0.25).collect();
    let cb = Codebook::new(&lv).unwrap();
    let mut rng = Rng::new(3);
    for _ in 0..100_000 {
        let x = (rng.next_f32() - 0.5) * 80.0;
        let want = cb.thresholds().iter().filter(|&&t| t <= x).count();
        assert_eq!(cb.index(x) as usize, want, "{x}");
    }
    for t in cb.thresholds().to_vec() {
        let want = cb.thresholds().iter().filter(|&&u| u <= t).count();
        assert_eq!(cb.index(t) as usize, want);
    }
}

#[test]
fn new_validates() {
    assert!(Codebook::new(&[1.0]).is_err());
    assert!(Codebook::new(&[1.0, 1.0]).is_err());
    assert!(Codebook::new(&[2.0, 1.0]).is_err());
    assert!(Codebook::new(&[0.0, f32::NAN]).is_err());
    assert!(Codebook::new(&[-f32::MAX, f32::MAX]).is_err());
    assert!(Codebook::new(&vec![0.0; 257]).is_err());
}

#[test]
fn lloyd_max_density_matches_gaussian_table() {
    let pdf = |x: f64| (-0.5 * x * x).exp();
    for b in 1..=4u32 {
        let cb = Codebook::lloyd_max_density(pdf, -8.0, 8.0, 1 << b, 400_000, 200_000).unwrap();
        let want = Codebook::gaussian(b).unwrap();
        for (g, w) in cb.levels().iter().zip(want.levels()) {
            assert!((g - w).abs() < 1e-4, "b={b}: {g} vs {w}");
        }
    }
    assert!(Codebook::lloyd_max_density(pdf, 1.0, 1.0, 4, 0, 10).is_err());
    assert!(Codebook::lloyd_max_density(|_| f64::NAN, 0.0, 1.0, 4, 0, 10).is_err());
    assert!(Codebook::lloyd_max_density(|_| 0.0, 0.0, 1.0, 4, 0, 10).is_err());
}

#[test]
fn train_on_gaussian_samples() {
    let train = gaussian_samples(200_000, 5);
    let test = gaussian_samples(1_000_000, 6);
    for b in 1..=4u32 {
        let cb = Codebook::train(&train, 1 << b, 100).unwrap();
        let mse = cb.mse(&test);
        let want = GAUSSIAN_MSE[b as usize - 1];
        assert!((mse / want - 1.0).abs() < 0.01, "b={b}: mse {mse} vs {want}");
    }
    assert!(Codebook::train(&[1.0, 1.0, 1.0], 2, 10).is_err());
    assert!(Codebook::train(&[1.0, f32::NAN], 2, 10).is_err());
    let cb = Codebook::train(&[1.0, 2.0, 2.0, 1.0], 2, 10).unwrap();
    assert_eq!(cb.levels(), &[1.0, 2.0]);
}
