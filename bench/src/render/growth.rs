//! The growth scenario's table: the fill, the prune under a fixed rate, the log pages, the
//! throughput on the full database, and the file at each step.

use super::Table;
use crate::growth::{FileSize, Growth};

fn size(f: &FileSize) -> String {
    format!(
        "{:.0} MiB database + {:.0} MiB log, {:.0} MiB of it free pages",
        f.database_mib, f.log_mib, f.free_mib
    )
}

pub(super) fn growth(t: &mut Table, g: &Growth) {
    t.section("growth: serve on a database of a week of deliveries, and a day to prune");
    t.row(
        "filled",
        format!(
            "{} + {} deliveries and events, {} attempts, in {:.1} s",
            g.retained_deliveries, g.day_deliveries, g.attempts, g.fill_s
        ),
    );
    t.row("file, filled", size(&g.filled));
    let p = &g.prune;
    t.row(
        "prune",
        format!(
            "{} deliveries and {} events in {} sweeps, {} steps, {:.0} ms",
            p.deliveries, p.events, p.sweeps, p.steps, p.span_ms
        ),
    );
    t.row(
        "flow at a fixed rate",
        format!(
            "{}/s: {} of {} delivered{}",
            g.rate,
            g.flow_delivered,
            g.flow_events,
            if g.flow_complete { "" } else { "  INCOMPLETE" }
        ),
    );
    t.row("  during the prune", g.during_prune.line());
    t.row("  outside it", g.outside_prune.line());
    t.row("file, pruned", size(&g.pruned));
    t.row(
        &format!("log page ({}), newest", g.page_rows),
        g.newest_page.line(),
    );
    t.row("log page, 4 days deep", g.deep_page.line());
    let x = &g.throughput;
    t.row(
        "throughput",
        format!(
            "{} of {} delivered, {:.0}/s{}, {:.1} us of vizhook CPU each",
            x.delivered,
            x.events,
            x.deliveries_per_s,
            g.ratio_to_empty.map_or_else(String::new, |r| format!(
                " ({r:.2} of the empty database's)"
            )),
            x.cpu_us_per_delivery
        ),
    );
    t.process(&x.process);
    t.row("file, after it", size(&g.after_throughput));
}
