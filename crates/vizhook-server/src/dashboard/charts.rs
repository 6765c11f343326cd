//! The dashboard's charts as inline SVG, drawn on the server from per-minute attempt counts:
//! deliveries per minute (failed attempts stacked in red), success rate and mean latency over
//! the last hour. No script draws them, so they work without JavaScript.

use std::fmt::Write;

use time::OffsetDateTime;
use vizhook_store::MinuteStats;

/// Minutes shown, ending with the current one.
pub(super) const MINUTES: usize = 60;
const WIDTH: f64 = 300.0;
const HEIGHT: f64 = 100.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 88.0;

/// The three charts of one webhook.
#[derive(Debug, serde::Serialize)]
pub(super) struct Charts {
    pub(super) volume: String,
    pub(super) success: String,
    pub(super) latency: String,
}

/// Totals over the hour, as the charts' caption says them.
#[derive(Debug, serde::Serialize)]
pub(super) struct Totals {
    pub(super) attempts: u64,
    pub(super) success: String,
    pub(super) latency: String,
}

/// The minutes of the hour ending at `now`, each with its stats if it had attempts.
fn by_minute(stats: &[MinuteStats], now: OffsetDateTime) -> Vec<Option<MinuteStats>> {
    let current = now.unix_timestamp().div_euclid(60);
    let first = current - (MINUTES as i64 - 1);
    let mut minutes = vec![None; MINUTES];
    for stat in stats {
        let minute = stat.minute.unix_timestamp().div_euclid(60);
        if let Some(slot) = usize::try_from(minute - first)
            .ok()
            .filter(|i| *i < MINUTES)
        {
            minutes[slot] = Some(*stat);
        }
    }
    minutes
}

pub(super) fn draw(stats: &[MinuteStats], now: OffsetDateTime) -> (Charts, Totals) {
    let minutes = by_minute(stats, now);
    let attempts: u64 = minutes
        .iter()
        .flatten()
        .map(|m| u64::from(m.attempts))
        .sum();
    let succeeded: u64 = minutes
        .iter()
        .flatten()
        .map(|m| u64::from(m.succeeded))
        .sum();
    let latency_sum: u64 = minutes
        .iter()
        .flatten()
        .map(|m| u64::from(m.mean_latency_ms) * u64::from(m.attempts))
        .sum();
    let totals = Totals {
        attempts,
        success: match attempts {
            0 => "none".to_owned(),
            n => format!("{:.0}%", succeeded as f64 * 100.0 / n as f64),
        },
        latency: match attempts {
            0 => "none".to_owned(),
            n => format!("{} ms", latency_sum / n),
        },
    };
    let charts = Charts {
        volume: volume(&minutes),
        success: line(
            &minutes,
            |m| m.succeeded as f64 * 100.0 / f64::from(m.attempts.max(1)),
            Some(100.0),
            "%",
        ),
        latency: line(&minutes, |m| f64::from(m.mean_latency_ms), None, " ms"),
    };
    (charts, totals)
}

fn open(label: &str) -> String {
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="0" y1="{BOTTOM}" x2="{WIDTH}" y2="{BOTTOM}"/><text x="0" y="{HEIGHT}">-60 min</text><text x="{WIDTH}" y="{HEIGHT}" text-anchor="end">now</text>"#
    );
    svg
}

fn y(value: f64, max: f64) -> f64 {
    BOTTOM - (value / max.max(f64::MIN_POSITIVE)) * (BOTTOM - TOP)
}

/// Bars of attempts per minute, the failed part of each in red.
fn volume(minutes: &[Option<MinuteStats>]) -> String {
    let max = minutes
        .iter()
        .flatten()
        .map(|m| m.attempts)
        .max()
        .unwrap_or(0);
    let mut svg = open("attempts per minute");
    let _ = write!(svg, r#"<text x="0" y="9">max {max}/min</text>"#);
    let slot = WIDTH / MINUTES as f64;
    for (i, minute) in minutes.iter().enumerate() {
        let Some(m) = minute else { continue };
        let x = i as f64 * slot + 0.5;
        let total_top = y(f64::from(m.attempts), f64::from(max));
        let ok_top = y(f64::from(m.succeeded), f64::from(max));
        let _ = write!(
            svg,
            r#"<rect class="bad" x="{x:.1}" y="{total_top:.1}" width="{:.1}" height="{:.1}"><title>{} attempts, {} succeeded</title></rect>"#,
            slot - 1.0,
            BOTTOM - total_top,
            m.attempts,
            m.succeeded
        );
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{x:.1}" y="{ok_top:.1}" width="{:.1}" height="{:.1}"/>"#,
            slot - 1.0,
            BOTTOM - ok_top
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line through the minutes that had attempts.
fn line(
    minutes: &[Option<MinuteStats>],
    value: impl Fn(&MinuteStats) -> f64,
    fixed_max: Option<f64>,
    unit: &str,
) -> String {
    let points: Vec<(usize, f64)> = minutes
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.as_ref().map(|m| (i, value(m))))
        .collect();
    let max = fixed_max.unwrap_or_else(|| points.iter().map(|(_, v)| *v).fold(0.0, f64::max));
    let mut svg = open(unit.trim());
    let _ = write!(svg, r#"<text x="0" y="9">max {max:.0}{unit}</text>"#);
    let slot = WIDTH / MINUTES as f64;
    let path: Vec<String> = points
        .iter()
        .map(|(i, v)| format!("{:.1},{:.1}", (*i as f64 + 0.5) * slot, y(*v, max)))
        .collect();
    if !path.is_empty() {
        let _ = write!(
            svg,
            r#"<polyline class="line" points="{}"/>"#,
            path.join(" ")
        );
    }
    // A dot per minute, so that a lone minute shows too.
    for ((_, v), point) in points.iter().zip(&path) {
        let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
        let _ = write!(
            svg,
            r#"<circle class="dot" cx="{x}" cy="{y}" r="1.8"><title>{v:.0}{unit}</title></circle>"#
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn minutes_land_in_their_slots_and_totals_add_up() {
        let now = datetime!(2026-01-01 12:30:40 UTC);
        let stat = |minute, attempts, succeeded, latency| MinuteStats {
            minute,
            attempts,
            succeeded,
            mean_latency_ms: latency,
            max_latency_ms: latency,
        };
        let stats = [
            stat(datetime!(2026-01-01 11:00 UTC), 9, 9, 1), // over an hour ago: left out
            stat(datetime!(2026-01-01 12:00 UTC), 4, 2, 10),
            stat(datetime!(2026-01-01 12:30 UTC), 1, 1, 40),
        ];
        let minutes = by_minute(&stats, now);
        assert_eq!(minutes.iter().flatten().count(), 2);
        assert_eq!(
            minutes[MINUTES - 1].unwrap().attempts,
            1,
            "the current minute is last"
        );
        assert_eq!(minutes[MINUTES - 31].unwrap().attempts, 4);
        let (charts, totals) = draw(&stats, now);
        assert_eq!(totals.attempts, 5);
        assert_eq!(totals.success, "60%");
        assert_eq!(totals.latency, "16 ms");
        assert_eq!(
            charts.volume.matches("<rect").count(),
            4,
            "two bars of two parts"
        );
        assert!(charts.success.contains("<polyline"), "{}", charts.success);
        assert_eq!(
            charts.success.matches("<circle").count(),
            2,
            "a dot per minute"
        );
        assert!(charts.latency.contains("max 40 ms"), "{}", charts.latency);
        let (empty, totals) = draw(&[], now);
        assert!(!empty.latency.contains("<polyline"));
        assert_eq!(totals.success, "none");
    }
}
