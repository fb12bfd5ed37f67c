//! Output: the text table, the CSV file and the hand-written SVG plot.

use crate::metrics::Row;
use std::fmt::Write as _;
use vector_codecs::metric::Metric;

/// The CSV header (fixed; tools depend on it).
pub const CSV_HEADER: &str =
    "codec,bits_per_dim,rel_mse,ip_rel_rmse,recall_at_10,recall_10_at_100,encode_vps,decode_vps,scan_cps,train_s";

fn opt(v: f64, f: impl Fn(f64) -> String) -> String {
    if v.is_finite() { f(v) } else { String::new() }
}

/// Formats a rate as `12.3M`, `456k`, …
fn si(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// The header line of the text table (the score-error column is named after `metric`).
pub fn table_header(metric: Metric) -> String {
    format!(
        "{:<18} {:>9} {:>10} {:>11} {:>9} {:>10} {:>10} {:>10} {:>10}\n{}",
        "codec",
        "bits/dim",
        "rel_mse",
        format!("{}_rel_err", metric.name()),
        "recall@10",
        "r10@100",
        "encode/s",
        "decode/s",
        "scan/s",
        "-".repeat(18 + 9 * 10)
    )
}

/// One text-table line.
pub fn table_line(r: &Row) -> String {
    format!(
        "{:<18} {:>9.3} {:>10} {:>11.4} {:>9.4} {:>10.4} {:>10} {:>10} {:>10}",
        if r.uncentred { format!("{}¹", r.name) } else { r.name.clone() },
        r.bits_per_dim,
        if r.rel_mse.is_finite() { format!("{:.3e}", r.rel_mse) } else { "-".into() },
        r.ip_rel_rmse,
        r.recall_at_10,
        r.recall_10_at_100,
        si(r.encode_vps),
        si(r.decode_vps),
        si(r.scan_cps),
    )
}

/// The CSV text (header + one line per row; unavailable values are empty cells).
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let e = |v: f64| format!("{v:.6e}");
        let f = |v: f64| format!("{v:.6}");
        let g = |v: f64| format!("{v:.1}");
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            // RFC 4180: a name holding a comma (faiss's `OPQ48_384,PQ48`) is quoted.
            if r.name.contains([',', '"']) { format!("\"{}\"", r.name.replace('"', "\"\"")) } else { r.name.clone() },
            opt(r.bits_per_dim, f),
            opt(r.rel_mse, e),
            opt(r.ip_rel_rmse, e),
            opt(r.recall_at_10, f),
            opt(r.recall_10_at_100, f),
            opt(r.encode_vps, g),
            opt(r.decode_vps, g),
            opt(r.scan_cps, g),
            opt(r.train_s, |v| format!("{v:.3}")),
        );
    }
    s
}

const PALETTE: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A panel's geometry: plot area and axis mappings (x is log₂ of bits per dimension).
struct Panel {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    lx: (f64, f64),
    ly: (f64, f64),
}

impl Panel {
    fn px(&self, bits: f64) -> f64 {
        self.x0 + (bits.log2() - self.lx.0) / (self.lx.1 - self.lx.0) * self.w
    }
    /// `v` already in axis units (linear recall or log₁₀ MSE).
    fn py(&self, v: f64) -> f64 {
        self.y0 + self.h - (v - self.ly.0) / (self.ly.1 - self.ly.0) * self.h
    }
}

/// Picks a label position (text baseline origin) near the mark at `(x, y)` for a label `w`
/// pixels wide: the candidate offset overlapping the fewest already placed labels (ties: the
/// nearest), kept inside the panel; records the chosen box.
fn place_label(placed: &mut Vec<(f64, f64, f64, f64)>, x: f64, y: f64, w: f64, p: &Panel) -> (f64, f64) {
    const H: f64 = 11.0;
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for (i, &(dx, dy)) in [
        (6.0, -4.0),
        (6.0, 12.0),
        (-6.0 - w, -4.0),
        (-6.0 - w, 12.0),
        (6.0, -16.0),
        (6.0, 24.0),
        (-6.0 - w, -16.0),
        (-6.0 - w, 24.0),
        (6.0, -28.0),
        (6.0, 36.0),
        (40.0, -4.0),
        (40.0, 12.0),
        (-40.0 - w, -4.0),
        (6.0, -40.0),
        (6.0, 48.0),
    ]
    .iter()
    .enumerate()
    {
        let lx = (x + dx).clamp(p.x0 + 2.0, p.x0 + p.w - w - 2.0);
        let ly = (y + dy).clamp(p.y0 + H, p.y0 + p.h - 2.0);
        let b = (lx, ly - H + 2.0, lx + w, ly + 2.0);
        let overlap: f64 = placed
            .iter()
            .map(|o| ((b.2.min(o.2) - b.0.max(o.0)).max(0.0)) * ((b.3.min(o.3) - b.1.max(o.1)).max(0.0)))
            .sum();
        let cost = overlap * 100.0 + i as f64;
        if cost < best.0 {
            best = (cost, lx, ly);
        }
    }
    placed.push((best.1, best.2 - H + 2.0, best.1 + w, best.2 + 2.0));
    (best.1, best.2)
}

/// The two-panel SVG: recall@10 vs bits/dim, and relative MSE (log scale) vs bits/dim.
pub fn svg(rows: &[Row], title: &str) -> String {
    let (width, height) = (1100.0, 520.0);
    let mut families: Vec<&str> = Vec::new();
    for r in rows {
        if !families.contains(&r.family.as_str()) {
            families.push(&r.family);
        }
    }
    let colour = |fam: &str| PALETTE[families.iter().position(|f| *f == fam).unwrap_or(0) % PALETTE.len()];

    let bits: Vec<f64> = rows.iter().map(|r| r.bits_per_dim).filter(|b| b.is_finite() && *b > 0.0).collect();
    let bmin = bits.iter().copied().fold(f64::INFINITY, f64::min).min(1.0);
    let bmax = bits.iter().copied().fold(0.0, f64::max).max(2.0);
    let lx = (bmin.log2().floor() - 0.25, bmax.log2().ceil() + 0.25);

    let mses: Vec<f64> = rows.iter().map(|r| r.rel_mse).filter(|m| m.is_finite() && *m > 0.0).collect();
    let mlo = mses.iter().copied().fold(f64::INFINITY, f64::min);
    let mhi = mses.iter().copied().fold(0.0, f64::max);
    let (mlo, mhi) = if mses.is_empty() { (1e-6, 1.0) } else { (mlo, mhi) };
    // One extra decade at the bottom holds exact (MSE 0) codecs.
    let ly_mse = (mlo.log10().floor() - 1.0, mhi.log10().ceil().max(mlo.log10().floor() + 1.0));
    let zero_row = ly_mse.0 + 0.3;

    let rmin = rows.iter().map(|r| r.recall_at_10).filter(|v| v.is_finite()).fold(1.0, f64::min);
    let ly_rec = (((rmin * 10.0).floor() / 10.0).clamp(0.0, 0.9), 1.0);

    let panels = [
        Panel { x0: 80.0, y0: 60.0, w: 440.0, h: 380.0, lx, ly: ly_rec },
        Panel { x0: 630.0, y0: 60.0, w: 440.0, h: 380.0, lx, ly: ly_mse },
    ];
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ =
        writeln!(s, r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#, width / 2.0, esc(title));

    for (pi, p) in panels.iter().enumerate() {
        // Frame, x grid (powers of two) and labels.
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
            p.x0, p.y0, p.w, p.h
        );
        let mut e = p.lx.0.ceil() as i32;
        while f64::from(e) <= p.lx.1 {
            let b = 2f64.powi(e);
            let x = p.px(b);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
                p.y0,
                p.y0 + p.h,
                p.y0 + p.h + 16.0,
                if b >= 1.0 { format!("{b}") } else { format!("{b:.2}") }
            );
            e += 1;
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">bits per dimension (log scale)</text>"#,
            p.x0 + p.w / 2.0,
            p.y0 + p.h + 36.0
        );
        // y grid.
        if pi == 0 {
            let span = p.ly.1 - p.ly.0;
            let step = [0.01, 0.02, 0.05, 0.1].into_iter().find(|&s| span / s <= 10.5).unwrap_or(0.1);
            let ticks = (span / step).round() as i32;
            for t in 0..=ticks {
                let v = p.ly.0 + f64::from(t) * step;
                let y = p.py(v);
                let _ = writeln!(
                    s,
                    r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{v:.2}</text>"##,
                    p.x0,
                    p.x0 + p.w,
                    p.x0 - 6.0,
                    y + 4.0
                );
            }
            let _ = writeln!(
                s,
                r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">recall@10</text>"#,
                p.x0 - 48.0,
                p.y0 + p.h / 2.0
            );
        } else {
            let mut e = p.ly.0.ceil() as i32;
            while f64::from(e) <= p.ly.1 {
                let y = p.py(f64::from(e));
                let _ = writeln!(
                    s,
                    r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">1e{e}</text>"##,
                    p.x0,
                    p.x0 + p.w,
                    p.x0 - 6.0,
                    y + 4.0
                );
                e += 1;
            }
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{:.1}" text-anchor="start" fill="#666">exact (0)</text>"##,
                p.x0 + 4.0,
                p.py(zero_row) + 14.0
            );
            let _ = writeln!(
                s,
                r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">relative MSE (log scale)</text>"#,
                p.x0 - 52.0,
                p.y0 + p.h / 2.0
            );
        }
        // Marks, then labels placed greedily where they overlap the fewest earlier labels.
        let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
        for r in rows {
            if !(r.bits_per_dim.is_finite() && r.bits_per_dim > 0.0) {
                continue;
            }
            let v = if pi == 0 {
                r.recall_at_10
            } else if r.rel_mse == 0.0 {
                zero_row
            } else if r.rel_mse.is_finite() && r.rel_mse > 0.0 {
                r.rel_mse.log10()
            } else {
                continue;
            };
            let (x, y) = (p.px(r.bits_per_dim), p.py(v));
            let c = colour(&r.family);
            let w = r.name.chars().count() as f64 * 6.0;
            let (lx, ly) = place_label(&mut placed, x, y, w, p);
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{c}"><title>{} — {:.3} bits/dim</title></circle><text x="{lx:.1}" y="{ly:.1}" font-size="10" fill="{c}">{}</text>"#,
                esc(&r.name),
                r.bits_per_dim,
                esc(&r.name)
            );
            if (lx - x - 6.0).abs() > 30.0 || (ly - y + 4.0).abs() > 14.0 {
                let _ = writeln!(
                    s,
                    r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="0.5"/>"#,
                    if lx < x { lx + w } else { lx },
                    ly - 3.0
                );
            }
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>"#,
            p.x0 + p.w / 2.0,
            p.y0 - 10.0,
            if pi == 0 {
                "recall@10 vs bits/dim (higher is better)"
            } else {
                "relative MSE vs bits/dim (lower is better)"
            }
        );
    }
    // Legend: one colour per family.
    for (i, f) in families.iter().enumerate() {
        let x = 80.0 + 130.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<circle cx="{x}" cy="{}" r="5" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            height - 22.0,
            colour(f),
            x + 9.0,
            height - 18.0,
            esc(f)
        );
    }
    s.push_str("</svg>\n");
    s
}
