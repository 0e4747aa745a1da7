//! The push pipeline's metrics: notifications sent, failed, retried, devices
//! deactivated, the outbox's depth and the providers' answer time, each
//! labelled by provider where it applies.

use std::time::Duration;

use entity::enums::PushProvider;

use super::SendOutcome;

/// Label value of a provider.
fn label(provider: PushProvider) -> &'static str {
    match provider {
        PushProvider::Apns => "apns",
        PushProvider::Expo => "expo",
    }
}

/// Counts one provider outcome; `final_attempt` turns a retry into a failure.
pub fn outcome(provider: PushProvider, outcome: &SendOutcome, final_attempt: bool) {
    let provider = label(provider);
    let name = match outcome {
        SendOutcome::Sent { .. } => "fieldsync_push_sent_total",
        SendOutcome::Retry { .. } if !final_attempt => "fieldsync_push_retried_total",
        SendOutcome::Retry { .. } | SendOutcome::Failed { .. } => "fieldsync_push_failed_total",
        SendOutcome::DeadToken { .. } => {
            metrics::counter!("fieldsync_push_deactivated_total", "provider" => provider)
                .increment(1);
            "fieldsync_push_failed_total"
        }
    };
    metrics::counter!(name, "provider" => provider).increment(1);
}

/// How long one provider request (a batch) took to answer.
pub fn send_latency(provider: PushProvider, elapsed: Duration) {
    metrics::histogram!("fieldsync_push_send_seconds", "provider" => label(provider))
        .record(elapsed.as_secs_f64());
}

/// Notifications waiting or in flight.
pub fn queue_depth(depth: u64) {
    metrics::gauge!("fieldsync_push_queue_depth").set(depth as f64);
}
