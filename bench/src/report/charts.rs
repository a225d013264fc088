//! The report's SVG charts, drawn with plotters' SVG backend: one bar per ratio (the
//! advantage of ours over a peer, on a log scale centred on parity), and one line per side
//! on each scale curve. Every side keeps its colour on every chart.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{BenchError, Result};
use crate::results::{Curve, Point, Ratio, Target};

fn draw_err(e: impl std::fmt::Debug) -> BenchError {
    BenchError::Fatal(format!("chart: {e:?}"))
}

/// A fixed colour per side, so that a peer looks the same on every chart.
fn colour(side: &str) -> RGBColor {
    match side.split_whitespace().next().unwrap_or(side) {
        "ours" => RGBColor(214, 39, 40),
        "daemontools" | "ucspi-tcp" | "exec" => RGBColor(31, 119, 180),
        "indimail" => RGBColor(44, 160, 44),
        "s6" => RGBColor(255, 127, 14),
        "runit" => RGBColor(148, 103, 189),
        "stunnel4" => RGBColor(140, 86, 75),
        "C" => RGBColor(127, 127, 127),
        _ => RGBColor(23, 190, 207),
    }
}

/// The colour of a peer's bar: by the side it names ("exec (indimail)" is IndiMail's).
fn peer_colour(peer: &str) -> RGBColor {
    match peer.split_once('(') {
        Some((_, rest)) => colour(rest.trim_end_matches(')')),
        None => colour(peer),
    }
}

const BAR_HEIGHT: u32 = 22;
/// The ratio chart's axis ends at this advantage (and its inverse).
const LIMIT: f64 = 30.0;

/// `ratios.svg`: one horizontal bar per ratio, from parity (1) to the advantage, on a log
/// axis; a black tick marks the target where there is one.
pub fn ratios(ratios: &[Ratio], path: &Path) -> Result<()> {
    let rows: Vec<(&Ratio, f64)> = ratios
        .iter()
        .filter_map(|r| r.advantage().map(|a| (r, a)))
        .collect();
    let n = rows.len().max(1);
    let labels: Vec<String> = rows
        .iter()
        .map(|(r, _)| format!("{} · {} vs {}", r.workload, short(&r.metric), r.peer))
        .collect();
    let (mut lo, mut hi) = (0.5f64, 2.0f64);
    for (r, a) in &rows {
        lo = lo.min(*a);
        hi = hi.max(*a);
        if let Target::Advantage(t) = r.target {
            hi = hi.max(t);
        }
    }
    // Outliers (s6-supervise's one-second restart pause) would squash every other bar:
    // the axis stops at 30 either way and such bars end at its edge, their value written.
    let (lo, hi) = ((lo / 1.3).max(1.0 / LIMIT), (hi * 1.3).min(LIMIT));
    let height = 120 + BAR_HEIGHT * n as u32;
    let root = SVGBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Advantage of ours over each peer (above 1: ours better; median of runs)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(560)
        .build_cartesian_2d((lo..hi).log_scale(), (0..n).into_segmented())
        .map_err(draw_err)?;
    let row_of = |i: usize| n - 1 - i;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(k) if *k < n => labels[n - 1 - *k].clone(),
            _ => String::new(),
        })
        .x_desc("advantage (×, log scale)")
        .x_label_formatter(&|x| format!("{x:.2}"))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(draw_err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (r, a))| {
            let y = row_of(i);
            let mut bar = Rectangle::new(
                [
                    (1.0, SegmentValue::Exact(y)),
                    (a.clamp(lo, hi), SegmentValue::Exact(y + 1)),
                ],
                peer_colour(&r.peer).filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))
        .map_err(draw_err)?;
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, (r, _))| {
            let Target::Advantage(t) = r.target else {
                return None;
            };
            let y = row_of(i);
            Some(PathElement::new(
                vec![(t, SegmentValue::Exact(y)), (t, SegmentValue::Exact(y + 1))],
                BLACK.stroke_width(3),
            ))
        }))
        .map_err(draw_err)?;
    // Each bar's value, right of its end (right of parity for bars going left).
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, a))| {
            Text::new(
                format!("{a:.2}×"),
                (
                    a.clamp(1.0, hi / 1.8) * 1.02,
                    SegmentValue::CenterOf(row_of(i)),
                ),
                TextStyle::from(("sans-serif", 11).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))
        .map_err(draw_err)?;
    // Parity.
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))],
            BLACK.stroke_width(1),
        )))
        .map_err(draw_err)?;
    root.present().map_err(draw_err)
}

/// A metric's name without its unit, for bar labels.
fn short(metric: &str) -> &str {
    metric.split(" (").next().unwrap_or(metric)
}

/// One scale curve: a line per side.
pub fn curve(c: &Curve, points: &[&Point], path: &Path) -> Result<()> {
    let mut sides: Vec<&str> = Vec::new();
    for p in points {
        if !sides.contains(&p.peer.as_str()) {
            sides.push(&p.peer);
        }
    }
    let x_lo = points.iter().map(|p| p.x).fold(f64::INFINITY, f64::min);
    let x_hi = points.iter().map(|p| p.x).fold(0.0, f64::max);
    let y_hi = points.iter().map(|p| p.y).fold(0.0, f64::max).max(1e-9) * 1.1;
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(&c.title, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70);
    let series = |side: &str| -> Vec<(f64, f64)> {
        let mut v: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.peer == side)
            .map(|p| (p.x, p.y))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    };
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(c.x_label.as_str())
                .y_desc(c.y_label.as_str())
                .x_label_formatter(&|x| round_label(*x))
                .light_line_style(TRANSPARENT)
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(draw_err)?;
            for side in &sides {
                let col = colour(side);
                let data = series(side);
                chart
                    .draw_series(LineSeries::new(data.clone(), col.stroke_width(2)))
                    .map_err(draw_err)?
                    .label(*side)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2))
                    });
                chart
                    .draw_series(data.into_iter().map(|xy| Circle::new(xy, 3, col.filled())))
                    .map_err(draw_err)?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(draw_err)?;
        }};
    }
    if c.log_x && x_lo > 0.0 {
        draw!(builder
            .build_cartesian_2d((x_lo / 1.2..x_hi * 1.2).log_scale(), 0.0..y_hi)
            .map_err(draw_err)?);
    } else {
        draw!(builder
            .build_cartesian_2d(x_lo.min(0.0)..x_hi * 1.05, 0.0..y_hi)
            .map_err(draw_err)?);
    }
    root.present().map_err(draw_err)
}

/// An axis label for 1, 2 and 5 times a power of ten only (a log axis has ticks at every
/// digit, whose labels run together).
fn round_label(x: f64) -> String {
    if x <= 0.0 {
        return format!("{x}");
    }
    let scale = 10f64.powf(x.log10().floor());
    let lead = (x / scale).round();
    let exact = ((x / scale) - lead).abs() < 1e-6;
    if exact && [1.0, 2.0, 5.0].contains(&lead) {
        format!("{}", x.round() as u64)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_at_one_two_five() {
        let shown: Vec<String> = [1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 200.0, 256.0, 5000.0, 6000.0]
            .iter()
            .map(|&x| round_label(x))
            .collect();
        assert_eq!(shown, ["1", "2", "", "5", "", "10", "200", "", "5000", ""]);
    }
}
