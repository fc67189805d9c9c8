//! [`EventBuilder`]: an `Event<P>` with metadata in one line, for tests of
//! projections and handlers that take events, without a store.

use crate::coordinate::Coordinate;
use crate::event::id::IdClock;
use crate::event::{
    Codec, CorrelationId, Event, EventFlags, EventHeader, EventId, EventKind, EventMeta,
    EventPosition,
};

/// Builds events the way a store would stamp them, deterministically: ids
/// come from a clock starting at `at_us` (default 1,700,000,000 s after the
/// epoch), one microsecond apart, and sequences count from 1.
///
/// ```
/// use batpak_runtime::coordinate::Coordinate;
/// use batpak_runtime::event::EventKind;
/// use batpak_runtime::testing::EventBuilder;
///
/// let mut b = EventBuilder::new(Coordinate::new("cart:1", "shop").unwrap());
/// let first = b.event(EventKind::custom(0x1, 1), "opened");
/// let second = b.event(EventKind::custom(0x1, 2), "paid");
/// assert_eq!(second.header.position.entity_sequence, 2);
/// assert!(second.id() > first.id());
/// ```
#[derive(Debug, Clone)]
pub struct EventBuilder {
    coordinate: Coordinate,
    clock: IdClock,
    now_us: u64,
    sequence: u64,
    entity_sequence: u64,
    correlation: Option<CorrelationId>,
    causation: Option<EventId>,
}

impl EventBuilder {
    /// Events of `coordinate`, starting at sequence 1.
    pub fn new(coordinate: Coordinate) -> Self {
        Self {
            coordinate,
            clock: IdClock::resume_after(0),
            now_us: 1_700_000_000_000_000,
            sequence: 0,
            entity_sequence: 0,
            correlation: None,
            causation: None,
        }
    }

    /// Stamps the next event at `us` microseconds since the epoch (later
    /// events move on one microsecond each).
    pub fn at_us(mut self, us: u64) -> Self {
        self.now_us = us;
        self
    }

    /// Continues after global sequence `sequence` and entity sequence
    /// `entity_sequence`.
    pub fn after(mut self, sequence: u64, entity_sequence: u64) -> Self {
        self.sequence = sequence;
        self.entity_sequence = entity_sequence;
        self
    }

    /// Makes the next events reactions to `cause` (in its causal tree).
    pub fn caused_by(mut self, cause: &EventMeta) -> Self {
        self.correlation = Some(cause.header.correlation_id);
        self.causation = Some(cause.header.event_id);
        self
    }

    /// The next event: `payload` of `kind`, with its header filled in.
    pub fn event<P>(&mut self, kind: EventKind, payload: P) -> Event<P> {
        let id = EventId::new(self.clock.next_id_at(self.now_us));
        self.now_us += 1;
        self.sequence += 1;
        self.entity_sequence += 1;
        let header = EventHeader {
            event_id: id,
            correlation_id: self.correlation.unwrap_or(CorrelationId::from(id)),
            causation_id: self.causation,
            timestamp_us: id.timestamp_us(),
            position: EventPosition {
                sequence: self.sequence,
                entity_sequence: self.entity_sequence,
            },
            kind,
            schema_version: 0,
            codec: Codec::Json,
            flags: EventFlags::default(),
        };
        Event {
            header,
            coordinate: self.coordinate.clone(),
            payload,
        }
    }

    /// The metadata of the next event of `kind` (what typed `Apply`
    /// handlers receive beside the value).
    pub fn meta(&mut self, kind: EventKind) -> EventMeta {
        EventMeta::of(&self.event(kind, ()))
    }
}
