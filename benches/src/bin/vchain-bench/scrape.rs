//! CPU and memory of the nodes under load (their Prometheus metrics) and of the bench itself.
//!
//! `--metrics-endpoints` names each node's metrics listener (`[metrics] listen` in its config;
//! docs/operations.md). The bench reads `/metrics` there once a second through the measured
//! window, from the warm-up's end until the load has settled: `vchain_cpu_seconds` (process CPU
//! time) and `vchain_resident_memory_bytes`. A node's cores in use are its CPU time's rise over
//! the wall time between the first and last reading; its memory the highest and the last
//! reading. The bench's own CPU time comes from its `/proc/self/stat`, read the same way the
//! node reads its own.
//!
//! HTTP here is one `GET` over a plain TCP connection with HTTP/1.0 (the answer ends when the
//! connection closes), so the bench needs no HTTP client crate. Owns: the scraping and the
//! arithmetic. Must not depend on: the load.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest one scrape may take (connect, ask, read).
pub(crate) const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// Time between two readings of every node.
pub(crate) const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);
/// Largest metrics answer read (a node's is a few tens of KiB).
const SCRAPE_BYTES_MAX: u64 = 8 << 20;
/// The gauge of a node's CPU time (node/src/metrics.rs).
pub(crate) const CPU_METRIC: &str = "vchain_cpu_seconds";
/// The gauge of a node's resident memory.
pub(crate) const RESIDENT_METRIC: &str = "vchain_resident_memory_bytes";
/// Clock ticks per second of `/proc`'s CPU times (Linux's `USER_HZ`, 100 on x86_64 and
/// aarch64; the node reads its own the same way).
const PROC_TICKS_PER_SECOND: f64 = 100.0;

/// One reading of one process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reading {
    /// When it was taken.
    pub(crate) at: Instant,
    /// CPU seconds since the process started, if it said.
    pub(crate) cpu_seconds: Option<f64>,
    /// Resident bytes, if it said.
    pub(crate) resident_bytes: Option<f64>,
}

/// What one process used over the measured window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Usage {
    /// Whose: a metrics endpoint, or "vchain-bench".
    pub(crate) name: String,
    /// Readings taken (a node unreachable for a while has fewer).
    pub(crate) readings: usize,
    /// Cores kept busy on average: CPU time over wall time between the first and last reading.
    pub(crate) cores: Option<f64>,
    /// Highest resident memory read, bytes.
    pub(crate) resident_peak_bytes: Option<f64>,
    /// Last resident memory read, bytes.
    pub(crate) resident_last_bytes: Option<f64>,
}

/// The value of the sample named `name` (no labels) in Prometheus or OpenMetrics text.
pub(crate) fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (metric, value) = line.split_once(' ')?;
            (metric == name).then(|| value.split_whitespace().next()?.parse().ok())?
        })
}

/// The CPU seconds of one `/proc/<pid>/stat` line: fields 14 and 15 (utime, stime), counted
/// after the command name, which may hold spaces.
pub(crate) fn cpu_seconds_of_stat(stat: &str) -> Option<f64> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(14 - 3)?.parse().ok()?;
    let system: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(user.checked_add(system)? as f64 / PROC_TICKS_PER_SECOND)
}

/// A reading of this process (the bench).
pub(crate) fn own_reading() -> Reading {
    let cpu_seconds = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| cpu_seconds_of_stat(&stat));
    let resident_bytes = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024.0)
        });
    Reading {
        at: Instant::now(),
        cpu_seconds,
        resident_bytes,
    }
}

/// `(host:port, path)` of an `http://host:port[/path]` endpoint; the path defaults to
/// `/metrics`.
pub(crate) fn split_endpoint(endpoint: &str) -> anyhow::Result<(String, String)> {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        bail!("metrics endpoint {endpoint:?} is not http://host:port");
    };
    let (address, path) = match rest.find('/') {
        Some(at) if at + 1 < rest.len() => (&rest[..at], &rest[at..]),
        Some(at) => (&rest[..at], "/metrics"),
        None => (rest, "/metrics"),
    };
    if address.is_empty() {
        bail!("metrics endpoint {endpoint:?} names no host");
    }
    Ok((address.to_owned(), path.to_owned()))
}

/// Reads `endpoint`'s metrics now.
pub(crate) async fn scrape(endpoint: &str) -> anyhow::Result<Reading> {
    let (address, path) = split_endpoint(endpoint)?;
    let text = tokio::time::timeout(SCRAPE_TIMEOUT, get(&address, &path))
        .await
        .with_context(|| format!("{endpoint}: no answer within {SCRAPE_TIMEOUT:?}"))??;
    Ok(Reading {
        at: Instant::now(),
        cpu_seconds: sample(&text, CPU_METRIC),
        resident_bytes: sample(&text, RESIDENT_METRIC),
    })
}

/// The body of `GET path` from `address`, over HTTP/1.0.
async fn get(address: &str, path: &str) -> anyhow::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("connecting to {address}"))?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream
        .take(SCRAPE_BYTES_MAX)
        .read_to_end(&mut answer)
        .await?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .with_context(|| format!("{address}{path}: not an HTTP answer"))?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        bail!("{address}{path} answered {status:?}");
    }
    Ok(body.to_owned())
}

/// What `readings` (in time order) say about one process.
pub(crate) fn usage(name: &str, readings: &[Reading]) -> Usage {
    let cpu: Vec<(Instant, f64)> = readings
        .iter()
        .filter_map(|r| Some((r.at, r.cpu_seconds?)))
        .collect();
    let cores = match (cpu.first(), cpu.last()) {
        (Some((from, first)), Some((to, last))) if to > from => {
            Some((last - first) / (*to - *from).as_secs_f64())
        }
        _ => None,
    };
    let resident: Vec<f64> = readings.iter().filter_map(|r| r.resident_bytes).collect();
    Usage {
        name: name.to_owned(),
        readings: readings.len(),
        cores,
        resident_peak_bytes: resident.iter().copied().reduce(f64::max),
        resident_last_bytes: resident.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_found_by_exact_name() {
        let text = "# HELP vchain_cpu_seconds CPU time\n\
                    # TYPE vchain_cpu_seconds gauge\n\
                    vchain_cpu_seconds 12.5\n\
                    vchain_cpu_seconds_other 99\n\
                    vchain_resident_memory_bytes 104857600\n\
                    vchain_admissions_total{outcome=\"admitted\"} 7\n\
                    # EOF\n";
        assert_eq!(sample(text, CPU_METRIC), Some(12.5));
        assert_eq!(sample(text, RESIDENT_METRIC), Some(104_857_600.0));
        assert_eq!(sample(text, "vchain_height"), None);
    }

    #[test]
    fn the_stat_line_is_read_after_the_command_name() {
        let stat = "77 (vchain bench) R 1 77 77 0 -1 0 0 0 0 0 1234 66 0 0 20 0 12 0 5 0 0";
        assert_eq!(cpu_seconds_of_stat(stat), Some(13.0));
        assert_eq!(cpu_seconds_of_stat("77 (x) R"), None);
        let own = own_reading();
        assert!(own.cpu_seconds.is_some() && own.resident_bytes.is_some());
    }

    #[test]
    fn endpoints_name_an_address_and_a_path() {
        let split = |e| split_endpoint(e).expect(e);
        assert_eq!(
            split("http://127.0.0.1:9100"),
            ("127.0.0.1:9100".into(), "/metrics".into())
        );
        assert_eq!(
            split("http://127.0.0.1:9100/"),
            ("127.0.0.1:9100".into(), "/metrics".into())
        );
        assert_eq!(
            split("http://localhost:9100/custom"),
            ("localhost:9100".into(), "/custom".into())
        );
        assert!(split_endpoint("https://127.0.0.1:9100").is_err());
        assert!(split_endpoint("http://").is_err());
    }

    #[test]
    fn usage_is_cpu_over_wall_time_and_the_memory_peak() {
        let start = Instant::now();
        let reading = |secs: u64, cpu: Option<f64>, resident: Option<f64>| Reading {
            at: start + Duration::from_secs(secs),
            cpu_seconds: cpu,
            resident_bytes: resident,
        };
        let readings = [
            reading(0, Some(10.0), Some(100.0)),
            reading(1, None, Some(300.0)),
            reading(4, Some(16.0), Some(200.0)),
        ];
        let usage = usage("node", &readings);
        assert_eq!(usage.cores, Some(1.5));
        assert_eq!(usage.resident_peak_bytes, Some(300.0));
        assert_eq!(usage.resident_last_bytes, Some(200.0));
        assert_eq!(usage.readings, 3);
        // One reading gives no rate.
        assert_eq!(super::usage("node", &readings[..1]).cores, None);
        assert_eq!(super::usage("node", &[]).resident_peak_bytes, None);
    }
}
