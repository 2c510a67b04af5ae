//! The run's pictures: SVG charts drawn from the same figures the report's tables print, by the same
//! command, into the charts directory (`--charts`, default: beside `--out`, else the work directory).
//!
//! Two shapes only: bars (one value per server: req/s, server CPU per request; per cluster master: users,
//! round trips) and curves over a logarithmic x axis (a value per session count: memory, `fetch` latency),
//! with a logarithmic y axis too when asked (latencies that span orders of magnitude across stores). Drawn
//! with `plotters`' SVG backend and its built-in text metrics, so no font library is needed: the viewer
//! renders the text. `keycard-bench run` and `keycard-bench sizing` draw with it.

use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar chart: a bar per `(label, value)`, in the order given, the value printed above its bar.
pub struct Bars<'a> {
    pub title: &'a str,
    /// What the y axis measures, with its unit ("requests/s").
    pub y_desc: &'a str,
    pub rows: &'a [(String, f64)],
}

/// One chart of curves: per series, points `(session count, value)`; the x axis is logarithmic.
pub struct Curves<'a> {
    pub title: &'a str,
    pub y_desc: &'a str,
    pub series: &'a [(String, Vec<(u64, f64)>)],
    /// A logarithmic y axis too (for values that span orders of magnitude: latency across stores).
    pub log_y: bool,
    /// The legend in the upper right corner instead of the upper left (where the curves start high).
    pub legend_right: bool,
}

const SIZE: (u32, u32) = (900, 420);
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("chart {}: {e}", path.display())
}

/// Draw `bars` into `path` (an `.svg` file).
pub fn bars(path: &Path, bars: &Bars<'_>) -> Result<(), String> {
    let rows: Vec<&(String, f64)> = bars.rows.iter().filter(|(_, v)| v.is_finite()).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let max = rows.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let n = rows.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(bars.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(80)
        // `(0..k).into_segmented()` has a segment for each of 0..=k.
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)
        .map_err(|e| err(path, e))?;
    let label = |x: &SegmentValue<usize>| match x {
        SegmentValue::CenterOf(i) => rows.get(*i).map(|(l, _)| l.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(n)
        .x_label_formatter(&label)
        .y_label_formatter(&|y| figure(*y))
        .y_desc(bars.y_desc)
        .draw()
        .map_err(|e| err(path, e))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let color = PALETTE[i % PALETTE.len()];
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                color.filled(),
            );
            bar.set_margin(0, 0, 24, 24);
            bar
        }))
        .map_err(|e| err(path, e))?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            Text::new(
                figure(*v),
                (SegmentValue::CenterOf(i), *v + top * 0.01),
                TextStyle::from(("sans-serif", 14).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(|e| err(path, e))?;
    root.present().map_err(|e| err(path, e))
}

/// Draw `curves` into `path` (an `.svg` file).
pub fn curves(path: &Path, curves: &Curves<'_>) -> Result<(), String> {
    let points = || curves.series.iter().flat_map(|(_, p)| p.iter());
    let (Some(x_min), Some(x_max)) = (points().map(|p| p.0).min(), points().map(|p| p.0).max())
    else {
        return Ok(());
    };
    let ys = || points().map(|p| p.1).filter(|v| v.is_finite() && *v > 0.0);
    let y_max = ys().fold(0.0_f64, f64::max);
    let x = (x_min.max(1) as f64 / 2.0..x_max.max(1) as f64 * 2.0).log_scale();
    if curves.log_y {
        let y_min = ys().fold(f64::INFINITY, f64::min);
        let (lo, hi) = if y_min.is_finite() {
            (y_min / 2.0, y_max * 2.0)
        } else {
            (0.1, 10.0)
        };
        draw_curves(path, curves, x, (lo..hi).log_scale())
    } else {
        draw_curves(path, curves, x, 0.0..(y_max * 1.15).max(1.0))
    }
}

fn draw_curves<X, Y>(path: &Path, curves: &Curves<'_>, x: X, y: Y) -> Result<(), String>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(curves.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("live sessions (log scale)")
        .y_desc(curves.y_desc)
        .light_line_style(WHITE)
        .x_label_formatter(&|x| figure(*x))
        .y_label_formatter(&|y| figure(*y))
        .draw()
        .map_err(|e| err(path, e))?;
    for (i, (name, pts)) in curves.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.1.is_finite() && (!curves.log_y || p.1 > 0.0))
            .map(|(x, y)| (*x as f64, *y))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| err(path, e))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(|e| err(path, e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(if curves.legend_right {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::UpperLeft
        })
        .draw()
        .map_err(|e| err(path, e))?;
    root.present().map_err(|e| err(path, e))
}

/// 1234567 -> "1.2M", 98765 -> "98.8k", 12.34 -> "12.3".
fn figure(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_short() {
        assert_eq!(figure(1_234_567.0), "1.2M");
        assert_eq!(figure(98_765.0), "98.8k");
        assert_eq!(figure(4321.0), "4321");
        assert_eq!(figure(12.34), "12.3");
    }

    #[test]
    fn both_shapes_write_an_svg_with_their_labels() {
        let dir = std::env::var_os("KEYCARD_BENCH_CHART_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::env::temp_dir().join(format!("keycard-bench-charts-{}", std::process::id()))
            });
        std::fs::create_dir_all(&dir).unwrap();
        let b = dir.join("bars.svg");
        bars(
            &b,
            &Bars {
                title: "GET /me",
                y_desc: "requests/s",
                rows: &[
                    ("bare".into(), 120_000.0),
                    ("keycard-memory".into(), 100_000.0),
                ],
            },
        )
        .unwrap();
        let svg = std::fs::read_to_string(&b).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("keycard-memory") && svg.contains("120.0k")
        );
        let c = dir.join("curves.svg");
        curves(
            &c,
            &Curves {
                title: "memory",
                y_desc: "MiB",
                series: &[("VmRSS".into(), vec![(1_000, 6.0), (1_000_000, 512.0)])],
                log_y: false,
                legend_right: false,
            },
        )
        .unwrap();
        let svg = std::fs::read_to_string(&c).unwrap();
        assert!(svg.contains("VmRSS") && svg.contains("<polyline"));
        if std::env::var_os("KEYCARD_BENCH_CHART_DIR").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
