//! The results chart: horizontal bars of requests per second and of p99 latency per target (PNG).

use std::path::Path;

use plotters::{
    coord::ranged1d::SegmentValue,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::report::{Peer, Role, Row};

/// The TTF the labels are drawn with (Debian: `fonts-dejavu-core`).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// One bar: label, value, colour.
type Bar = (String, f64, RGBColor);

fn colour(row: &Row) -> RGBColor {
    match row.role {
        Role::Direct => RGBColor(150, 150, 150),
        Role::Peer(Peer::Nginx) => RGBColor(0, 150, 57),
        Role::Peer(Peer::Haproxy) => RGBColor(30, 100, 200),
        Role::Peer(Peer::Envoy) => RGBColor(200, 40, 110),
        Role::Peer(Peer::Traefik) => RGBColor(0, 160, 170),
        Role::Peer(Peer::Caddy) => RGBColor(180, 150, 0),
        Role::Measured if row.name.contains("gateway") => RGBColor(230, 110, 20),
        Role::Measured => RGBColor(140, 80, 170),
    }
}

/// Draws `rows` into a PNG at `path`.
pub fn draw(rows: &[Row], title: &str, path: &Path) -> anyhow::Result<()> {
    let font = std::fs::read(FONT).map_err(|err| {
        anyhow::anyhow!("{FONT}: {err}; the chart needs it: `apt-get install -y fonts-dejavu-core`")
    })?;
    // Registered once per process; plotters keeps a &'static reference.
    plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(font.into()))
        .map_err(|_| anyhow::anyhow!("{FONT} is not a usable TrueType font"))?;

    let rps: Vec<Bar> = rows
        .iter()
        .map(|row| (row.name.clone(), row.summary().rps, colour(row)))
        .collect();
    let p99: Vec<Bar> = rows
        .iter()
        .map(|row| {
            let p99 = row.summary().p99_ms.unwrap_or(0.0);
            (row.name.clone(), p99, colour(row))
        })
        .collect();

    let height = 140 + 38 * rows.len() as u32;
    let root = BitMapBackend::new(path, (1500, height)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let root = root.titled(title, ("sans-serif", 24)).map_err(plot_error)?;
    let (left, right) = root.split_horizontally(760);
    bars(
        &left,
        "requests per second (2xx, median of rounds)",
        &rps,
        |v| format!("{v:.0}"),
    )?;
    bars(&right, "p99 latency, ms (median of rounds)", &p99, |v| {
        format!("{v:.2}")
    })?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error(err: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {err}")
}

/// One panel of horizontal bars, the first bar at the top.
fn bars(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    bars: &[Bar],
    value_label: impl Fn(f64) -> String,
) -> anyhow::Result<()> {
    let axis_label = |value: &f64| value_label(*value);
    let n = bars.len();
    let max = bars.iter().map(|bar| bar.1).fold(0.0, f64::max).max(1e-9);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(250)
        .build_cartesian_2d(0.0..max * 1.18, (0..n).into_segmented())
        .map_err(plot_error)?;
    let names: Vec<&str> = bars.iter().rev().map(|bar| bar.0.as_str()).collect();
    let label = |value: &SegmentValue<usize>| match value {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => names
            .get(*i)
            .map_or_else(String::new, |name| (*name).to_owned()),
        SegmentValue::Last => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(WHITE)
        .x_label_formatter(&axis_label)
        .y_labels(n)
        .y_label_formatter(&label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(
            bars.iter()
                .rev()
                .enumerate()
                .map(|(i, (_, value, colour))| {
                    let mut bar = Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(i)),
                            (*value, SegmentValue::Exact(i + 1)),
                        ],
                        colour.filled(),
                    );
                    bar.set_margin(5, 5, 0, 0);
                    bar
                }),
        )
        .map_err(plot_error)?;
    chart
        .draw_series(bars.iter().rev().enumerate().map(|(i, (_, value, _))| {
            Text::new(
                format!(" {}", value_label(*value)),
                (*value, SegmentValue::CenterOf(i)),
                TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))
        .map_err(plot_error)?;
    Ok(())
}
