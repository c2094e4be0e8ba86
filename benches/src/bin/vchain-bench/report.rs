//! The run's report (`--report-dir DIR`): `report.md`, the figures as Markdown tables, and
//! `report.svg`, a chart of committed transactions per second and their p99 latency for every
//! second of the run (the warm-up shaded). Both are rendered from a [`Report`] by pure
//! functions, so a fixed input pins their text in tests; the SVG is written by hand (it is only
//! text: rectangles, a polyline, axes and labels).
//!
//! Owns: both formats. Must not depend on: the load, the network (it renders what it is given).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use vchain_benches::ceiling::Ceiling;

use crate::scrape::Usage;
use crate::stats::{Summary, SECONDS_MAX};

/// Rows of the per-second table in `report.md` (a longer run lists its first seconds and says
/// so; the chart shows them all).
pub(crate) const TABLE_SECONDS_MAX: usize = 600;

/// How the load was offered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mode {
    /// As fast as the accounts' in-flight slots allow.
    FlatOut,
    /// A fixed total rate; with what the bench actually sent in the measured window.
    FixedRate {
        /// Offered, per second.
        offered: u64,
        /// Sent per second in the measured window.
        sent_per_s: f64,
        /// Sends that started late (every slot was busy).
        late: u64,
    },
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Report {
    /// The workload's name (`--workload`).
    pub(crate) workload: String,
    /// What one unit of load is: "transactions" or "reads".
    pub(crate) unit: &'static str,
    /// One line on what the workload does.
    pub(crate) description: String,
    /// How the load was offered.
    pub(crate) mode: Mode,
    /// The gRPC endpoints.
    pub(crate) endpoints: Vec<String>,
    /// Accounts generating load.
    pub(crate) accounts: usize,
    /// In-flight transactions (or reads) per account.
    pub(crate) in_flight: usize,
    /// `--duration-secs`.
    pub(crate) duration_secs: u64,
    /// `--warmup-secs`.
    pub(crate) warmup_secs: u64,
    /// Seconds the setup took.
    pub(crate) setup_secs: f64,
    /// Transactions sent again after an unknown outcome, all of the run.
    pub(crate) retries: u64,
    /// The chain's height when the load ended, if read.
    pub(crate) height: Option<u64>,
    /// The figures.
    pub(crate) summary: Summary,
    /// Each node's CPU and memory (`--metrics-endpoints`).
    pub(crate) nodes: Vec<Usage>,
    /// The bench's own.
    pub(crate) bench: Usage,
    /// The machine's ceiling (`--ceiling`).
    pub(crate) ceiling: Option<Ceiling>,
    /// The machine: processor model and cores.
    pub(crate) machine: String,
}

fn number(value: f64) -> String {
    // Thousands separated, no decimals: how docs/benchmarks.md writes rates.
    let rounded = value.round();
    if !rounded.is_finite() {
        return "-".into();
    }
    let digits = format!("{}", rounded.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

fn mib(bytes: Option<f64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.1} MiB", b / (1024.0 * 1024.0)))
}

fn cores(cores: Option<f64>) -> String {
    cores.map_or("-".into(), |c| format!("{c:.2}"))
}

/// `report.md`.
pub(crate) fn markdown(report: &Report) -> String {
    let s = &report.summary;
    let unit = report.unit;
    let mut out = String::new();
    let _ = writeln!(out, "# vchain-bench: {} workload\n", report.workload);
    let _ = writeln!(out, "{}\n", report.description);
    let mode = match &report.mode {
        Mode::FlatOut => "flat out (each account keeps its in-flight slots busy)".to_owned(),
        Mode::FixedRate { offered, .. } => {
            format!("fixed rate, {} {unit}/s offered", number(*offered as f64))
        }
    };
    let _ = writeln!(out, "| run | |\n|---|---|");
    let _ = writeln!(out, "| mode | {mode} |");
    let _ = writeln!(out, "| endpoints | {} |", report.endpoints.join(", "));
    let _ = writeln!(out, "| accounts | {} |", report.accounts);
    let _ = writeln!(out, "| in flight per account | {} |", report.in_flight);
    let _ = writeln!(
        out,
        "| duration | {} s measured after {} s of warm-up (figures divide by {:.1} s: until the last measured answer) |",
        report.duration_secs, report.warmup_secs, s.measured_secs
    );
    let _ = writeln!(out, "| setup | {:.1} s |", report.setup_secs);
    if let Some(height) = report.height {
        let _ = writeln!(out, "| height at the end | {height} |");
    }
    let _ = writeln!(out, "| machine | {} |\n", report.machine);

    let _ = writeln!(out, "## Figures (measured window)\n");
    let _ = writeln!(
        out,
        "| committed {unit}/s | sent | committed | rejected | failed | retries (whole run) | p50 | p90 | p95 | p99 | max |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |\n",
        number(s.committed_per_s),
        s.sent,
        s.committed,
        s.rejected,
        s.failed,
        report.retries,
        s.p50_ms,
        s.p90_ms,
        s.p95_ms,
        s.p99_ms,
        s.max_ms
    );
    if let Mode::FixedRate {
        offered,
        sent_per_s,
        late,
    } = &report.mode
    {
        let held = crate::pace::held(*offered, *sent_per_s);
        let _ = writeln!(
            out,
            "Offered {} {unit}/s, sent {} {unit}/s in the measured window ({late} sends started more than {} ms late): {}\n",
            number(*offered as f64),
            number(*sent_per_s),
            crate::pace::LATE_AFTER.as_millis(),
            if held {
                "the offered rate was held."
            } else {
                "**the offered rate was NOT achieved** (every in-flight slot was busy: more accounts or --in-flight, or a lower rate)."
            }
        );
    }
    if let Some(ceiling) = &report.ceiling {
        let _ = writeln!(
            out,
            "## The machine's ceiling (measured after the load, in the bench's process)\n\n{ceiling}"
        );
        let _ = writeln!(
            out,
            "Committed {unit}/s as a share of the ed25519 batch-verification ceiling on every core ({} /s): **{:.1}%**.\n",
            number(ceiling.verify_batch_per_s * ceiling.cores as f64),
            ceiling.share_of_verification(s.committed_per_s) * 100.0
        );
    }

    let _ = writeln!(out, "## CPU and memory (measured window)\n");
    let _ = writeln!(
        out,
        "| process | readings | cores used | resident peak | resident last |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for usage in report.nodes.iter().chain(std::iter::once(&report.bench)) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            usage.name,
            usage.readings,
            cores(usage.cores),
            mib(usage.resident_peak_bytes),
            mib(usage.resident_last_bytes)
        );
    }
    if report.nodes.is_empty() {
        let _ = writeln!(
            out,
            "\nNo node was read: give `--metrics-endpoints http://HOST:PORT,...` (each node's `[metrics] listen`)."
        );
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Per second (by answer time; chart: report.svg)\n");
    let _ = writeln!(out, "| second | committed | not committed | p99 | |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---|");
    for second in s.seconds.iter().take(TABLE_SECONDS_MAX) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} ms | {} |",
            second.second,
            second.committed,
            second.not_committed,
            second.p99_ms,
            if second.warmup { "warm-up" } else { "" }
        );
    }
    if s.seconds.len() > TABLE_SECONDS_MAX {
        let _ = writeln!(
            out,
            "\n(the first {TABLE_SECONDS_MAX} of {} seconds listed)",
            s.seconds.len()
        );
    }
    out
}

/// Chart geometry, pixels.
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 80.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
/// Ticks on each vertical axis, besides zero.
const TICKS: usize = 5;

/// The smallest "round" number (1, 2 or 5 times a power of ten) at or above `value`; 1 for
/// nothing, so an empty axis still has a scale.
pub(crate) fn nice_ceiling(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powi(value.log10().floor() as i32);
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * power >= value * (1.0 - 1e-12) {
            return step * power;
        }
    }
    10.0 * power
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `report.svg`: committed per second (bars, left axis) and p99 latency per second (line,
/// right axis), the warm-up shaded.
pub(crate) fn svg(report: &Report) -> String {
    let seconds = &report.summary.seconds[..report.summary.seconds.len().min(SECONDS_MAX)];
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let count = seconds.len().max(1) as f64;
    let slot = plot_width / count;
    let rate_max = nice_ceiling(seconds.iter().map(|s| s.committed).max().unwrap_or(0) as f64);
    let p99_max = nice_ceiling(seconds.iter().map(|s| s.p99_ms).fold(0.0, f64::max));
    let y_rate = |v: f64| TOP + plot_height * (1.0 - v / rate_max);
    let y_p99 = |v: f64| TOP + plot_height * (1.0 - v / p99_max);
    let unit = report.unit;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let mode = match &report.mode {
        Mode::FlatOut => "flat out".to_owned(),
        Mode::FixedRate { offered, .. } => format!("{offered} {unit}/s offered"),
    };
    let title = format!(
        "vchain-bench {}: {} accounts x {} in flight, {}; {} committed {unit}/s, p99 {:.1} ms",
        report.workload,
        report.accounts,
        report.in_flight,
        mode,
        number(report.summary.committed_per_s),
        report.summary.p99_ms
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="14">{}</text>"#,
        WIDTH / 2.0,
        escape(&title)
    );
    // The warm-up, shaded.
    let warmup = seconds.iter().filter(|s| s.warmup).count() as f64;
    if warmup > 0.0 {
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT:.1}" y="{TOP:.1}" width="{:.1}" height="{plot_height:.1}" fill="#eeeeee"/>"##,
            warmup * slot
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#888888">warm-up</text>"##,
            LEFT + warmup * slot / 2.0,
            TOP + 14.0
        );
    }
    // Grid lines and both axes' ticks.
    for tick in 0..=TICKS {
        let fraction = tick as f64 / TICKS as f64;
        let y = TOP + plot_height * (1.0 - fraction);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#dddddd"/>"##,
            WIDTH - RIGHT
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1f5fa8">{}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            number(rate_max * fraction)
        );
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="start" fill="#c0392b">{}</text>"##,
            WIDTH - RIGHT + 6.0,
            y + 4.0,
            number(p99_max * fraction)
        );
    }
    // Bars: committed per second.
    for (i, second) in seconds.iter().enumerate() {
        let y = y_rate(second.committed as f64);
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#5b8fd0"/>"##,
            LEFT + i as f64 * slot + slot * 0.1,
            slot * 0.8,
            TOP + plot_height - y
        );
    }
    // Line: p99 per second (seconds with no commit left out).
    let points: Vec<String> = seconds
        .iter()
        .enumerate()
        .filter(|(_, s)| s.committed > 0)
        .map(|(i, s)| {
            format!(
                "{:.1},{:.1}",
                LEFT + (i as f64 + 0.5) * slot,
                y_p99(s.p99_ms)
            )
        })
        .collect();
    if !points.is_empty() {
        let _ = writeln!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#c0392b" stroke-width="2"/>"##,
            points.join(" ")
        );
    }
    // Axes and their labels.
    let _ = writeln!(
        out,
        r##"<line x1="{LEFT:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333333"/>"##,
        TOP + plot_height,
        WIDTH - RIGHT,
        TOP + plot_height
    );
    let label_every = (seconds.len() / 10).max(1);
    for (i, second) in seconds.iter().enumerate().step_by(label_every) {
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333333">{}</text>"##,
            LEFT + (i as f64 + 0.5) * slot,
            TOP + plot_height + 16.0,
            second.second
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333333">seconds since the load started</text>"##,
        LEFT + plot_width / 2.0,
        HEIGHT - 16.0
    );
    let _ = writeln!(
        out,
        r##"<text x="18" y="{:.1}" text-anchor="middle" fill="#1f5fa8" transform="rotate(-90 18 {:.1})">committed {unit} per second</text>"##,
        TOP + plot_height / 2.0,
        TOP + plot_height / 2.0
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#c0392b" transform="rotate(90 {:.1} {:.1})">p99 latency, ms</text>"##,
        WIDTH - 18.0,
        TOP + plot_height / 2.0,
        WIDTH - 18.0,
        TOP + plot_height / 2.0
    );
    out.push_str("</svg>\n");
    out
}

/// Writes `report.md` and `report.svg` into `dir` (created if missing).
pub(crate) fn write(dir: &Path, report: &Report) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in [("report.md", markdown(report)), ("report.svg", svg(report))] {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Second;

    fn fixed() -> Report {
        let second = |second, committed, p99_ms, warmup| Second {
            second,
            committed,
            not_committed: 0,
            p99_ms,
            warmup,
        };
        Report {
            workload: "transfer".into(),
            unit: "transactions",
            description: "Suppliers transfer vouchers to each other.".into(),
            mode: Mode::FixedRate {
                offered: 1_500,
                sent_per_s: 1_200.0,
                late: 42,
            },
            endpoints: vec!["http://127.0.0.1:7250".into()],
            accounts: 200,
            in_flight: 4,
            duration_secs: 2,
            warmup_secs: 1,
            setup_secs: 3.25,
            retries: 0,
            height: Some(77),
            summary: Summary {
                sent: 2_400,
                committed: 2_390,
                rejected: 10,
                failed: 0,
                measured_secs: 2.0,
                committed_per_s: 1_195.0,
                p50_ms: 120.0,
                p90_ms: 180.5,
                p95_ms: 190.0,
                p99_ms: 250.3,
                max_ms: 301.0,
                seconds: vec![
                    second(0, 900, 210.0, true),
                    second(1, 1_200, 250.0, false),
                    second(2, 1_190, 240.0, false),
                ],
            },
            nodes: vec![Usage {
                name: "http://127.0.0.1:9250".into(),
                readings: 3,
                cores: Some(1.25),
                resident_peak_bytes: Some(300.0 * 1024.0 * 1024.0),
                resident_last_bytes: Some(290.5 * 1024.0 * 1024.0),
            }],
            bench: Usage {
                name: "vchain-bench".into(),
                readings: 2,
                cores: Some(0.5),
                resident_peak_bytes: Some(50.0 * 1024.0 * 1024.0),
                resident_last_bytes: Some(50.0 * 1024.0 * 1024.0),
            },
            ceiling: Some(Ceiling {
                verify_single_per_s: 20_000.0,
                verify_batch_per_s: 40_000.0,
                sha256_mib_per_s: 1_700.0,
                sha256_small_per_s: 8_000_000.0,
                rocksdb_synced_batches_per_s: 8_000.0,
                cores: 2,
            }),
            machine: "Test CPU, 2 cores".into(),
        }
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(999.4), "999");
        assert_eq!(number(1_000.0), "1,000");
        assert_eq!(number(1_234_567.8), "1,234,568");
        assert_eq!(number(-2_500.0), "-2,500");
        assert_eq!(number(f64::NAN), "-");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1_190.0), 2_000.0);
        assert_eq!(nice_ceiling(250.0), 500.0);
        assert_eq!(nice_ceiling(4_900.0), 5_000.0);
        assert_eq!(nice_ceiling(5_001.0), 10_000.0);
    }

    #[test]
    fn the_markdown_report_of_a_fixed_run() {
        let text = markdown(&fixed());
        let expected_lines = [
            "# vchain-bench: transfer workload",
            "| mode | fixed rate, 1,500 transactions/s offered |",
            "| in flight per account | 4 |",
            "| duration | 2 s measured after 1 s of warm-up (figures divide by 2.0 s: until the last measured answer) |",
            "| 1,195 | 2400 | 2390 | 10 | 0 | 0 | 120.0 ms | 180.5 ms | 190.0 ms | 250.3 ms | 301.0 ms |",
            "Offered 1,500 transactions/s, sent 1,200 transactions/s in the measured window (42 sends started more than 100 ms late): **the offered rate was NOT achieved** (every in-flight slot was busy: more accounts or --in-flight, or a lower rate).",
            "| ed25519 verify, batches of 1000, one core | 40000 |",
            "Committed transactions/s as a share of the ed25519 batch-verification ceiling on every core (80,000 /s): **1.5%**.",
            "| http://127.0.0.1:9250 | 3 | 1.25 | 300.0 MiB | 290.5 MiB |",
            "| vchain-bench | 2 | 0.50 | 50.0 MiB | 50.0 MiB |",
            "| 0 | 900 | 0 | 210.0 ms | warm-up |",
            "| 2 | 1190 | 0 | 240.0 ms |  |",
        ];
        for line in expected_lines {
            assert!(
                text.lines().any(|l| l == line),
                "missing line {line:?} in:\n{text}"
            );
        }
        assert!(!text.contains("No node was read"));
    }

    #[test]
    fn the_chart_of_a_fixed_run() {
        let text = svg(&fixed());
        assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(text.ends_with("</svg>\n"));
        // One bar per second, the tallest (1,200 of an axis to 2,000) at 60% of the plot.
        let bars: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("fill=\"#5b8fd0\""))
            .collect();
        assert_eq!(bars.len(), 3);
        let plot_height = HEIGHT - TOP - BOTTOM;
        let tallest = format!("height=\"{:.1}\"", plot_height * 0.6);
        assert!(bars[1].contains(&tallest), "{}", bars[1]);
        // The p99 line through three points, 250 ms at half of a 500 ms axis.
        let line = text
            .lines()
            .find(|l| l.starts_with("<polyline"))
            .expect("a p99 line");
        assert_eq!(line.matches(',').count(), 3, "{line}");
        assert!(
            line.contains(&format!(",{:.1}", TOP + plot_height * 0.5)),
            "{line}"
        );
        // The warm-up's one second shaded, axes labelled.
        assert!(text.contains(">warm-up</text>"));
        assert!(text.contains(">2,000</text>") && text.contains(">500</text>"));
        assert!(text.contains("vchain-bench transfer: 200 accounts x 4 in flight"));
        // Balanced tags: every opened element is closed or self-closing.
        let opened = text.matches("<text").count();
        assert_eq!(opened, text.matches("</text>").count());
    }

    #[test]
    fn text_in_the_chart_is_escaped() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
    }
}
