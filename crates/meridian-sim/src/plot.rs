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

impl Series {
    /// The same line with each point mapped, or dropped where `f` gives `None`.
    #[must_use]
    pub fn filter_map(&self, f: impl Fn((f64, f64)) -> Option<(f64, f64)>) -> Self {
        Self {
            name: self.name.clone(),
            points: self.points.iter().filter_map(|&p| f(p)).collect(),
        }
    }
}

/// Whether a font for chart text is installed (see [`FONT_PATHS`]).
#[must_use]
pub fn font_available() -> bool {
    FONT_PATHS.iter().any(|p| Path::new(p).exists())
}

/// The text elements of an SVG this module wrote, trimmed (what a reader of the chart sees).
#[must_use]
pub fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
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

/// Draws one coloured line per series, each named in the legend (drawn by the caller).
fn draw_lines<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    series: &[Series],
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, s) in series.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), c))
            .map_err(backend_err)?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
    }
    Ok(())
}

/// What a run chart's y axis measures, in base units (ns or ppb).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Clock minus true time, ns.
    TimeError,
    /// Frequency error, ppb.
    FrequencyError,
}

impl Quantity {
    /// Lower-case name for axis descriptions.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::TimeError => "time error",
            Self::FrequencyError => "frequency error",
        }
    }

    /// Units from the base up, with their size in base units.
    const fn units(self) -> &'static [(&'static str, f64)] {
        match self {
            Self::TimeError => &[("ns", 1.0), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)],
            Self::FrequencyError => &[("ppb", 1.0), ("ppm", 1e3)],
        }
    }

    /// The largest unit in which `magnitude` is at least 1 (the base unit below that), and its
    /// size in base units.
    #[must_use]
    pub fn unit_for(self, magnitude: f64) -> (&'static str, f64) {
        let units = self.units();
        units
            .iter()
            .rev()
            .find(|(_, size)| magnitude.abs() >= *size)
            .copied()
            .unwrap_or(units[0])
    }

    /// `v` (base units) in the unit that reads best, to three significant digits: `1.5 µs`,
    /// `-250 ns`, `16 ppb`.
    #[must_use]
    pub fn format(self, v: f64) -> String {
        let (unit, size) = self.unit_for(v);
        format!("{} {unit}", significant(v / size))
    }
}

/// Three significant digits without trailing zeros.
fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Tick labels for a linear axis spanning `span`: as many decimals as the tick spacing needs.
fn tick_decimals(span: f64) -> usize {
    if span > 0.0 && span.is_finite() {
        (-(span / 8.0).log10().floor()).clamp(0.0, 9.0) as usize
    } else {
        0
    }
}

/// A symmetric limit, drawn as lines at ±`limit` (base units).
#[derive(Clone, Debug, PartialEq)]
pub struct Budget {
    /// The limit's magnitude, base units.
    pub limit: f64,
    /// Where it comes from, e.g. `G.8271.1 end application`.
    pub source: String,
}

/// A run's time or frequency error: the whole run (start-up, warm-up marked) in a narrow panel
/// above, the steady state after the warm-up auto-scaled below, with the budget.
#[derive(Clone, Debug)]
pub struct RunChart<'a> {
    /// The chart's title (name the scenario).
    pub title: &'a str,
    /// What the series measure.
    pub quantity: Quantity,
    /// One line per device: (seconds since the start, value in base units).
    pub series: &'a [Series],
    /// Where the steady state starts, s.
    pub warmup_s: f64,
    /// Drawn on the steady-state panel.
    pub budget: Option<Budget>,
    /// Scheduled events (failures, commits) marked on both panels: (seconds, short label).
    pub markers: Vec<(f64, String)>,
}

/// How the steady-state panel of a [`RunChart`] was laid out.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLayout {
    /// The steady state's values: (lowest, highest), base units.
    pub data: (f64, f64),
    /// The y axis (lowest, highest), base units: the data padded, and the budget when on scale.
    pub axis: (f64, f64),
    /// The axis unit and its size in base units.
    pub unit: (&'static str, f64),
    /// Whether the budget lines are inside the axis (a budget far above the data would flatten
    /// it: then the legend says "off scale" instead).
    pub budget_on_scale: bool,
}

/// A budget more than this many times the largest steady-state value stays off the axis.
const BUDGET_SCALE: f64 = 4.0;

impl RunChart<'_> {
    /// Lays out the steady-state panel; [`PlotError::NoData`] without a finite point after the
    /// warm-up.
    pub fn layout(&self) -> Result<RunLayout, PlotError> {
        let steady: Vec<Series> = self
            .series
            .iter()
            .map(|s| s.filter_map(|p| (p.0 >= self.warmup_s).then_some(p)))
            .collect();
        let (_, (lo, hi)) = bounds(&steady).ok_or(PlotError::NoData)?;
        let largest = lo.abs().max(hi.abs());
        let budget_on_scale = self
            .budget
            .as_ref()
            .is_some_and(|b| b.limit <= BUDGET_SCALE * largest);
        let (mut a0, mut a1) = (lo, hi);
        if let Some(b) = self.budget.as_ref().filter(|_| budget_on_scale) {
            (a0, a1) = (a0.min(-b.limit), a1.max(b.limit));
        }
        let (a0, a1) = if a1 > a0 {
            let pad = (a1 - a0) * 0.08;
            (a0 - pad, a1 + pad)
        } else {
            // A constant: one base unit (or 1 % of it) either side.
            let half = (a0.abs() * 0.01).max(1.0);
            (a0 - half, a1 + half)
        };
        Ok(RunLayout {
            data: (lo, hi),
            axis: (a0, a1),
            unit: self.quantity.unit_for(a0.abs().max(a1.abs())),
            budget_on_scale,
        })
    }
}

/// The line style of limits: black, dashed.
fn limit_line<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    label: Option<&str>,
    colour: RGBColor,
) -> Result<(), PlotError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    // Event markers are thinner than limits.
    let width = if colour == MARKER { 1 } else { 2 };
    let style = ShapeStyle::from(&colour).stroke_width(width);
    let a = chart
        .draw_series(DashedLineSeries::new(points, 8, 5, style))
        .map_err(backend_err)?;
    if let Some(label) = label {
        a.label(label).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
        });
    }
    Ok(())
}

const GREY: RGBColor = RGBColor(120, 120, 120);
const MARKER: RGBColor = RGBColor(180, 90, 0);

impl Chart for RunChart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let layout = self.layout()?;
        let ((x0, x1), (y0, y1)) = bounds(self.series).ok_or(PlotError::NoData)?;
        let x1 = x1.max(x0 + 1.0);
        let area = area
            .titled(self.title, ("sans-serif", 24))
            .map_err(backend_err)?;
        let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 * 36 / 100);
        let q = self.quantity;
        let si = move |v: &f64| q.format(*v);
        let secs = |v: &f64| format!("{v:.0}");

        // The whole run, to show the start-up and where the statistics begin.
        let (y0w, y1w) = widen(y0, y1);
        let mut whole = ChartBuilder::on(&top)
            .caption("whole run (start-up)", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0w..y1w)
            .map_err(backend_err)?;
        whole
            .configure_mesh()
            .y_labels(5)
            .x_label_formatter(&secs)
            .y_label_formatter(&si)
            .draw()
            .map_err(backend_err)?;
        for (i, s) in self.series.iter().enumerate() {
            whole
                .draw_series(LineSeries::new(s.points.iter().copied(), color(i)))
                .map_err(backend_err)?;
        }
        limit_line(
            &mut whole,
            vec![(self.warmup_s, y0w), (self.warmup_s, y1w)],
            None,
            GREY,
        )?;
        for (t, _) in &self.markers {
            limit_line(&mut whole, vec![(*t, y0w), (*t, y1w)], None, MARKER)?;
        }
        let label_at = (self.warmup_s + (x1 - x0) * 0.005, y1w - (y1w - y0w) * 0.12);
        whole
            .draw_series(std::iter::once(Text::new(
                format!("warm-up ends ({:.0} s)", self.warmup_s),
                label_at,
                ("sans-serif", 14).into_font().color(&GREY),
            )))
            .map_err(backend_err)?;

        // The steady state, in the unit that reads best.
        let (unit, size) = layout.unit;
        let (a0, a1) = (layout.axis.0 / size, layout.axis.1 / size);
        let decimals = tick_decimals(a1 - a0);
        let ticks = move |v: &f64| format!("{v:.decimals$}");
        let desc = format!("{} ({unit})", q.name());
        let mut steady = ChartBuilder::on(&bottom)
            .caption(
                format!("after the warm-up ({:.0} s on)", self.warmup_s),
                ("sans-serif", 16),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(self.warmup_s.min(x1 - 1.0)..x1, a0..a1)
            .map_err(backend_err)?;
        steady
            .configure_mesh()
            .x_desc("time since the start (s)")
            .y_desc(desc.as_str())
            .x_label_formatter(&secs)
            .y_label_formatter(&ticks)
            .draw()
            .map_err(backend_err)?;
        let scaled: Vec<Series> = self
            .series
            .iter()
            .map(|s| s.filter_map(|(x, y)| (x >= self.warmup_s).then_some((x, y / size))))
            .collect();
        draw_lines(&mut steady, &scaled)?;
        // Events inside the steady state, labelled at the top, alternating rows so neighbours
        // do not overwrite each other.
        for (i, (t, label)) in self
            .markers
            .iter()
            .filter(|m| m.0 >= self.warmup_s && m.0 <= x1)
            .enumerate()
        {
            limit_line(&mut steady, vec![(*t, a0), (*t, a1)], None, MARKER)?;
            let row = if i % 2 == 0 { 0.03 } else { 0.08 };
            steady
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (*t + (x1 - self.warmup_s) * 0.004, a1 - (a1 - a0) * row),
                    ("sans-serif", 13).into_font().color(&MARKER),
                )))
                .map_err(backend_err)?;
        }
        if let Some(b) = &self.budget {
            let label = format!("budget ±{} ({})", q.format(b.limit), b.source);
            if layout.budget_on_scale {
                let l = b.limit / size;
                limit_line(
                    &mut steady,
                    vec![(self.warmup_s, l), (x1, l)],
                    Some(&label),
                    BLACK,
                )?;
                limit_line(
                    &mut steady,
                    vec![(self.warmup_s, -l), (x1, -l)],
                    None,
                    BLACK,
                )?;
            } else {
                // Named in the legend only: drawn, it would flatten the data to a line.
                limit_line(
                    &mut steady,
                    Vec::new(),
                    Some(&format!("{label}: off scale")),
                    BLACK,
                )?;
            }
        }
        steady
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(backend_err)
    }
}

/// Plots a [`RunChart`]; returns its steady-state layout.
pub fn plot_run(path: &Path, chart: &RunChart<'_>) -> Result<RunLayout, PlotError> {
    let layout = chart.layout()?;
    render(path, (1100, 760), chart.clone())?;
    Ok(layout)
}

/// Lines on linear axes.
struct Linear<'a> {
    title: &'a str,
    x_label: &'a str,
    quantity: Quantity,
    series: &'a [Series],
}

impl Chart for Linear<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let ((x0, x1), (y0, y1)) = bounds(self.series).ok_or(PlotError::NoData)?;
        let (y0, y1) = widen(y0, y1);
        let q = self.quantity;
        let si = move |v: &f64| q.format(*v);
        let mut chart = ChartBuilder::on(area)
            .caption(self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1.max(x0 + 1e-9), y0..y1)
            .map_err(backend_err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(q.name())
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&si)
            .draw()
            .map_err(backend_err)?;
        draw_lines(&mut chart, self.series)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(backend_err)
    }
}

/// Lines on log-log axes against observation interval, with masks dashed.
struct LogLog<'a> {
    title: String,
    y_label: &'a str,
    series: &'a [Series],
    masks: &'a [Series],
}

impl Chart for LogLog<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let mut all = self.series.to_vec();
        all.extend(self.masks.iter().cloned());
        // Log axes cannot show zero or negative values.
        let positive: Vec<Series> = all
            .iter()
            .map(|s| s.filter_map(|p| (p.0 > 0.0 && p.1 > 0.0).then_some(p)))
            .collect();
        let ((x0, x1), (y0, y1)) = bounds(&positive).ok_or(PlotError::NoData)?;
        let si = |v: &f64| Quantity::TimeError.format(*v);
        let secs = |v: &f64| format!("{} s", significant(*v));
        let mut chart = ChartBuilder::on(area)
            .caption(self.title.as_str(), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (x0..x1.max(x0 * 10.0)).log_scale(),
                (y0 / 2.0..(y1 * 2.0).max(y0 * 10.0)).log_scale(),
            )
            .map_err(backend_err)?;
        chart
            .configure_mesh()
            .x_desc("observation interval τ")
            .y_desc(self.y_label)
            .x_label_formatter(&secs)
            .y_label_formatter(&si)
            .draw()
            .map_err(backend_err)?;
        let (lines, masks) = positive.split_at(self.series.len());
        draw_lines(&mut chart, lines)?;
        for m in masks {
            limit_line(&mut chart, m.points.clone(), Some(&m.name), BLACK)?;
        }
        // MTIE and TDEV rise with τ: the lower right is where the lines are not.
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(backend_err)
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

/// Plots time error (ns) against time (s) on one panel, one line per series (free-running
/// clocks, where there is no steady state to single out).
pub fn plot_te(path: &Path, title: &str, series: &[Series]) -> Result<(), PlotError> {
    let chart = Linear {
        title,
        x_label: "time (s)",
        quantity: Quantity::TimeError,
        series,
    };
    render(path, (1000, 560), chart)
}

/// Plots MTIE and TDEV (ns) against τ on log-log axes, side by side, under `title`; the `masks`
/// (e.g. [`g8263_mtie_mask`]) are drawn dashed on the MTIE panel.
pub fn plot_wander(
    path: &Path,
    title: &str,
    mtie: &[Series],
    tdev: &[Series],
    masks: &[Series],
) -> Result<(), PlotError> {
    let chart = SideBySide(
        LogLog {
            title: format!("{title}: MTIE"),
            y_label: "MTIE",
            series: mtie,
            masks,
        },
        LogLog {
            title: format!("{title}: TDEV"),
            y_label: "TDEV",
            series: tdev,
            masks: &[],
        },
    );
    render(path, (1400, 560), chart)
}

/// The G.8263 packet slave clock wander limit at constant temperature: MTIE ≤ 1 µs from 0.1 s to
/// 1000 s (as `ptp-wire.md` gives it), in ns.
#[must_use]
pub fn g8263_mtie_mask() -> Series {
    Series {
        name: "G.8263 MTIE mask (0.1–1000 s)".into(),
        points: vec![(0.1, 1000.0), (1000.0, 1000.0)],
    }
}

/// The bound a ±`budget_ns` time-error budget puts on MTIE at every τ: the largest
/// peak-to-peak excursion it allows, 2 × budget.
#[must_use]
pub fn te_budget_mtie_bound(budget_ns: f64, source: &str, tau_max: f64) -> Series {
    Series {
        name: format!(
            "2 × {} ({source}): peak-to-peak",
            Quantity::TimeError.format(budget_ns)
        ),
        points: vec![(1.0, 2.0 * budget_ns), (tau_max.max(10.0), 2.0 * budget_ns)],
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

    /// A start-up from 1 ms settling to ±200 ns after 100 s.
    fn run() -> Vec<Series> {
        vec![Series {
            name: "Client".into(),
            points: (0..1000)
                .map(|i| {
                    let t = f64::from(i);
                    let y = if i < 100 {
                        1e6 * (1.0 - t / 100.0)
                    } else {
                        200.0 * (t / 7.0).sin()
                    };
                    (t, y)
                })
                .collect(),
        }]
    }

    fn font() -> bool {
        if font_available() {
            return true;
        }
        assert!(
            std::env::var("MERIDIAN_REQUIRE_PEERS").is_err(),
            "no font at {FONT_PATHS:?}: .ci/run installs fonts-dejavu-core"
        );
        eprintln!("SKIPPED: no font at {FONT_PATHS:?} (install fonts-dejavu-core)");
        false
    }

    #[test]
    fn values_read_in_the_unit_that_fits() {
        let te = Quantity::TimeError;
        assert_eq!(te.format(1500.0), "1.5 µs");
        assert_eq!(te.format(-250.0), "-250 ns");
        assert_eq!(te.format(1e6), "1 ms");
        assert_eq!(te.format(0.5), "0.5 ns");
        assert_eq!(te.format(0.0), "0 ns");
        assert_eq!(te.format(123_456.0), "123 µs");
        assert_eq!(Quantity::FrequencyError.format(16.0), "16 ppb");
        assert_eq!(Quantity::FrequencyError.format(3000.0), "3 ppm");
        assert_eq!(te.unit_for(999.0), ("ns", 1.0));
        assert_eq!(te.unit_for(-2e3), ("µs", 1e3));
        assert_eq!(tick_decimals(400.0), 0);
        assert_eq!(tick_decimals(0.4), 2);
    }

    #[test]
    fn the_steady_panel_is_scaled_to_the_data_after_the_warm_up() {
        let s = run();
        let chart = RunChart {
            title: "t",
            quantity: Quantity::TimeError,
            series: &s,
            warmup_s: 100.0,
            budget: Some(Budget {
                limit: 1500.0,
                source: "G.8271.1".into(),
            }),
            markers: Vec::new(),
        };
        let l = chart.layout().unwrap();
        // The 1-ms start-up is not in it; ±200 ns is, and the 1.5-µs budget (7.5× the data)
        // stays off scale.
        assert!(l.data.0 > -201.0 && l.data.0 < -190.0, "{l:?}");
        assert!(l.data.1 < 201.0 && l.data.1 > 190.0, "{l:?}");
        assert!(!l.budget_on_scale);
        assert!(l.axis.0 < l.data.0 && l.axis.1 > l.data.1 && l.axis.1 < 250.0);
        assert_eq!(l.unit.0, "ns");
        // A budget within 4× the data is drawn, and the axis reaches it.
        let near = RunChart {
            budget: Some(Budget {
                limit: 500.0,
                source: "x".into(),
            }),
            ..chart.clone()
        };
        let l = near.layout().unwrap();
        assert!(l.budget_on_scale && l.axis.0 < -500.0 && l.axis.1 > 500.0);
        // Nothing after the warm-up: nothing to draw.
        let late = RunChart {
            warmup_s: 5000.0,
            ..chart
        };
        assert!(matches!(late.layout(), Err(PlotError::NoData)));
    }

    #[test]
    fn a_run_chart_names_its_panels_units_budget_and_warm_up() {
        if !font() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("meridian-plot-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = run();
        let chart = RunChart {
            title: "scenario-x: time error",
            quantity: Quantity::TimeError,
            series: &s,
            warmup_s: 100.0,
            budget: Some(Budget {
                limit: 300.0,
                source: "test budget".into(),
            }),
            markers: vec![(600.0, "link 0 down".into())],
        };
        let svg = dir.join("run.svg");
        plot_run(&svg, &chart).unwrap();
        let texts = svg_texts(&std::fs::read_to_string(&svg).unwrap());
        for needed in [
            "scenario-x: time error",
            "whole run (start-up)",
            "warm-up ends (100 s)",
            "after the warm-up (100 s on)",
            "time error (ns)",
            "budget ±300 ns (test budget)",
            "link 0 down",
            "Client",
            // The whole-run panel's ticks carry their unit; the steady panel's are plain.
            "1 ms",
            "500 µs",
            "-300",
            "300",
        ] {
            assert!(
                texts.iter().any(|t| t == needed),
                "no {needed:?} in {texts:?}"
            );
        }
        assert!(
            !texts.iter().any(|t| t.contains("000000")),
            "a tick printed in raw ns: {texts:?}"
        );
        if std::env::var_os("MERIDIAN_KEEP").is_none() {
            std::fs::remove_dir_all(&dir).ok();
        }
    }

    #[test]
    fn svg_and_png_are_written() {
        if !font() {
            return;
        }
        let dir = std::env::temp_dir().join(format!("meridian-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("te.svg");
        plot_te(&svg, "TE", &series()).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("time error"));
        let tau: Vec<Series> = vec![Series {
            name: "m".into(),
            points: vec![(1.0, 10.0), (10.0, 30.0), (100.0, 80.0)],
        }];
        let w = dir.join("wander.svg");
        plot_wander(&w, "x", &tau, &tau, &[g8263_mtie_mask()]).unwrap();
        let text = std::fs::read_to_string(&w).unwrap();
        assert!(text.contains("G.8263 MTIE mask") && text.contains("x: TDEV"));
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
