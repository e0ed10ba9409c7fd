//! Draws `bench/peers/results/summary.json` as a PNG: training seconds per epoch, and
//! prediction µs at batch 1 and 256, per system and thread count.
//!
//!     chart [OUT.png [SUMMARY.json]]
//!
//! OUT defaults to `BENCHMARKS.png` in the repository root, SUMMARY to
//! `bench/peers/results/summary.json` (both found from this crate's source directory, so the
//! binary can be run from anywhere in the checkout).
//!
//! Input: what `bench/peers/table.py` writes, `{"threads": {"1": {"rnn": {...}, ...}, "2": ...}}`
//! (other top-level keys are ignored, except that "generated" is printed in the footer); a
//! bare `{"1": {...}, "2": {...}}` is accepted too. Each system's object has the SCHEMA.md
//! fields `train_s_per_epoch`, `predict_b1_us`, `predict_b256_us`, `version`; missing ones are
//! left out of the chart.
//!
//! Both panels use log scales (the systems differ by up to three orders of magnitude, so a
//! linear axis would flatten the fast ones to nothing); every bar is labelled with its value
//! and its ratio to rnn at the same thread count ("×3.1" = 3.1 times rnn's time).
//!
//! Font: `fonts/DejaVuSans.ttf` (DejaVu Sans 2.37, unmodified, from Debian's
//! fonts-dejavu-core; Bitstream Vera licence, DejaVu changes in the public domain — free to use
//! and redistribute with its notice, see `fonts/LICENSE-DejaVu.txt`), compiled into the binary
//! and registered with plotters' `ab_glyph` feature: no system font is looked up at run time.
//! All visible text is laid out by [`Painter`], with the same `ab_glyph` crate, because
//! plotters 0.3.7's ab_glyph renderer drops each glyph's left side bearing (it draws the
//! rasterised glyph at the pen position instead of at `px_bounds().min`), which jams letters
//! together — "rnn" comes out as "mn". Plotters draws the geometry: axes, grid, bars.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::PathBuf;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Systems in this order first; any others follow in the order they are first seen.
const KNOWN: [&str; 5] = ["rnn", "pytorch", "keras", "burn", "candle"];

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1200;
const GREY: RGBColor = RGBColor(90, 90, 90);
const RATIO_RED: RGBColor = RGBColor(150, 40, 40);

type Area = DrawingArea<BitMapBackend<'static>, Shift>;

#[derive(Clone, Debug, Default)]
struct Entry {
    version: Option<String>,
    train: Option<f64>,
    b1: Option<f64>,
    b256: Option<f64>,
}

/// The summary: thread count → system → entry, with the systems in display order.
struct Summary {
    threads: BTreeMap<usize, BTreeMap<String, Entry>>,
    systems: Vec<String>,
    generated: Option<String>,
}

impl Summary {
    fn parse(json: &Value) -> Result<Self, Box<dyn Error>> {
        let root = json.as_object().ok_or("summary: expected a JSON object")?;
        let by_threads = match root.get("threads") {
            Some(Value::Object(t)) => t,
            _ => root,
        };
        let mut threads = BTreeMap::new();
        let mut seen = Vec::new();
        for (key, systems) in by_threads {
            let (Ok(n), Some(systems)) = (key.parse::<usize>(), systems.as_object()) else {
                continue;
            };
            let mut entries = BTreeMap::new();
            for (name, v) in systems {
                let num = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_f64)
                        .filter(|x| x.is_finite() && *x > 0.0)
                };
                entries.insert(
                    name.clone(),
                    Entry {
                        version: v.get("version").and_then(Value::as_str).map(str::to_owned),
                        train: num("train_s_per_epoch"),
                        b1: num("predict_b1_us"),
                        b256: num("predict_b256_us"),
                    },
                );
                if !seen.contains(name) {
                    seen.push(name.clone());
                }
            }
            threads.insert(n, entries);
        }
        if threads.is_empty() {
            return Err(
                "summary: no thread counts found (expected {\"threads\": {\"1\": {...}}})".into(),
            );
        }
        let mut systems: Vec<String> = KNOWN
            .iter()
            .filter(|k| seen.iter().any(|s| s == *k))
            .map(|s| s.to_string())
            .collect();
        systems.extend(seen.into_iter().filter(|s| !KNOWN.contains(&s.as_str())));
        let generated = root
            .get("generated")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Self {
            threads,
            systems,
            generated,
        })
    }

    fn get(&self, threads: usize, system: &str) -> Option<&Entry> {
        self.threads.get(&threads)?.get(system)
    }

    /// The first version any thread count reports for `system`.
    fn version(&self, system: &str) -> Option<&str> {
        self.threads
            .values()
            .find_map(|t| t.get(system)?.version.as_deref())
    }
}

/// Where a text's anchor point sits on the text.
#[derive(Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Clone, Copy)]
enum Baseline {
    Top,
    Middle,
    Bottom,
}

/// Lays out and draws text with the bundled font, glyph by glyph, onto the whole image
/// (absolute pixel coordinates).
struct Painter {
    font: FontRef<'static>,
    root: Area,
}

impl Painter {
    fn width(&self, text: &str, size: f32) -> f32 {
        let font = self.font.as_scaled(PxScale::from(size));
        let mut prev = None;
        let mut w = 0.0;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                w += font.kern(p, id);
            }
            w += font.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Draws `text` at `at`, anchored as given; `vertical` turns it to read bottom to top
    /// (the anchors then apply along the turned text).
    #[allow(clippy::too_many_arguments)]
    fn text(
        &self,
        text: &str,
        at: (i32, i32),
        size: f32,
        color: RGBColor,
        anchor: Anchor,
        baseline: Baseline,
        vertical: bool,
    ) -> Result<(), Box<dyn Error>> {
        let font = self.font.as_scaled(PxScale::from(size));
        let width = self.width(text, size);
        let x0 = match anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -width / 2.0,
            Anchor::End => -width,
        };
        let base = match baseline {
            Baseline::Top => font.ascent(),
            Baseline::Middle => (font.ascent() + font.descent()) / 2.0,
            Baseline::Bottom => font.descent(),
        };
        let mut pen = x0;
        let mut prev = None;
        let mut pixels = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(font.scale(), point(pen, base));
            if let Some(outline) = font.outline_glyph(glyph) {
                let min = outline.px_bounds().min;
                outline.draw(|x, y, coverage| {
                    pixels.push((min.x as i32 + x as i32, min.y as i32 + y as i32, coverage));
                });
            }
            pen += font.h_advance(id);
            prev = Some(id);
        }
        for (x, y, coverage) in pixels {
            let (px, py) = if vertical {
                (at.0 + y, at.1 - x)
            } else {
                (at.0 + x, at.1 + y)
            };
            self.root
                .draw_pixel((px, py), &color.mix(coverage.min(1.0) as f64))?;
        }
        Ok(())
    }
}

/// One bar series: a label, a colour and how to read its value from an entry.
struct Series {
    label: String,
    color: RGBColor,
    threads: usize,
    value: fn(&Entry) -> Option<f64>,
}

fn thread_label(n: usize) -> String {
    format!("{n} thread{}", if n == 1 { "" } else { "s" })
}

/// Lighter shades of `base` for the second, third, ... thread count.
fn shade(base: RGBColor, i: usize) -> RGBColor {
    let t = 1.0 - 0.55f64.powi(i as i32);
    let mix = |c: u8| (c as f64 + (255.0 - c as f64) * t).round() as u8;
    RGBColor(mix(base.0), mix(base.1), mix(base.2))
}

/// A number with about three significant digits, no exponent.
fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        let decimals = (2 - v.log10().floor() as i32).clamp(0, 6) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

fn fmt_ratio(r: f64) -> String {
    if r < 10.0 {
        format!("×{r:.2}")
    } else if r < 100.0 {
        format!("×{r:.1}")
    } else {
        format!("×{r:.0}")
    }
}

/// The 1-2-5 sequence (…, 0.1, 0.2, 0.5, 1, 2, 5, …) inside [lo, hi]; only the powers of ten
/// when that range spans more than 2.5 decades.
fn ticks_125(lo: f64, hi: f64) -> Vec<f64> {
    let steps: &[f64] = if hi / lo > 300.0 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut ticks = Vec::new();
    for e in lo.log10().floor() as i32..=hi.log10().ceil() as i32 {
        for m in steps {
            let t = m * 10f64.powi(e);
            if (lo..=hi).contains(&t) {
                ticks.push(t);
            }
        }
    }
    ticks
}

/// Draws one panel of grouped bars (one group per system, one bar per series) on a log axis.
fn panel(
    p: &Painter,
    area: &Area,
    summary: &Summary,
    caption: &str,
    y_desc: &str,
    unit: &str,
    series: &[Series],
) -> Result<(), Box<dyn Error>> {
    let (ax, ay) = area.get_base_pixel();
    let (aw, _) = area.dim_in_pixel();
    p.text(
        caption,
        (ax + aw as i32 / 2, ay + 10),
        20.0,
        BLACK,
        Anchor::Middle,
        Baseline::Top,
        false,
    )?;

    let systems = &summary.systems;
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| {
            systems
                .iter()
                .filter_map(move |sys| summary.get(s.threads, sys).and_then(s.value))
        })
        .collect();
    if values.is_empty() {
        p.text(
            "no data",
            (ax + aw as i32 / 2, ay + 80),
            18.0,
            GREY,
            Anchor::Middle,
            Baseline::Top,
            false,
        )?;
        return Ok(());
    }
    let (min, max) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    // Room below the shortest bar and, above the tallest, for its two label lines.
    let (lo_l, max_l) = (min.log10() - 0.35, max.log10());
    let hi_l = max_l + 0.18 * (max_l - lo_l).max(1.0);
    let (lo, hi) = (10f64.powf(lo_l), 10f64.powf(hi_l));
    let ticks = ticks_125(lo, hi);

    let n = systems.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_top(44)
        .margin_left(20)
        .x_label_area_size(52)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..n, (lo..hi).log_scale().with_key_points(ticks.clone()))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|_| String::new())
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;

    // Axis text: tick labels, the axis description, system names and versions.
    for t in &ticks {
        let (x, y) = chart.backend_coord(&(0.0, *t));
        p.text(
            &fmt_num(*t),
            (x - 10, y),
            14.0,
            BLACK,
            Anchor::End,
            Baseline::Middle,
            false,
        )?;
    }
    let (top_left, bottom_left) = (
        chart.backend_coord(&(0.0, hi)),
        chart.backend_coord(&(0.0, lo)),
    );
    p.text(
        y_desc,
        (ax + 22, (top_left.1 + bottom_left.1) / 2),
        15.0,
        BLACK,
        Anchor::Middle,
        Baseline::Middle,
        true,
    )?;
    for (i, sys) in systems.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, lo));
        p.text(
            sys,
            (x, y + 8),
            17.0,
            BLACK,
            Anchor::Middle,
            Baseline::Top,
            false,
        )?;
        if let Some(v) = summary.version(sys) {
            p.text(
                v,
                (x, y + 30),
                13.0,
                GREY,
                Anchor::Middle,
                Baseline::Top,
                false,
            )?;
        }
    }

    // Bars, with their value and ratio to rnn above them.
    let k = series.len() as f64;
    let group = 0.8; // share of a group's width taken by its bars
    let bar = group / k;
    for (j, s) in series.iter().enumerate() {
        for (i, sys) in systems.iter().enumerate() {
            let Some(v) = summary.get(s.threads, sys).and_then(s.value) else {
                continue;
            };
            let x0 = i as f64 + (1.0 - group) / 2.0 + j as f64 * bar;
            let (a, b) = (x0 + 0.06 * bar, x0 + 0.94 * bar);
            chart.draw_series([
                Rectangle::new([(a, lo), (b, v)], s.color.filled()),
                Rectangle::new([(a, lo), (b, v)], BLACK.mix(0.5).stroke_width(1)),
            ])?;
            let (x, y) = chart.backend_coord(&((a + b) / 2.0, v));
            p.text(
                &format!("{}{unit}", fmt_num(v)),
                (x, y - 3),
                13.0,
                BLACK,
                Anchor::Middle,
                Baseline::Bottom,
                false,
            )?;
            if sys != "rnn" {
                if let Some(r) = summary.get(s.threads, "rnn").and_then(s.value) {
                    p.text(
                        &fmt_ratio(v / r),
                        (x, y - 19),
                        12.0,
                        RATIO_RED,
                        Anchor::Middle,
                        Baseline::Bottom,
                        false,
                    )?;
                }
            }
        }
    }

    // Legend, top left inside the plot.
    let (lx, ly) = (top_left.0 + 12, top_left.1 + 10);
    let row = 22;
    let text_w = series
        .iter()
        .map(|s| p.width(&s.label, 14.0))
        .fold(0.0, f32::max) as i32;
    let (w, h) = (14 + 8 + text_w + 20, row * series.len() as i32 + 10);
    p.root.draw(&Rectangle::new(
        [(lx, ly), (lx + w, ly + h)],
        WHITE.mix(0.9).filled(),
    ))?;
    p.root.draw(&Rectangle::new(
        [(lx, ly), (lx + w, ly + h)],
        BLACK.mix(0.4).stroke_width(1),
    ))?;
    for (j, s) in series.iter().enumerate() {
        let cy = ly + 5 + row * j as i32 + row / 2;
        p.root.draw(&Rectangle::new(
            [(lx + 10, cy - 7), (lx + 24, cy + 7)],
            s.color.filled(),
        ))?;
        p.text(
            &s.label,
            (lx + 32, cy),
            14.0,
            BLACK,
            Anchor::Start,
            Baseline::Middle,
            false,
        )?;
    }
    Ok(())
}

fn draw(summary: &Summary, out: &'static std::path::Path) -> Result<(), Box<dyn Error>> {
    let font = FontRef::try_from_slice(FONT)?;
    let root = BitMapBackend::new(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let p = Painter {
        font,
        root: root.clone(),
    };
    p.text(
        "Seed workload: LSTM(50) → Dense(1), N = 4096 windows of T = 20, Adam, batch 32  —  lower is better",
        (WIDTH as i32 / 2, 12),
        22.0,
        BLACK,
        Anchor::Middle,
        Baseline::Top,
        false,
    )?;
    let (_, body) = root.split_vertically(44);
    let body_height = body.dim_in_pixel().1 - 34;
    let (body, _) = body.split_vertically(body_height);
    let (top, bottom) = body.split_vertically(body_height / 2);

    let threads: Vec<usize> = summary.threads.keys().copied().collect();
    let train: Vec<Series> = threads
        .iter()
        .enumerate()
        .map(|(i, &t)| Series {
            label: thread_label(t),
            color: shade(RGBColor(31, 119, 180), i),
            threads: t,
            value: |e| e.train,
        })
        .collect();
    panel(
        &p,
        &top,
        summary,
        "Training: seconds per epoch (median of epochs 2–6; log scale; ×n = n times rnn at the same threads)",
        "s / epoch",
        " s",
        &train,
    )?;

    let mut predict = Vec::new();
    for (name, base, value) in [
        (
            "batch 1",
            RGBColor(230, 110, 20),
            (|e: &Entry| e.b1) as fn(&Entry) -> Option<f64>,
        ),
        ("batch 256", RGBColor(44, 150, 44), |e: &Entry| e.b256),
    ] {
        for (i, &t) in threads.iter().enumerate() {
            predict.push(Series {
                label: format!("{name}, {}", thread_label(t)),
                color: shade(base, i),
                threads: t,
                value,
            });
        }
    }
    panel(
        &p,
        &bottom,
        summary,
        "Prediction: µs per forward pass (median; log scale; ×n = n times rnn at the same threads)",
        "µs / call",
        "",
        &predict,
    )?;

    let note = match &summary.generated {
        Some(g) => {
            format!("bench/peers/results/summary.json, generated {g}; see bench/peers/SCHEMA.md")
        }
        None => "bench/peers/results/summary.json; see bench/peers/SCHEMA.md".to_string(),
    };
    p.text(
        &note,
        (20, HEIGHT as i32 - 10),
        13.0,
        GREY,
        Anchor::Start,
        Baseline::Bottom,
        false,
    )?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    // Plotters' own text path (unused for visible text, see the module docs) gets the same font,
    // so nothing in it can fall back to a system font.
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "bundled font is not a valid TTF")?;
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")); // bench/peers/rust/chart
    let mut args = std::env::args_os().skip(1);
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../../../../BENCHMARKS.png"));
    let input = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../../results/summary.json"));
    let text = std::fs::read_to_string(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let summary = Summary::parse(&serde_json::from_str(&text)?)?;
    let out: &'static std::path::Path = Box::leak(out.into_boxed_path());
    draw(&summary, out)?;
    eprintln!(
        "wrote {} ({} systems, threads {:?})",
        out.display(),
        summary.systems.len(),
        summary.threads.keys().collect::<Vec<_>>()
    );
    Ok(())
}
