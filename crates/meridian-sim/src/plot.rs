//! Charts of simulation results, PNG or SVG by file extension: TE over time, and MTIE and TDEV
//! against observation interval with a mask.
//!
//! Laying out text needs a TrueType font, for SVG as for PNG: the first of [`FONT_PATHS`] that
//! exists is used (Debian's `fonts-dejavu-core` provides it).

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

/// Where a sans-serif TrueType font is looked for, in order.
pub const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// A named line: (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// Why a chart could not be drawn.
#[derive(Debug)]
pub enum PlotError {
    /// The extension is neither `.png` nor `.svg`.
    UnknownFormat(String),
    /// No font for chart text.
    NoFont,
    /// Nothing to draw.
    NoData,
    /// The drawing backend failed (e.g. the file could not be written).
    Backend(String),
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownFormat(p) => write!(f, "{p}: plots are written as .png or .svg"),
            Self::NoFont => write!(
                f,
                "no TrueType font found for chart text (install fonts-dejavu-core)"
            ),
            Self::NoData => write!(f, "nothing to plot"),
            Self::Backend(e) => write!(f, "plot failed: {e}"),
        }
    }
}

impl std::error::Error for PlotError {}

fn backend_err<E: std::fmt::Debug>(e: E) -> PlotError {
    PlotError::Backend(format!("{e:?}"))
}

fn ensure_font() -> Result<(), PlotError> {
    static FONT: OnceLock<bool> = OnceLock::new();
    let ok = *FONT.get_or_init(|| {
        FONT_PATHS
            .iter()
            .filter_map(|p| std::fs::read(p).ok())
            .any(|bytes| {
                // The font must live for the program's lifetime; it is loaded once.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                // Register it under every family plotters' defaults may ask for.
                ["sans-serif", "serif", "monospace"].iter().all(|family| {
                    plotters::style::register_font(family, FontStyle::Normal, bytes).is_ok()
                })
            })
    });
    if ok { Ok(()) } else { Err(PlotError::NoFont) }
}

/// Draws with `draw` onto a PNG or SVG file chosen by `path`'s extension.
fn render(path: &Path, size: (u32, u32), draw: impl Chart) -> Result<(), PlotError> {
    let ext = path.extension().and_then(|e| e.to_str());
    if matches!(ext, Some("png" | "svg")) {
        ensure_font()?;
    }
    match ext {
        Some("png") => {
            let area = BitMapBackend::new(path, size).into_drawing_area();
            area.fill(&WHITE).map_err(backend_err)?;
            draw.draw(&area)?;
            area.present().map_err(backend_err)
        }
        Some("svg") => {
            let area = SVGBackend::new(path, size).into_drawing_area();
            area.fill(&WHITE).map_err(backend_err)?;
            draw.draw(&area)?;
            area.present().map_err(backend_err)
        }
        _ => Err(PlotError::UnknownFormat(path.display().to_string())),
    }
}

/// Something that draws itself on any plotters backend.
trait Chart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

fn bounds(series: &[Series]) -> Option<((f64, f64), (f64, f64))> {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut any = false;
    for &(x, y) in pts {
        if x.is_finite() && y.is_finite() {
            any = true;
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
    }
    any.then_some(((x0, x1), (y0, y1)))
}

fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// Colour of the i-th series.
fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(23, 190, 207),
    ];
    PALETTE[i % PALETTE.len()]
}

/// Draws the lines and the legend on a chart whose axes are already set up.
fn draw_lines<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    series: &[Series],
    keep: impl Fn(&(f64, f64)) -> bool,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|p| keep(p)).collect();
        chart
            .draw_series(LineSeries::new(pts, &c))
            .map_err(backend_err)?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(backend_err)
}

/// Lines on linear axes.
struct Linear<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    series: &'a [Series],
}

impl Chart for Linear<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let ((x0, x1), (y0, y1)) = bounds(self.series).ok_or(PlotError::NoData)?;
        let (y0, y1) = widen(y0, y1);
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1.max(x0 + 1e-9), y0..y1)
            .map_err(backend_err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .draw()
            .map_err(backend_err)?;
        draw_lines(&mut chart, self.series, |_| true)
    }
}

/// Lines on log-log axes against observation interval.
struct LogLog<'a> {
    title: String,
    y_label: &'a str,
    series: &'a [Series],
}

impl Chart for LogLog<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let ((x0, x1), (y0, y1)) = bounds(self.series).ok_or(PlotError::NoData)?;
        let y0 = y0.max(1e-3);
        let mut chart = ChartBuilder::on(area)
            .caption(self.title.as_str(), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (x0.max(1e-6)..x1.max(x0 * 10.0)).log_scale(),
                (y0 / 2.0..(y1 * 2.0).max(y0 * 10.0)).log_scale(),
            )
            .map_err(backend_err)?;
        chart
            .configure_mesh()
            .x_desc("observation interval τ (s)")
            .y_desc(self.y_label)
            .draw()
            .map_err(backend_err)?;
        // Log axes cannot show zero or negative values.
        draw_lines(&mut chart, self.series, |p| p.0 > 0.0 && p.1 > 0.0)
    }
}

/// Two charts side by side.
struct SideBySide<A, B>(A, B);

impl<A: Chart, B: Chart> Chart for SideBySide<A, B> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let (l, r) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        self.0.draw(&l)?;
        self.1.draw(&r)
    }
}

/// Plots time error (ns) against time (s), one line per series.
pub fn plot_te(path: &Path, title: &str, series: &[Series]) -> Result<(), PlotError> {
    let chart = Linear {
        title,
        x_label: "time (s)",
        y_label: "TE (ns)",
        series,
    };
    render(path, (1000, 560), chart)
}

/// Plots MTIE and TDEV (ns) against τ on log-log axes, side by side; `mask` (e.g.
/// [`g8263_mtie_mask`]) is drawn on the MTIE panel.
pub fn plot_wander(
    path: &Path,
    title: &str,
    mtie: &[Series],
    tdev: &[Series],
    mask: Option<&Series>,
) -> Result<(), PlotError> {
    let mut mtie_all = mtie.to_vec();
    mtie_all.extend(mask.cloned());
    let chart = SideBySide(
        LogLog {
            title: format!("{title}: MTIE"),
            y_label: "MTIE (ns)",
            series: &mtie_all,
        },
        LogLog {
            title: format!("{title}: TDEV"),
            y_label: "TDEV (ns)",
            series: tdev,
        },
    );
    render(path, (1400, 560), chart)
}

/// The G.8263 packet slave clock wander limit at constant temperature: MTIE ≤ 1 µs from 0.1 s to
/// 1000 s (as `ptp-wire.md` gives it), in ns.
#[must_use]
pub fn g8263_mtie_mask() -> Series {
    Series {
        name: "G.8263 MTIE mask".into(),
        points: vec![(0.1, 1000.0), (1000.0, 1000.0)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<Series> {
        vec![Series {
            name: "a".into(),
            points: (0..100)
                .map(|i| (i as f64, (i as f64).sin() * 50.0))
                .collect(),
        }]
    }

    #[test]
    fn svg_and_png_are_written() {
        if !FONT_PATHS.iter().any(|p| Path::new(p).exists()) {
            assert!(
                std::env::var("MERIDIAN_REQUIRE_PEERS").is_err(),
                "no font at {FONT_PATHS:?}: .ci/run installs fonts-dejavu-core"
            );
            eprintln!("SKIPPED: no font at {FONT_PATHS:?} (install fonts-dejavu-core)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("meridian-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("te.svg");
        plot_te(&svg, "TE", &series()).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("TE (ns)"));
        let tau: Vec<Series> = vec![Series {
            name: "m".into(),
            points: vec![(1.0, 10.0), (10.0, 30.0), (100.0, 80.0)],
        }];
        let w = dir.join("wander.svg");
        plot_wander(&w, "x", &tau, &tau, Some(&g8263_mtie_mask())).unwrap();
        assert!(
            std::fs::read_to_string(&w)
                .unwrap()
                .contains("G.8263 MTIE mask")
        );
        let png = dir.join("te.png");
        plot_te(&png, "TE", &series()).unwrap();
        assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
        assert!(matches!(
            plot_te(&dir.join("x.jpg"), "t", &series()),
            Err(PlotError::UnknownFormat(_))
        ));
        assert!(matches!(plot_te(&svg, "t", &[]), Err(PlotError::NoData)));
        std::fs::remove_dir_all(&dir).ok();
    }
}
