//! Delivery lanes: the order in which a connection's queued messages go out
//! when it cannot keep up. Compliance first, then assignments, then status,
//! then locations; protocol messages (acks, pongs, errors) before all of
//! them. A change's lane is its priority in the change log
//! (`changelog::priority`), so one entity always travels in one lane and its
//! versions never overtake each other; a newer state of a worker replaces an
//! older queued location of that worker (every snapshot carries the whole state).

use entity::enums::EntityType;
use uuid::Uuid;

use crate::changelog::priority;
use crate::graphql::live::EventInfo;

/// A delivery lane, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// Protocol messages.
    Control = 0,
    /// Violations, inspections, alerts, building status.
    Compliance = 1,
    /// Tasks and building memberships.
    Assignment = 2,
    /// Duty status, clock entries, users, everything else.
    Status = 3,
    /// Worker locations; also where `complete` goes, after every result.
    Location = 4,
}

/// How one message should be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Its lane.
    pub lane: Lane,
    /// The worker whose state it carries: queued location messages of the
    /// same worker are superseded by it.
    pub worker: Option<Uuid>,
}

impl Delivery {
    /// A protocol message.
    pub const CONTROL: Delivery = Delivery {
        lane: Lane::Control,
        worker: None,
    };

    /// The delivery of a change event.
    pub fn of(change: &EventInfo) -> Self {
        let lane = match change.priority {
            p if p >= priority::COMPLIANCE => Lane::Compliance,
            p if p >= priority::ASSIGNMENT => Lane::Assignment,
            // A tombstone carries no location to be superseded.
            p if p > priority::LOCATION || change.tombstone => Lane::Status,
            _ => Lane::Location,
        };
        let worker = (change.entity_type == EntityType::WorkerStatus).then_some(change.entity_id);
        Delivery { lane, worker }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(entity_type: EntityType, fields: &[&str]) -> EventInfo {
        let changed_fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        EventInfo {
            priority: priority::of(entity_type, &changed_fields),
            entity_type,
            entity_id: Uuid::nil(),
            tombstone: false,
        }
    }

    #[test]
    fn compliance_goes_before_assignments_before_status_before_locations() {
        assert_eq!(
            Delivery::of(&change(EntityType::ComplianceAlert, &["message"])).lane,
            Lane::Compliance
        );
        assert_eq!(
            Delivery::of(&change(EntityType::Task, &["status"])).lane,
            Lane::Assignment
        );
        assert_eq!(
            Delivery::of(&change(EntityType::WorkerStatus, &["status"])).lane,
            Lane::Status
        );
        assert_eq!(
            Delivery::of(&change(
                EntityType::WorkerStatus,
                &["latitude", "longitude"]
            ))
            .lane,
            Lane::Location
        );
        assert!(Lane::Compliance < Lane::Assignment && Lane::Status < Lane::Location);
    }
}
