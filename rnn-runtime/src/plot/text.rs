//! Text drawn glyph by glyph from the bundled font.
//!
//! Plotters' own ab_glyph text path places each rasterised glyph at the pen position
//! and loses its left side bearing, which runs letters together; laying the glyphs
//! out here, at each outline's pixel bounds, keeps the spacing the font intends. The
//! font is compiled in, so no system font is ever looked up.

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::*;

use super::{Area, Draw};

/// DejaVu Sans 2.37 (see `fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// Where the anchor point sits along the text.
#[derive(Clone, Copy)]
pub(super) enum Align {
    Start,
    Middle,
    End,
}

/// Where the anchor point sits across the text.
#[derive(Clone, Copy)]
pub(super) enum Valign {
    Top,
    Middle,
    Bottom,
}

/// Draws text onto one drawing area in its pixel coordinates.
pub(super) struct Painter<'a, 'p> {
    font: FontRef<'static>,
    area: &'a Area<'p>,
}

impl<'a, 'p> Painter<'a, 'p> {
    pub(super) fn new(area: &'a Area<'p>) -> Draw<Self> {
        let font = FontRef::try_from_slice(FONT).map_err(|e| format!("bundled font: {e}"))?;
        Ok(Painter { font, area })
    }

    /// Advance width of `text` at `size` pixels.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        let font = self.font.as_scaled(PxScale::from(size));
        let mut prev = None;
        let mut w = 0.0;
        for c in text.chars() {
            let id = font.glyph_id(c);
            w += prev.map_or(0.0, |p| font.kern(p, id)) + font.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Draws `text` anchored at `at`; `upright` turns it a quarter to read bottom to
    /// top (for a y-axis label), the alignments then applying along the turned text.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text(
        &self,
        text: &str,
        at: (i32, i32),
        size: f32,
        color: RGBColor,
        align: Align,
        valign: Valign,
        upright: bool,
    ) -> Draw<()> {
        let font = self.font.as_scaled(PxScale::from(size));
        let width = self.width(text, size);
        let mut pen = match align {
            Align::Start => 0.0,
            Align::Middle => -width / 2.0,
            Align::End => -width,
        };
        let baseline = match valign {
            Valign::Top => font.ascent(),
            Valign::Middle => (font.ascent() + font.descent()) / 2.0,
            Valign::Bottom => font.descent(),
        };
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            pen += prev.map_or(0.0, |p| font.kern(p, id));
            prev = Some(id);
            let glyph = id.with_scale_and_position(font.scale(), point(pen, baseline));
            pen += font.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let origin = outline.px_bounds().min;
            let mut failed = None;
            outline.draw(|gx, gy, coverage| {
                let (dx, dy) = (origin.x as i32 + gx as i32, origin.y as i32 + gy as i32);
                let (x, y) = if upright {
                    (at.0 + dy, at.1 - dx)
                } else {
                    (at.0 + dx, at.1 + dy)
                };
                if coverage > 0.0 && failed.is_none() {
                    let shade = color.mix(coverage.min(1.0) as f64);
                    if let Err(e) = self.area.draw_pixel((x, y), &shade) {
                        failed = Some(e.to_string());
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }
}
