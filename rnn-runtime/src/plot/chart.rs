//! One line chart: lines with gaps, optional log y axis, vertical markers, a legend.
//! Geometry is drawn with plotters; every piece of text with [`Painter`].

use plotters::prelude::*;

use super::text::{Align, Painter, Valign};
use super::{Area, Draw};

/// One polyline; non-finite y values break it into pieces.
pub(super) struct Line {
    pub label: String,
    pub color: RGBColor,
    pub width: u32,
    pub points: Vec<(f64, f64)>,
}

/// What to draw.
pub(super) struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Plot y on a log axis (values ≤ 0 are then left out).
    pub log_y: bool,
    /// Only whole numbers on the x axis (epochs).
    pub integer_x: bool,
    pub lines: Vec<Line>,
    /// Vertical lines at x, each labelled.
    pub markers: Vec<(f64, String)>,
    /// Legend in the top left corner instead of the top right (forecasts sit at the
    /// right end of a series).
    pub legend_left: bool,
}

const GRID: RGBColor = RGBColor(225, 225, 225);
const GREY: RGBColor = RGBColor(100, 100, 100);
const MARGIN_LEFT: i32 = 86;
const MARGIN_RIGHT: i32 = 24;
const MARGIN_TOP: i32 = 52;
const MARGIN_BOTTOM: i32 = 62;

/// Ticks at a 1-2-5 step inside `[lo, hi]`, about `target` of them.
pub(super) fn linear_ticks(lo: f64, hi: f64, target: usize, integer: bool) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    ((first..=last).map(|k| k as f64 * step).collect(), step)
}

/// Ticks of a log axis, as log10 values: every decade, or 1-2-5 within each decade
/// when the range spans under three decades.
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mantissas: &[f64] = if hi - lo < 3.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let mut ticks = Vec::new();
    for e in lo.floor() as i32..=hi.ceil() as i32 {
        for m in mantissas {
            let t = m.log10() + e as f64;
            if t >= lo - 1e-9 && t <= hi + 1e-9 {
                ticks.push(t);
            }
        }
    }
    ticks
}

/// A tick label: `decimals` places on a linear axis; on a log axis (`decimals` None)
/// a short form of `10^t`.
pub(super) fn tick_label(t: f64, decimals: Option<usize>) -> String {
    match decimals {
        Some(d) => {
            let s = format!("{t:.d$}");
            if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
                s[1..].to_string()
            } else {
                s
            }
        }
        None => {
            let v = 10f64.powf(t);
            if (1e-3..1e5).contains(&v) {
                let d = (-(v.log10().floor()) as i32).max(0) as usize;
                format!("{v:.d$}")
            } else {
                let e = v.log10().floor();
                let m = v / 10f64.powf(e);
                if (m - 1.0).abs() < 1e-6 {
                    format!("1e{e}")
                } else {
                    format!("{m:.0}e{e}")
                }
            }
        }
    }
}

/// `[lo, hi]` with a little room each side; a single value gets a unit-wide range.
fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    if hi > lo {
        let p = (hi - lo) * pad;
        (lo - p, hi + p)
    } else {
        let p = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        (lo - p, hi + p)
    }
}

/// The lines' points as drawn: y on a log axis becomes log10(y); points that cannot
/// be drawn become gaps (NaN).
fn plotted(chart: &Chart) -> Vec<Vec<(f64, f64)>> {
    chart
        .lines
        .iter()
        .map(|l| {
            l.points
                .iter()
                .map(|&(x, y)| {
                    let y = if chart.log_y {
                        if y > 0.0 {
                            y.log10()
                        } else {
                            f64::NAN
                        }
                    } else {
                        y
                    };
                    (
                        x,
                        if y.is_finite() && x.is_finite() {
                            y
                        } else {
                            f64::NAN
                        },
                    )
                })
                .collect()
        })
        .collect()
}

pub(super) fn draw(root: &Area<'_>, chart: &Chart) -> Draw<()> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let painter = Painter::new(root)?;
    let (width, height) = root.dim_in_pixel();
    let (width, height) = (width as i32, height as i32);
    painter.text(
        &chart.title,
        (width / 2, 14),
        20.0,
        BLACK,
        Align::Middle,
        Valign::Top,
        false,
    )?;

    let lines = plotted(chart);
    let finite = || lines.iter().flatten().filter(|p| p.1.is_finite());
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in finite() {
        (x_lo, x_hi, y_lo, y_hi) = (x_lo.min(x), x_hi.max(x), y_lo.min(y), y_hi.max(y));
    }
    for (x, _) in &chart.markers {
        (x_lo, x_hi) = (x_lo.min(*x), x_hi.max(*x));
    }
    if x_lo > x_hi || y_lo > y_hi {
        return Err("nothing to plot: no finite values".into());
    }
    let (x_lo, x_hi) = padded(x_lo, x_hi, 0.01);
    let (y_lo, y_hi) = padded(y_lo, y_hi, 0.05);

    let plot_area = root.margin(MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT);
    let cc = ChartBuilder::on(&plot_area)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(|e| e.to_string())?;
    let plot = cc.plotting_area();
    // Absolute pixel coordinates of a data point, for text and frame.
    let px = |x: f64, y: f64| plot.map_coordinate(&(x, y));
    let (left, top) = px(x_lo, y_hi);
    let (right, bottom) = px(x_hi, y_lo);

    // Grid and tick labels.
    let (x_ticks, x_step) = linear_ticks(x_lo, x_hi, 8, chart.integer_x);
    let x_decimals = (-(x_step.log10().floor()) as i32).max(0) as usize;
    let (y_ticks, y_decimals) = if chart.log_y {
        (log_ticks(y_lo, y_hi), None)
    } else {
        let (t, step) = linear_ticks(y_lo, y_hi, 6, false);
        (t, Some((-(step.log10().floor()) as i32).max(0) as usize))
    };
    let grid = GRID.stroke_width(1);
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    for &x in &x_ticks {
        plot.draw(&PathElement::new(vec![(x, y_lo), (x, y_hi)], grid))
            .map_err(err)?;
        painter.text(
            &tick_label(x, Some(x_decimals)),
            (px(x, y_lo).0, bottom + 6),
            14.0,
            BLACK,
            Align::Middle,
            Valign::Top,
            false,
        )?;
    }
    for &y in &y_ticks {
        plot.draw(&PathElement::new(vec![(x_lo, y), (x_hi, y)], grid))
            .map_err(err)?;
        painter.text(
            &tick_label(y, y_decimals),
            (left - 8, px(x_lo, y).1),
            14.0,
            BLACK,
            Align::End,
            Valign::Middle,
            false,
        )?;
    }
    painter.text(
        &chart.x_label,
        ((left + right) / 2, height - 12),
        15.0,
        BLACK,
        Align::Middle,
        Valign::Bottom,
        false,
    )?;
    let y_label = if chart.log_y {
        format!("{} (log scale)", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    painter.text(
        &y_label,
        (14, (top + bottom) / 2),
        15.0,
        BLACK,
        Align::Middle,
        Valign::Top,
        true,
    )?;

    // Markers, then the lines over them, then the frame.
    for (x, label) in &chart.markers {
        plot.draw(&PathElement::new(
            vec![(*x, y_lo), (*x, y_hi)],
            GREY.stroke_width(2),
        ))
        .map_err(err)?;
        painter.text(
            label,
            (px(*x, y_hi).0 + 6, top + 6),
            14.0,
            GREY,
            Align::Start,
            Valign::Top,
            false,
        )?;
    }
    for (line, points) in chart.lines.iter().zip(&lines) {
        for piece in points.split(|p| !p.1.is_finite()).filter(|s| !s.is_empty()) {
            let style = line.color.stroke_width(line.width);
            if piece.len() == 1 {
                plot.draw(&Circle::new(piece[0], 2, style.filled()))
                    .map_err(err)?;
            } else {
                plot.draw(&PathElement::new(piece.to_vec(), style))
                    .map_err(err)?;
            }
        }
    }
    root.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    legend(&painter, root, chart, (left, right, top))
}

/// The legend, in a top corner inside the plot (`frame`: left, right and top edges).
fn legend(
    painter: &Painter<'_, '_>,
    root: &Area<'_>,
    chart: &Chart,
    frame: (i32, i32, i32),
) -> Draw<()> {
    if chart.lines.is_empty() {
        return Ok(());
    }
    let row = 22;
    let text_w = chart
        .lines
        .iter()
        .map(|l| painter.width(&l.label, 14.0))
        .fold(0.0, f32::max) as i32;
    let (w, h) = (text_w + 56, row * chart.lines.len() as i32 + 10);
    let x0 = if chart.legend_left {
        frame.0 + 10
    } else {
        frame.1 - w - 10
    };
    let y0 = frame.2 + 10;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        WHITE.mix(0.9).filled(),
    ))
    .map_err(err)?;
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        BLACK.mix(0.4).stroke_width(1),
    ))
    .map_err(err)?;
    for (i, line) in chart.lines.iter().enumerate() {
        let cy = y0 + 5 + row * i as i32 + row / 2;
        root.draw(&PathElement::new(
            vec![(x0 + 10, cy), (x0 + 38, cy)],
            line.color.stroke_width(line.width.max(2)),
        ))
        .map_err(err)?;
        painter.text(
            &line.label,
            (x0 + 46, cy),
            14.0,
            BLACK,
            Align::Start,
            Valign::Middle,
            false,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_use_a_round_step_inside_the_range() {
        let (t, step) = linear_ticks(-3.0, 212.0, 6, false);
        assert_eq!(step, 50.0);
        assert_eq!(t, vec![0.0, 50.0, 100.0, 150.0, 200.0]);
        let (t, step) = linear_ticks(0.5, 3.5, 8, true);
        assert_eq!((t, step), (vec![1.0, 2.0, 3.0], 1.0));
        let (t, _) = linear_ticks(0.012, 0.019, 6, false);
        assert!(
            t.len() >= 3 && t.iter().all(|v| (0.012..=0.019).contains(v)),
            "{t:?}"
        );
    }

    #[test]
    fn log_ticks_are_decades_or_one_two_five() {
        let t = log_ticks(-4.2, 0.3);
        assert_eq!(t, vec![-4.0, -3.0, -2.0, -1.0, 0.0]);
        let t: Vec<String> = log_ticks(-2.1, -0.5)
            .iter()
            .map(|&v| tick_label(v, None))
            .collect();
        assert_eq!(t, ["0.01", "0.02", "0.05", "0.1", "0.2"]);
        assert_eq!(tick_label(-5.0, None), "1e-5");
        assert_eq!(tick_label(5.0f64.log10() - 6.0, None), "5e-6");
    }

    #[test]
    fn linear_labels_have_the_step_decimals_and_no_negative_zero() {
        assert_eq!(tick_label(0.25, Some(2)), "0.25");
        assert_eq!(tick_label(-0.0000001, Some(1)), "0.0");
        assert_eq!(tick_label(1750.0, Some(0)), "1750");
    }
}
