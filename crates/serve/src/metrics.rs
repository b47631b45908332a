//! Counters and a latency histogram, rendered in Prometheus' text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use super::runlog::Health;

/// Upper bounds of the action latency buckets, in microseconds.
const BUCKETS_US: [u64; 12] = [
    1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

const ACTION_KINDS: [&str; 4] = ["email", "update", "retrieve", "refund"];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        for (bound, bucket) in BUCKETS_US.iter().zip(&self.buckets) {
            if us <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// Everything `/metrics` shows. Counters count since the server started.
#[derive(Default)]
pub struct Metrics {
    pub events_received: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub rejected_signature: AtomicU64,
    pub rejected_malformed: AtomicU64,
    pub runs_succeeded: AtomicU64,
    pub runs_failed: AtomicU64,
    pub runs_skipped: AtomicU64,
    /// Runs picked up again after their attempt was interrupted: by a restart, or by
    /// a run log that could not be written.
    pub runs_resumed: AtomicU64,
    /// Actions answered from the run log instead of being carried out again.
    pub actions_replayed: AtomicU64,
    pub reloads: AtomicU64,
    pub reloads_refused: AtomicU64,
    /// Whether the run log can be written, as its writer found it.
    run_log: Arc<Health>,
    latency: [Histogram; ACTION_KINDS.len()],
}

/// Gauges read when rendering.
pub struct Gauges {
    pub runs_queued: usize,
    pub runs_in_flight: usize,
    /// Runs stopped at a `wait`, waiting for it to end.
    pub runs_waiting: usize,
    pub workflows_loaded: usize,
}

impl Metrics {
    /// Metrics that report the state of the run log written by `run_log`'s writer.
    pub fn with_run_log(run_log: Arc<Health>) -> Metrics {
        Metrics {
            run_log,
            ..Metrics::default()
        }
    }

    /// Why the run log cannot be written now (a full disk…); `None` while it can.
    pub fn run_log_degraded(&self) -> Option<String> {
        self.run_log.fault()
    }

    pub fn observe_action(&self, kind: &str, d: Duration) {
        if let Some(i) = ACTION_KINDS.iter().position(|k| *k == kind) {
            self.latency[i].observe(d);
        }
    }

    pub fn count_run(&self, status: &str) {
        match status {
            "succeeded" => self.runs_succeeded.fetch_add(1, Relaxed),
            "failed" => self.runs_failed.fetch_add(1, Relaxed),
            _ => self.runs_skipped.fetch_add(1, Relaxed),
        };
    }

    pub fn render(&self, g: &Gauges) -> String {
        let mut o = String::new();
        let counter = |o: &mut String, name: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, v) in rows {
                let _ = writeln!(o, "{name}{labels} {v}");
            }
        };
        let gauge = |o: &mut String, name: &str, help: &str, v: usize| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        counter(
            &mut o,
            "flow_events_received_total",
            "Webhook events accepted and recorded (first deliveries).",
            &[("", self.events_received.load(Relaxed))],
        );
        counter(
            &mut o,
            "flow_events_duplicate_total",
            "Redeliveries of an event already recorded (acknowledged, not run again).",
            &[("", self.events_duplicate.load(Relaxed))],
        );
        counter(
            &mut o,
            "flow_events_rejected_total",
            "Webhook requests refused, by reason; nothing was recorded.",
            &[
                (
                    "{reason=\"signature\"}",
                    self.rejected_signature.load(Relaxed),
                ),
                (
                    "{reason=\"malformed\"}",
                    self.rejected_malformed.load(Relaxed),
                ),
            ],
        );
        counter(
            &mut o,
            "flow_runs_total",
            "Runs finished, by status.",
            &[
                ("{status=\"succeeded\"}", self.runs_succeeded.load(Relaxed)),
                ("{status=\"failed\"}", self.runs_failed.load(Relaxed)),
                ("{status=\"skipped\"}", self.runs_skipped.load(Relaxed)),
            ],
        );
        counter(
            &mut o,
            "flow_runs_resumed_total",
            "Runs picked up again after an interrupted attempt (a restart, a run log that could not be written).",
            &[("", self.runs_resumed.load(Relaxed))],
        );
        counter(
            &mut o,
            "flow_actions_replayed_total",
            "Actions answered from the run log instead of being carried out again.",
            &[("", self.actions_replayed.load(Relaxed))],
        );
        counter(
            &mut o,
            "flow_reloads_total",
            "Reloads of the flow files, by outcome.",
            &[
                ("{outcome=\"loaded\"}", self.reloads.load(Relaxed)),
                ("{outcome=\"refused\"}", self.reloads_refused.load(Relaxed)),
            ],
        );
        gauge(
            &mut o,
            "flow_runs_queued",
            "Runs recorded and waiting for a worker.",
            g.runs_queued,
        );
        gauge(
            &mut o,
            "flow_runs_in_flight",
            "Runs being executed now.",
            g.runs_in_flight,
        );
        gauge(
            &mut o,
            "flow_runs_waiting",
            "Runs stopped at a `wait`, going on when it ends.",
            g.runs_waiting,
        );
        gauge(
            &mut o,
            "flow_workflows_loaded",
            "Workflows loaded from the flow files.",
            g.workflows_loaded,
        );
        gauge(
            &mut o,
            "flow_run_log_degraded",
            "1 while the run log cannot be written (events are refused, runs wait); see /healthz for why.",
            usize::from(self.run_log_degraded().is_some()),
        );
        let name = "flow_action_duration_seconds";
        let _ = writeln!(
            o,
            "# HELP {name} Time the bindings took to carry out an action, by action.\n# TYPE {name} histogram"
        );
        for (kind, h) in ACTION_KINDS.iter().zip(&self.latency) {
            for (bound, bucket) in BUCKETS_US.iter().zip(&h.buckets) {
                let _ = writeln!(
                    o,
                    "{name}_bucket{{action=\"{kind}\",le=\"{}\"}} {}",
                    seconds(*bound),
                    bucket.load(Relaxed)
                );
            }
            let count = h.count.load(Relaxed);
            let _ = writeln!(o, "{name}_bucket{{action=\"{kind}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                o,
                "{name}_sum{{action=\"{kind}\"}} {}",
                seconds(h.sum_us.load(Relaxed))
            );
            let _ = writeln!(o, "{name}_count{{action=\"{kind}\"}} {count}");
        }
        o
    }
}

/// Microseconds as decimal seconds, without floating point: `0.025`, `1.5`, `10`.
fn seconds(us: u64) -> String {
    let whole = us / 1_000_000;
    let frac = us % 1_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_histogram() {
        let m = Metrics::default();
        m.observe_action("update", Duration::from_millis(30));
        m.observe_action("update", Duration::from_millis(3));
        let text = m.render(&Gauges {
            runs_queued: 0,
            runs_in_flight: 0,
            runs_waiting: 0,
            workflows_loaded: 1,
        });
        assert!(
            text.contains("flow_action_duration_seconds_bucket{action=\"update\",le=\"0.005\"} 1")
        );
        assert!(
            text.contains("flow_action_duration_seconds_bucket{action=\"update\",le=\"0.05\"} 2")
        );
        assert!(text.contains("flow_action_duration_seconds_count{action=\"update\"} 2"));
        assert!(text.contains("flow_action_duration_seconds_sum{action=\"update\"} 0.033"));
        assert_eq!(seconds(2_500_000), "2.5");
    }
}
