//! The figures a run produces, and how they print.

use std::fmt;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    /// Samples.
    pub count: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of microsecond samples (sorted in place).
    pub fn of_micros(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let index = ((samples.len() - 1) as f64 * p).round() as usize;
            f64::from(samples[index]) / 1000.0
        };
        Self {
            count: samples.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Subscribers asked for.
    pub subscribers: usize,
    /// Subscribers whose first socket subscribed.
    pub connected: usize,
    /// Sockets open when the run ended.
    pub connections_held: usize,
    /// Seconds until every subscriber had connected (or given up).
    pub connect_secs: f64,
    /// Subscribers that gave up.
    pub gave_up: usize,
    /// Subscribers that see every task change (administrator `changes`),
    /// the ones whose skipped versions count as gaps.
    pub gap_checked: usize,
    /// Seconds of the measured phase (`--duration`).
    pub duration_secs: f64,
    /// Mutations sent / failed / skipped (rate not reached).
    pub mutations_sent: u64,
    /// Mutations answered with an error.
    pub mutations_failed: u64,
    /// Mutation ticks skipped while the in-flight limit was reached.
    pub mutations_skipped: u64,
    /// HTTP round trip of the mutations.
    pub mutation_latency: Percentiles,
    /// Events received by all subscribers during the measured phase.
    pub events: u64,
    /// `events / duration_secs`.
    pub events_per_sec: f64,
    /// Mutation sent → event received.
    pub latency: Percentiles,
    /// Versions never received (complete subscribers only).
    pub gaps: u64,
    /// Versions received more than once.
    pub duplicates: u64,
    /// Protocol errors (the only failures that make the run fail).
    pub protocol_errors: u64,
    /// TCP or handshake failures, retried.
    pub connect_failures: u64,
    /// Closes 1013 (slow consumer), each followed by a resume.
    pub slow_closes: u64,
    /// Sockets lost without a close, each followed by a resume.
    pub lost: u64,
    /// With `--reconnect-storm`: sockets dropped, and seconds until all
    /// had resumed.
    pub storm: Option<Storm>,
    /// Server RSS before any subscriber connected, in KiB.
    pub rss_before_kib: Option<u64>,
    /// Server RSS with every subscriber connected and idle, in KiB.
    pub rss_connected_kib: Option<u64>,
    /// Server RSS at the end of the measured phase, in KiB.
    pub rss_after_kib: Option<u64>,
}

/// The reconnect storm's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Storm {
    /// Sockets dropped at once.
    pub dropped: usize,
    /// Sockets re-opened and subscribed.
    pub resumed: usize,
    /// Seconds from the drop until the last had resumed (`None`: not all did).
    pub recovery_secs: Option<f64>,
}

impl Report {
    /// (RSS connected − RSS before) / connections, in bytes.
    pub fn bytes_per_connection(&self) -> Option<u64> {
        let (before, with) = (self.rss_before_kib?, self.rss_connected_kib?);
        (self.connected > 0).then(|| with.saturating_sub(before) * 1024 / self.connected as u64)
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn ms(p: &Percentiles) -> String {
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        p.p50, p.p95, p.p99, p.max, p.count
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "subscribers         {} asked, {} connected in {:.1} s, {} gave up",
            self.subscribers, self.connected, self.connect_secs, self.gave_up
        )?;
        writeln!(
            f,
            "connections held    {} at the end",
            self.connections_held
        )?;
        writeln!(
            f,
            "mutations           {} sent, {} failed, {} skipped in {:.0} s",
            self.mutations_sent, self.mutations_failed, self.mutations_skipped, self.duration_secs
        )?;
        writeln!(f, "mutation round trip {}", ms(&self.mutation_latency))?;
        writeln!(
            f,
            "events delivered    {} ({:.0}/s)",
            self.events, self.events_per_sec
        )?;
        writeln!(f, "end-to-end latency  {}", ms(&self.latency))?;
        writeln!(
            f,
            "gaps                {} (over {} subscribers seeing every change)",
            self.gaps, self.gap_checked
        )?;
        writeln!(f, "duplicates          {}", self.duplicates)?;
        writeln!(f, "protocol errors     {}", self.protocol_errors)?;
        writeln!(
            f,
            "connect failures    {} (retried); 1013 closes {}; lost sockets {}",
            self.connect_failures, self.slow_closes, self.lost
        )?;
        if let Some(storm) = &self.storm {
            let recovery = storm.recovery_secs.map_or_else(
                || "not all resumed".into(),
                |s| format!("all resumed in {s:.2} s"),
            );
            writeln!(
                f,
                "reconnect storm     {} dropped, {} resumed, {recovery}",
                storm.dropped, storm.resumed
            )?;
        }
        writeln!(
            f,
            "server RSS          before {}, connected {}, after {}",
            mib(self.rss_before_kib),
            mib(self.rss_connected_kib),
            mib(self.rss_after_kib)
        )?;
        match self.bytes_per_connection() {
            Some(bytes) => writeln!(f, "per connection      {:.1} KiB", bytes as f64 / 1024.0),
            None => writeln!(f, "per connection      n/a (pass --server-pid)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let p = Percentiles::of_micros(&mut samples);
        assert_eq!((p.count, p.p50, p.p99, p.max), (100, 51.0, 99.0, 100.0));
        assert_eq!(Percentiles::of_micros(&mut []), Percentiles::default());
    }

    #[test]
    fn memory_per_connection_is_the_growth_over_the_connections() {
        let report = Report {
            connected: 1000,
            rss_before_kib: Some(20_000),
            rss_connected_kib: Some(30_000),
            ..Report::default()
        };
        assert_eq!(report.bytes_per_connection(), Some(10_240));
    }
}
