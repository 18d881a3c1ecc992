//! Inline SVG line charts drawn from integers: every coordinate is computed in integer
//! (fixed-point) arithmetic, so the same report draws the same bytes on every machine.

use std::fmt::Write as _;

use super::html::escape;

/// The chart's size in SVG units; it scales to the page's width.
const WIDTH: i64 = 760;
const HEIGHT: i64 = 260;
/// Room for the y axis's labels on the left and the time labels below.
const LEFT: i64 = 84;
const RIGHT: i64 = 12;
const TOP: i64 = 10;
const BOTTOM: i64 = 26;
/// Grid lines (and labels) across the value axis and along the time axis.
const Y_TICKS: i64 = 4;
const X_TICKS: i64 = 5;

/// Line colours, told apart in print too; series past ten reuse them dashed.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22",
];

/// One line: a label (shown on hover and in the legend) and (time, value) points.
pub struct Series {
    pub label: String,
    pub points: Vec<(u64, i64)>,
}

/// A vertical marker at a time, with its hover text (a headline).
pub struct Marker {
    pub time_ms: u64,
    pub title: String,
}

/// A line chart over block time.
pub struct Chart<'a> {
    /// For screen readers.
    pub title: &'a str,
    pub series: &'a [Series],
    pub markers: &'a [Marker],
    /// The time span shown, ms since the epoch.
    pub from_ms: u64,
    pub to_ms: u64,
    /// How a value is labelled on the axis.
    pub label: &'a dyn Fn(i64) -> String,
}

/// The colour and dash pattern of series `i`.
pub fn style(i: usize) -> (&'static str, &'static str) {
    let dash = if i < PALETTE.len() { "" } else { "6 3" };
    (PALETTE[i % PALETTE.len()], dash)
}

/// The chart as an `<svg>` element.
pub fn line_chart(chart: &Chart<'_>) -> String {
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1));
    let (mut lo, mut hi) = values.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        (lo, hi) = (0, 1);
    }
    // A flat line sits mid-chart; otherwise a margin of a twentieth above and below.
    let pad = ((hi as i128 - lo as i128) / 20).max(1) as i64;
    let (lo, hi) = (lo.saturating_sub(pad), hi.saturating_add(pad));
    let span_ms = chart.to_ms.saturating_sub(chart.from_ms).max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: u64| -> i64 {
        let dt = t.clamp(chart.from_ms, chart.to_ms) - chart.from_ms;
        LEFT + (dt as i128 * plot_w as i128 / span_ms as i128) as i64
    };
    let y = |v: i64| -> i64 {
        let range = (hi as i128 - lo as i128).max(1);
        TOP + ((hi as i128 - v as i128) * plot_h as i128 / range) as i64
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(chart.title)
    );
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#999"/>"##
    );
    for i in 0..=Y_TICKS {
        let v = (lo as i128 + (hi as i128 - lo as i128) * i as i128 / Y_TICKS as i128) as i64;
        let yy = y(v);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{yy}" x2="{}" y2="{yy}" stroke="#e4e4e4"/><text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6,
            yy + 4,
            escape(&(chart.label)(v))
        );
    }
    for i in 0..=X_TICKS {
        let t = chart.from_ms + (span_ms as u128 * i as u128 / X_TICKS as u128) as u64;
        let anchor = match i {
            0 => "start",
            X_TICKS => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" class="axis">{}</text>"#,
            x(t),
            HEIGHT - 8,
            elapsed(t - chart.from_ms)
        );
    }
    for marker in chart.markers {
        let xx = x(marker.time_ms);
        let _ = write!(
            out,
            r##"<g class="marker"><title>{}</title><line x1="{xx}" y1="{TOP}" x2="{xx}" y2="{}" stroke="#b8860b" stroke-dasharray="3 3"/><line x1="{xx}" y1="{TOP}" x2="{xx}" y2="{}" stroke="transparent" stroke-width="8"/><path d="M{} {TOP}h8l-4 7z" fill="#b8860b"/></g>"##,
            escape(&marker.title),
            TOP + plot_h,
            TOP + plot_h,
            xx - 4
        );
    }
    for (i, series) in chart.series.iter().enumerate() {
        let (color, dash) = style(i);
        let mut points = String::new();
        for &(t, v) in &series.points {
            let _ = write!(points, "{},{} ", x(t), y(v));
        }
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}" points="{}"><title>{}</title></polyline>"#,
            points.trim_end(),
            escape(&series.label)
        );
    }
    out.push_str("</svg>");
    out
}

/// Block time since the chart's start: `m:ss`, or `h:mm:ss` from an hour.
pub fn elapsed(ms: u64) -> String {
    let s = ms / 1_000;
    if s >= 3_600 {
        format!("{}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_titles_are_escaped_and_coordinates_are_integers() {
        let series = [Series {
            label: "<script>alert(1)</script>".into(),
            points: vec![(0, 100), (1_000, 200)],
        }];
        let markers = [Marker {
            time_ms: 500,
            title: "\"><img src=x>".into(),
        }];
        let svg = line_chart(&Chart {
            title: "t",
            series: &series,
            markers: &markers,
            from_ms: 0,
            to_ms: 1_000,
            label: &|v| v.to_string(),
        });
        assert!(!svg.contains("<script>"));
        assert!(!svg.contains("<img"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains(r#"points="84,223 748,20""#), "{svg}");
        assert_eq!(elapsed(3_725_000), "1:02:05");
        assert_eq!(elapsed(65_000), "1:05");
    }
}
