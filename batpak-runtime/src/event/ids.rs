//! Distinct ids are distinct types: an [`EventId`] names an event, a
//! [`CorrelationId`] a causal tree (its root's id), a [`CausationId`] the event
//! a reaction answers, and an [`IdempotencyKey`] a retried write. All are u128
//! underneath and convert from and into `u128`, but one cannot be passed where
//! another is expected, so swapped arguments do not compile.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        #[repr(transparent)]
        pub struct $name(u128);

        impl $name {
            /// The id with this raw value.
            pub const fn new(raw: u128) -> Self {
                Self(raw)
            }

            /// The raw value.
            pub const fn get(self) -> u128 {
                self.0
            }
        }

        impl From<u128> for $name {
            fn from(raw: u128) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for u128 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl PartialEq<u128> for $name {
            fn eq(&self, other: &u128) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#034x})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#034x}", self.0)
            }
        }

        /// Parses what `Display` prints (`0x` and hex digits) or a decimal number.
        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.strip_prefix("0x") {
                    Some(hex) => u128::from_str_radix(hex, 16).map(Self),
                    None => s.parse().map(Self),
                }
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

id_type!(
    /// An event's id: UUIDv7 layout (time-ordered), unique within a store and
    /// strictly increasing in commit order.
    EventId
);

id_type!(
    /// The root of a causal tree: the id of the event that started it (a root
    /// event's correlation id is its own id).
    CorrelationId
);

id_type!(
    /// The event a reaction answers (its direct cause).
    CausationId
);

id_type!(
    /// The key of an idempotent write: a retry with the same key and content
    /// returns the original receipt and writes nothing.
    IdempotencyKey
);

impl EventId {
    /// Wall-clock time of the append, microseconds since the Unix epoch.
    pub fn timestamp_us(self) -> u64 {
        super::id::timestamp_us(self.0)
    }
}

/// A root event starts its own causal tree.
impl From<EventId> for CorrelationId {
    fn from(id: EventId) -> Self {
        Self(id.0)
    }
}

/// A reaction is caused by an event.
impl From<EventId> for CausationId {
    fn from(id: EventId) -> Self {
        Self(id.0)
    }
}

/// The event a causation id names.
impl From<CausationId> for EventId {
    fn from(id: CausationId) -> Self {
        Self(id.0)
    }
}

impl PartialEq<EventId> for CorrelationId {
    fn eq(&self, other: &EventId) -> bool {
        self.0 == other.0
    }
}

impl PartialEq<CorrelationId> for EventId {
    fn eq(&self, other: &CorrelationId) -> bool {
        self.0 == other.0
    }
}

impl PartialEq<EventId> for CausationId {
    fn eq(&self, other: &EventId) -> bool {
        self.0 == other.0
    }
}
