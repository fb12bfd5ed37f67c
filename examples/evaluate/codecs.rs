//! The configurations the harness runs: the library's factory table ([`factory::entries`]),
//! plus the local `f32` baseline row while the factory has no `f32` entry.
//!
//! Nothing is restated here: names, families, the `--quick` set and the descriptions all come
//! from [`factory::entries`] / [`factory::names`] and [`DynCodec::about`].

use crate::baseline::{self, F32Exact};
use vector_codecs::dynamic::DynCodec;
use vector_codecs::factory;
use vector_codecs::metric::Metric;

/// The name of the exact reference row.
pub const BASELINE: &str = "f32";

/// Whether the factory builds `f32` itself (then the local baseline is not used).
fn factory_has_f32() -> bool {
    factory::lookup(BASELINE).is_ok()
}

/// One configuration to run.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The configuration name (a factory name, or `f32`).
    pub name: String,
    /// The family (the factory entry's; `baseline` for the local row).
    pub family: &'static str,
}

/// `name` resolved against the factory (or the local baseline).
///
/// # Errors
/// A message naming the known configurations.
pub fn resolve(name: &str) -> Result<Spec, String> {
    if name == BASELINE && !factory_has_f32() {
        return Ok(Spec { name: name.into(), family: "baseline" });
    }
    match factory::lookup(name) {
        Ok((e, _)) => Ok(Spec { name: name.into(), family: e.family }),
        Err(_) => Err(format!(
            "unknown codec {name:?}; known: {}",
            all().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn baseline_spec() -> Option<Spec> {
    (!factory_has_f32()).then(|| Spec { name: BASELINE.into(), family: "baseline" })
}

/// Every concrete name: the baseline, then the factory's [`factory::names`].
pub fn all() -> Vec<Spec> {
    let mut v: Vec<Spec> = baseline_spec().into_iter().collect();
    for e in factory::entries() {
        v.extend(e.names().map(|n| Spec { name: n.into(), family: e.family }));
    }
    v
}

/// The `--quick` set: the baseline, then the names of the entries marked `quick`.
pub fn quick() -> Vec<Spec> {
    let mut v: Vec<Spec> = baseline_spec().into_iter().collect();
    for e in factory::entries().filter(|e| e.quick) {
        v.extend(e.names().map(|n| Spec { name: n.into(), family: e.family }));
    }
    v
}

/// Builds `spec` for `dim`-vectors in `metric`, trained on `train`.
///
/// # Errors
/// The factory's error.
pub fn build(
    spec: &Spec,
    dim: usize,
    metric: Metric,
    seed: u64,
    train: &[f32],
) -> vector_codecs::Result<Box<dyn DynCodec>> {
    if spec.family == "baseline" {
        return Ok(Box::new(F32Exact::new(dim, metric)));
    }
    factory::build(&spec.name, dim, metric, seed, train)
}

/// The `--list` text: one line per factory pattern (with its concrete names when it has `{N}`).
pub fn list() -> String {
    use std::fmt::Write as _;
    let mut s = format!("{:<20} {:<15} {:<7} {:<5} about\n", "name", "family", "trained", "quick");
    if !factory_has_f32() {
        let _ = writeln!(s, "{:<20} {:<15} {:<7} {:<5} {}", BASELINE, "baseline", "", "yes", baseline::ABOUT);
    }
    for e in factory::entries() {
        let _ = writeln!(
            s,
            "{:<20} {:<15} {:<7} {:<5} {}",
            e.pattern,
            e.family,
            if e.trained { "yes" } else { "" },
            if e.quick { "yes" } else { "" },
            e.about
        );
        if !e.examples.is_empty() {
            let _ = writeln!(s, "{:<20} {:<15} {:<7} {:<5}   names: {}", "", "", "", "", e.examples.join(", "));
        }
    }
    s
}

/// Whether `name` quantizes signs or a direction around the origin, so that data with a large
/// common offset (non-negative, uncentred data such as pixel or SIFT counts) leaves little
/// resolution for what tells the vectors apart: sign codes (`bin*`), TurboQuant's rotation
/// codecs (`tq*`, `tqp*`) and QJL sketches (`qjl*`). Their centred variants (`*centred*`,
/// `ctq*`, `pca*`) and RaBitQ (training-mean centroid) subtract a mean first.
pub fn needs_centring(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let centred = n.contains("centred") || n.contains("centered");
    !centred && (n.starts_with("bin") || n.starts_with("tq") || n.starts_with("qjl"))
}
