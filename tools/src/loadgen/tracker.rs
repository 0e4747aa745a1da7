//! What one subscriber saw: events, end-to-end latencies, duplicates and
//! gaps, judged by each entity's version (every write bumps it by one).

use std::collections::HashMap;
use std::time::Duration;

/// One subscriber's tally.
#[derive(Debug, Default)]
pub struct Tracker {
    /// The last version seen of each entity, by global id.
    seen: HashMap<String, i32>,
    /// The subscriber sees every change of its entities (an administrator's
    /// `changes`): only then is a skipped version a gap. Others' filters
    /// legitimately skip versions.
    complete: bool,
    /// Events received (tombstones included).
    pub events: u64,
    /// Events of a version already seen (or older than one seen).
    pub duplicates: u64,
    /// Versions never received, for complete subscribers.
    pub gaps: u64,
    /// Mutation sent → event received, in microseconds, for events the load
    /// generator's own mutations caused.
    pub latencies_us: Vec<u32>,
}

impl Tracker {
    /// A tracker for a subscriber that sees everything (`complete`) starting
    /// from `baseline` versions, or only some changes (empty baseline).
    pub fn new(complete: bool, baseline: HashMap<String, i32>) -> Self {
        Self {
            seen: baseline,
            complete,
            ..Self::default()
        }
    }

    /// Whether skipped versions count as gaps.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Records an event of `entity` at `version`.
    pub fn record(
        &mut self,
        entity: &str,
        version: i32,
        tombstone: bool,
        latency: Option<Duration>,
    ) {
        self.events += 1;
        if let Some(latency) = latency {
            self.latencies_us
                .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        }
        // A tombstone of an entity leaving the view carries version 0.
        if tombstone && version == 0 {
            return;
        }
        match self.seen.get_mut(entity) {
            Some(last) if version <= *last => self.duplicates += 1,
            Some(last) => {
                if self.complete {
                    self.gaps += (version - *last - 1) as u64;
                }
                *last = version;
            }
            None => {
                self.seen.insert(entity.to_owned(), version);
            }
        }
    }

    /// At the end: every version below `finals` (the last versions the
    /// writes produced) not received counts as a gap.
    pub fn finish(&mut self, finals: &HashMap<String, i32>) {
        if !self.complete {
            return;
        }
        for (entity, last_written) in finals {
            let last_seen = self.seen.get(entity).copied().unwrap_or(0);
            if *last_written > last_seen {
                self.gaps += (*last_written - last_seen) as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> HashMap<String, i32> {
        HashMap::from([("t1".to_owned(), 3), ("t2".to_owned(), 1)])
    }

    #[test]
    fn consecutive_versions_are_neither_gaps_nor_duplicates() {
        let mut tracker = Tracker::new(true, baseline());
        tracker.record("t1", 4, false, None);
        tracker.record("t1", 5, false, Some(Duration::from_millis(2)));
        tracker.finish(&HashMap::from([("t1".to_owned(), 5)]));
        assert_eq!(
            (tracker.events, tracker.gaps, tracker.duplicates),
            (2, 0, 0)
        );
        assert_eq!(tracker.latencies_us, vec![2000]);
    }

    #[test]
    fn a_repeated_version_is_a_duplicate_and_a_skipped_one_a_gap() {
        let mut tracker = Tracker::new(true, baseline());
        tracker.record("t1", 4, false, None);
        tracker.record("t1", 4, false, None);
        tracker.record("t2", 4, false, None);
        assert_eq!((tracker.gaps, tracker.duplicates), (2, 1));
    }

    #[test]
    fn versions_written_but_never_received_are_gaps_at_the_end() {
        let mut tracker = Tracker::new(true, baseline());
        tracker.record("t1", 4, false, None);
        tracker.finish(&HashMap::from([("t1".to_owned(), 6), ("t2".to_owned(), 1)]));
        assert_eq!(tracker.gaps, 2);
    }

    #[test]
    fn a_filtered_subscriber_counts_duplicates_but_no_gaps() {
        let mut tracker = Tracker::new(false, HashMap::new());
        tracker.record("t1", 4, false, None);
        tracker.record("t1", 9, false, None);
        tracker.record("t1", 9, false, None);
        tracker.finish(&HashMap::from([("t1".to_owned(), 12)]));
        assert_eq!((tracker.gaps, tracker.duplicates), (0, 1));
    }
}
