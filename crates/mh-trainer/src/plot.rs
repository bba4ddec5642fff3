//! `loss.svg`: training loss per step (line) and eval loss (dots) on shared axes.

use std::fmt::Write;

use crate::metrics::Row;

const W: f64 = 720.0;
const H: f64 = 400.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 32.0;
const BOTTOM: f64 = 48.0;

/// The loss curve as an SVG document; `None` when there is nothing to draw.
pub fn loss_svg(rows: &[Row], title: &str) -> Option<String> {
    let train: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Step(s) if s.loss.is_finite() => Some((s.step as f64, s.loss)),
            _ => None,
        })
        .collect();
    let eval: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Eval(e) if e.eval_loss.is_finite() => Some((e.step as f64, e.eval_loss)),
            _ => None,
        })
        .collect();
    let all = train.iter().chain(&eval);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return None;
    }
    if x1 - x0 < 1.0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    let (y0, y1) = ((y0 - pad).max(0.0), y1 + pad);
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (y1 - y) / (y1 - y0) * (H - TOP - BOTTOM);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    for i in 0..=4 {
        let y = y0 + (y1 - y0) * i as f64 / 4.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{y:.3}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py(y) + 4.0,
            py = py(y),
        );
        let x = x0 + (x1 - x0) * i as f64 / 4.0;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            px(x),
            H - BOTTOM + 18.0,
            x.round()
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">step</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 8.0
    );
    if !train.is_empty() {
        let points: Vec<String> = train
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            svg,
            r##"<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{}"/>"##,
            points.join(" ")
        );
    }
    for &(x, y) in &eval {
        let _ = writeln!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#d62728"/>"##,
            px(x),
            py(y)
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{}" y="{}" fill="#1f77b4">— train loss</text><text x="{}" y="{}" fill="#d62728">● eval loss</text>"##,
        W - RIGHT - 190.0,
        TOP + 14.0,
        W - RIGHT - 90.0,
        TOP + 14.0
    );
    svg.push_str("</svg>\n");
    Some(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{EvalRow, StepRow};

    #[test]
    fn draws_both_series_inside_the_plot_area() {
        let step = |step, loss| {
            Row::Step(StepRow {
                step,
                epoch: 0.0,
                loss,
                lr: 0.0,
                grad_norm: 0.0,
                tokens: 0,
                tokens_per_s: 0.0,
                elapsed_s: 0.0,
            })
        };
        let rows = vec![
            step(1, 4.0),
            step(2, 3.0),
            Row::Eval(EvalRow {
                step: 2,
                epoch: 0.0,
                eval_loss: 3.5,
                eval_ppl: 33.1,
                eval_tokens: 9,
                elapsed_s: 0.0,
            }),
        ];
        let svg = loss_svg(&rows, "a <run>").unwrap();
        assert!(svg.contains("<polyline") && svg.contains("<circle"));
        assert!(svg.contains("a &lt;run&gt;"));
        assert!(loss_svg(&[], "x").is_none());
    }
}
