//! The keeper's metrics, rendered in the Prometheus text exposition format (version 0.0.4)
//! and served on `GET /metrics` or written to a file.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `keeper_crank_success_total` | counter | `crank` |
//! | `keeper_crank_failure_total` | counter | `crank` |
//! | `keeper_lag_seconds` | gauge | `crank`: how far behind its schedule the crank's work is |
//! | `keeper_oracle_age_seconds` | gauge | `market` |
//! | `keeper_insurance_fund` | gauge | none; collateral native units |
//! | `keeper_open_interest_lots` | gauge | `market` |
//!
//! [`Metrics`] is a cheap handle (`Arc<Mutex<..>>`): clone it into every loop.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::MetricsTarget;

#[derive(Debug, Default, Clone, PartialEq)]
struct State {
    crank_success: BTreeMap<String, u64>,
    crank_failure: BTreeMap<String, u64>,
    lag_seconds: BTreeMap<String, f64>,
    oracle_age_seconds: BTreeMap<String, f64>,
    open_interest_lots: BTreeMap<String, u64>,
    insurance_fund: Option<u64>,
}

/// Thread-safe registry of the keeper's counters and gauges.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    state: Arc<Mutex<State>>,
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

fn family<V: Copy>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    samples: &BTreeMap<String, V>,
    fmt: impl Fn(V) -> String,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (k, v) in samples {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {}", escape_label(k), fmt(*v));
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // A panic elsewhere while holding the lock leaves plain numbers: keep going.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    pub fn crank_succeeded(&self, crank: &str) {
        self.with(|s| *s.crank_success.entry(crank.into()).or_default() += 1);
    }

    pub fn crank_failed(&self, crank: &str) {
        self.with(|s| *s.crank_failure.entry(crank.into()).or_default() += 1);
    }

    /// Counts `result` as a success or a failure of `crank`.
    pub fn record<T, E>(&self, crank: &str, result: &Result<T, E>) {
        match result {
            Ok(_) => self.crank_succeeded(crank),
            Err(_) => self.crank_failed(crank),
        }
    }

    /// `(successes, failures)` of `crank` so far.
    pub fn crank_counts(&self, crank: &str) -> (u64, u64) {
        self.with(|s| {
            (s.crank_success.get(crank).copied().unwrap_or(0), s.crank_failure.get(crank).copied().unwrap_or(0))
        })
    }

    pub fn set_lag(&self, crank: &str, seconds: f64) {
        self.with(|s| s.lag_seconds.insert(crank.into(), seconds));
    }

    pub fn set_oracle_age(&self, market: &str, seconds: f64) {
        self.with(|s| s.oracle_age_seconds.insert(market.into(), seconds));
    }

    /// The exchange's insurance fund, collateral native units.
    pub fn set_insurance_fund(&self, native: u64) {
        self.with(|s| s.insurance_fund = Some(native));
    }

    pub fn set_open_interest(&self, market: &str, lots: u64) {
        self.with(|s| s.open_interest_lots.insert(market.into(), lots));
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let s = self.with(|s| s.clone());
        let mut out = String::new();
        let int = |v: u64| v.to_string();
        family(
            &mut out,
            "keeper_crank_success_total",
            "counter",
            "Crank transactions that succeeded.",
            "crank",
            &s.crank_success,
            int,
        );
        family(
            &mut out,
            "keeper_crank_failure_total",
            "counter",
            "Crank transactions that failed.",
            "crank",
            &s.crank_failure,
            int,
        );
        family(
            &mut out,
            "keeper_lag_seconds",
            "gauge",
            "How far behind its schedule each crank is, in seconds.",
            "crank",
            &s.lag_seconds,
            format_value,
        );
        family(
            &mut out,
            "keeper_oracle_age_seconds",
            "gauge",
            "Age of each market's oracle price, in seconds.",
            "market",
            &s.oracle_age_seconds,
            format_value,
        );
        let _ = writeln!(out, "# HELP keeper_insurance_fund Insurance fund balance, collateral native units.");
        let _ = writeln!(out, "# TYPE keeper_insurance_fund gauge");
        if let Some(v) = s.insurance_fund {
            let _ = writeln!(out, "keeper_insurance_fund {v}");
        }
        family(
            &mut out,
            "keeper_open_interest_lots",
            "gauge",
            "Open interest of each market, in base lots.",
            "market",
            &s.open_interest_lots,
            int,
        );
        out
    }

    /// Writes [`Metrics::render`] to `path` atomically (a temporary file, then a rename).
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, self.render())?;
        std::fs::rename(&tmp, path)
    }

    /// Rewrites `path` every `interval` until the task is aborted.
    pub fn spawn_file_writer(&self, path: PathBuf, interval: Duration) -> JoinHandle<()> {
        let metrics = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
            loop {
                tick.tick().await;
                if let Err(e) = metrics.write_file(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "writing metrics");
                }
            }
        })
    }

    /// Serves `GET /metrics` on `addr` (port 0: any free port) until the returned server
    /// is shut down or dropped.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let metrics = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), respond(stream, &metrics)).await;
                });
            }
        });
        Ok(MetricsServer { addr, task })
    }

    /// Starts the export `target` asks for.
    pub async fn export(&self, target: &MetricsTarget, write_interval: Duration) -> std::io::Result<Exporter> {
        Ok(match target {
            MetricsTarget::Listen(addr) => Exporter::Server(self.serve(*addr).await?),
            MetricsTarget::File(path) => Exporter::File(self.spawn_file_writer(path.clone(), write_interval)),
        })
    }
}

/// A running metrics export; stops when dropped.
pub enum Exporter {
    Server(MetricsServer),
    File(JoinHandle<()>),
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Exporter::File(h) = self {
            h.abort();
        }
    }
}

/// The `GET /metrics` responder; stops when dropped.
pub struct MetricsServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    pub fn shutdown(self) {}
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One request per connection: `GET /metrics` gets the text, anything else a 404.
async fn respond(mut stream: tokio::net::TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let request_line = String::from_utf8_lossy(&buf).lines().next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET", "/metrics") | ("HEAD", "/metrics") => ("200 OK", metrics.render()),
        ("GET", "/") => ("200 OK", "keeper metrics: GET /metrics\n".to_string()),
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metrics {
        let m = Metrics::new();
        m.crank_succeeded("funding");
        m.crank_succeeded("funding");
        m.record::<(), ()>("risk", &Err(()));
        m.record::<(), ()>("mark", &Ok(()));
        m.set_lag("funding", 1.5);
        m.set_oracle_age("SOL-PERP", 3.0);
        m.set_insurance_fund(1_000_000);
        m.set_open_interest("SOL-PERP", 42);
        m.set_open_interest("BTC-PERP", 7);
        m
    }

    #[test]
    fn renders_the_exposition_format() {
        let expected = "\
# HELP keeper_crank_success_total Crank transactions that succeeded.
# TYPE keeper_crank_success_total counter
keeper_crank_success_total{crank=\"funding\"} 2
keeper_crank_success_total{crank=\"mark\"} 1
# HELP keeper_crank_failure_total Crank transactions that failed.
# TYPE keeper_crank_failure_total counter
keeper_crank_failure_total{crank=\"risk\"} 1
# HELP keeper_lag_seconds How far behind its schedule each crank is, in seconds.
# TYPE keeper_lag_seconds gauge
keeper_lag_seconds{crank=\"funding\"} 1.5
# HELP keeper_oracle_age_seconds Age of each market's oracle price, in seconds.
# TYPE keeper_oracle_age_seconds gauge
keeper_oracle_age_seconds{market=\"SOL-PERP\"} 3
# HELP keeper_insurance_fund Insurance fund balance, collateral native units.
# TYPE keeper_insurance_fund gauge
keeper_insurance_fund 1000000
# HELP keeper_open_interest_lots Open interest of each market, in base lots.
# TYPE keeper_open_interest_lots gauge
keeper_open_interest_lots{market=\"BTC-PERP\"} 7
keeper_open_interest_lots{market=\"SOL-PERP\"} 42
";
        assert_eq!(sample().render(), expected);
        assert_eq!(sample().crank_counts("funding"), (2, 0));
        assert_eq!(sample().crank_counts("risk"), (0, 1));
    }

    #[test]
    fn every_sample_line_is_well_formed() {
        let text = sample().render();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name_labels, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = name_labels.split('{').next().unwrap();
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
        }
    }

    #[test]
    fn escapes_labels_and_special_values() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(
            (format_value(f64::INFINITY), format_value(f64::NEG_INFINITY), format_value(f64::NAN)),
            ("+Inf".into(), "-Inf".into(), "NaN".into())
        );
        let m = Metrics::new();
        m.set_oracle_age("X\"Y", 0.25);
        assert!(m.render().contains("keeper_oracle_age_seconds{market=\"X\\\"Y\"} 0.25\n"));
        let empty = Metrics::new().render();
        assert!(empty.lines().all(|l| l.starts_with('#')), "no samples before anything is recorded");
    }

    #[test]
    fn shared_across_threads() {
        let m = Metrics::new();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| m.crank_succeeded("risk")))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(m.crank_counts("risk"), (4000, 0));
    }

    #[test]
    fn writes_a_file() {
        let path = std::env::temp_dir().join(format!("keeper-metrics-{}.prom", std::process::id()));
        sample().write_file(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), sample().render());
        std::fs::remove_file(path).ok();
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_get_metrics() {
        let m = sample();
        let server = m.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let response = tokio::time::timeout(Duration::from_secs(10), get(server.addr, "/metrics")).await.unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("text/plain; version=0.0.4"));
        assert_eq!(body, m.render());
        // Later changes show on the next scrape.
        m.crank_failed("funding");
        let again = get(server.addr, "/metrics").await;
        assert!(again.contains("keeper_crank_failure_total{crank=\"funding\"} 1\n"));
        assert!(get(server.addr, "/nope").await.starts_with("HTTP/1.1 404"));
        server.shutdown();
    }
}
