//! A saved codec is loaded only under the configuration name that built it: the parameters of a
//! trained codec saved as one name and relabelled as another name of the same family (same
//! dimension, metric and seed, valid checksum) are refused (`Corrupt`, or `Truncated` where the
//! other name's layout runs out of bytes), unless the two names build the same parameters (FAISS
//! spellings of the crate's names, such as `SQ8` and `sq8`).

mod common;

use vector_codecs::Error;
use vector_codecs::factory;
use vector_codecs::format::{Writer, kind};
use vector_codecs::metric::Metric;
use vector_codecs::persist::open_saved;

const SEED: u64 = 11;

/// `saved` with its name replaced by `name` (checksum recomputed).
fn relabel(saved: &[u8], name: &str) -> Vec<u8> {
    let mut s = open_saved(saved).unwrap();
    let params = s.params.bytes(s.params.remaining()).unwrap();
    let mut w = Writer::new(kind::CODEC);
    w.u8(name.len() as u8).bytes(name.as_bytes()).u8(s.metric.tag()).u32(s.dim as u32).u64(s.seed);
    w.bytes(params);
    w.finish().unwrap()
}

/// The parameter bytes of a saved codec (after the header).
fn params(saved: &[u8]) -> Vec<u8> {
    let mut s = open_saved(saved).unwrap();
    s.params.bytes(s.params.remaining()).unwrap().to_vec()
}

#[test]
fn trained_parameters_load_only_under_their_own_name() {
    let dir = common::shipped_dir();
    let rows = common::read_fvecs(dir.join("wordnet_base.fvecs"));
    let dim = rows.dim;
    let train: Vec<f32> = rows.data[..600 * dim].to_vec();
    for metric in [Metric::InnerProduct, Metric::L2] {
        let mut built = Vec::new();
        for e in factory::entries().filter(|e| e.trained) {
            for name in e.names() {
                let c = factory::build(name, dim, metric, SEED, &train).unwrap_or_else(|err| panic!("{name}: {err}"));
                built.push((e.family, name, c.save().unwrap()));
            }
        }
        let mut refused = 0;
        let mut accepted = Vec::new();
        for (fa, a, sa) in &built {
            for (fb, b, sb) in &built {
                if fa != fb || a == b {
                    continue;
                }
                let relabelled = relabel(sa, b);
                match factory::load(&relabelled) {
                    // Another family layout reads as truncated or trailing bytes; same layout,
                    // other configuration: Corrupt.
                    Err(Error::Corrupt(_) | Error::Truncated) => refused += 1,
                    Err(e) => panic!("{metric:?}: {a} saved as {b}: unexpected {e:?}"),
                    Ok(c) => {
                        // Accepted only where `b` builds exactly these parameters.
                        // Identity calibration is a valid `-cal` parameter set.
                        let identity_cal = a.starts_with("ctq") && b.ends_with("-ip-cal") && b.starts_with(&a[..4]);
                        if params(sa) != params(sb) && !identity_cal {
                            accepted.push(format!("{a} as {b}"));
                        }
                        assert_eq!(c.name(), *b);
                    }
                }
            }
        }
        assert!(accepted.is_empty(), "{metric:?}: parameters loaded under another name: {accepted:?}");
        assert!(refused > 0, "{metric:?}");
    }
}
