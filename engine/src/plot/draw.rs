//! Shared drawing helpers: render one figure to both SVG and PNG.

use crate::Error;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

pub type DrawResult = Result<(), Error>;

/// A failure of plotters while drawing or writing a figure: [`Error::Runtime`] (plotters'
/// errors do not say which file, and the folder was created before drawing).
pub fn err<E: std::fmt::Display>(e: E) -> Error {
    Error::Runtime(format!("plotting failed: {e}"))
}

/// Create `out` and return the SVG and PNG paths of figure `name`.
pub fn paths(out: &Path, name: &str) -> Result<(PathBuf, PathBuf), Error> {
    std::fs::create_dir_all(out)
        .map_err(|e| Error::io(out, format!("cannot create {}: {e}", out.display())))?;
    Ok((
        out.join(format!("{name}.svg")),
        out.join(format!("{name}.png")),
    ))
}

/// Draw the same figure body into `out/name.svg` and `out/name.png`:
/// `render!(out, name, (w, h), |root| { ... Ok(()) })`; evaluates to the two paths.
macro_rules! render {
    ($out:expr, $name:expr, $size:expr, |$root:ident| $body:block) => {{
        let (svg, png) = $crate::plot::draw::paths($out, $name)?;
        {
            let $root = plotters::prelude::SVGBackend::new(&svg, $size).into_drawing_area();
            $root
                .fill(&plotters::prelude::WHITE)
                .map_err($crate::plot::draw::err)?;
            let r: $crate::plot::draw::DrawResult = (|| $body)();
            r?;
            $root.present().map_err($crate::plot::draw::err)?;
        }
        {
            let $root = plotters::prelude::BitMapBackend::new(&png, $size).into_drawing_area();
            $root
                .fill(&plotters::prelude::WHITE)
                .map_err($crate::plot::draw::err)?;
            let r: $crate::plot::draw::DrawResult = (|| $body)();
            r?;
            $root.present().map_err($crate::plot::draw::err)?;
        }
        vec![svg, png]
    }};
}
pub(crate) use render;

/// The i-th series colour (a colour-blind-safe palette, then plotters' palette).
pub fn colour(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
        RGBColor(240, 228, 66),
    ];
    P[i % P.len()]
}

/// Diverging blue-white-red for v in [-1, 1].
pub fn diverging(v: f64) -> RGBColor {
    let v = v.clamp(-1.0, 1.0);
    let mix = |a: f64, b: f64, t: f64| (a + (b - a) * t).round() as u8;
    if v >= 0.0 {
        RGBColor(
            mix(255.0, 178.0, v),
            mix(255.0, 24.0, v),
            mix(255.0, 43.0, v),
        )
    } else {
        let t = -v;
        RGBColor(
            mix(255.0, 33.0, t),
            mix(255.0, 102.0, t),
            mix(255.0, 172.0, t),
        )
    }
}

/// A positive range for a log axis that holds `values` (ignoring non-positive ones).
pub fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (1e-3, 1.0);
    }
    if hi / lo < 10.0 {
        let mid = (hi * lo).sqrt();
        return (mid / 4.0, mid * 4.0);
    }
    (lo / 1.5, hi * 1.5)
}

/// Draw a figure's title and its setting line (see [`super::caption::setting`]) at the top of
/// `root` and return the area below them for the charts.
pub fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    setting: &str,
) -> Result<DrawingArea<DB, plotters::coord::Shift>, Error> {
    let (w, _) = root.dim_in_pixel();
    let (top, rest) = root.split_vertically(52);
    let centre = |size: u32| {
        TextStyle::from(("sans-serif", size).into_font())
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ))
            .color(&BLACK)
    };
    top.draw(&Text::new(title.to_string(), (w as i32 / 2, 6), centre(19)))
        .map_err(err)?;
    // Keep the setting inside the figure: shrink the font for long settings.
    let size = if setting.len() as u32 * 7 > w { 11 } else { 13 };
    top.draw(&Text::new(
        setting.to_string(),
        (w as i32 / 2, 31),
        centre(size),
    ))
    .map_err(err)?;
    Ok(rest)
}

/// A legend mark drawn like its dashed series (`dash`, `gap` in pixels).
pub fn dashed_mark(
    (x, y): (i32, i32),
    dash: u32,
    gap: u32,
    style: ShapeStyle,
) -> DashedPathElement<std::vec::IntoIter<(i32, i32)>, u32> {
    DashedPathElement::new(vec![(x, y), (x + 24, y)], dash, gap, style)
}
